-- n is an aggregate's alias
SELECT origin, COUNT(*) AS n
FROM flights
WHERE month = 12
GROUP BY origin
HAVING n > 1000;
