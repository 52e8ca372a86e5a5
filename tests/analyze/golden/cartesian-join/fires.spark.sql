SELECT f.flight, w.temp
FROM flights AS f
JOIN weather AS w
WHERE f.month = 9;
