SELECT f.flight, a.name
FROM flights AS f
JOIN airports AS a ON a.faa = f.origin OR a.faa = f.dest
WHERE f.month = 1;
