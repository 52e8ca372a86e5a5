SELECT origin, COUNT(*) AS n
FROM flights
WHERE month = 12
GROUP BY origin
HAVING origin <> 'EWR' AND n > 100;
