SELECT DISTINCT a.name
FROM flights AS f
JOIN airlines AS a ON a.carrier = f.carrier
WHERE f.month = 4;
