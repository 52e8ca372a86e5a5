SELECT origin, COUNT(*) AS n
FROM flights
WHERE month IN (1, 2) OR month = 12
GROUP BY origin;
