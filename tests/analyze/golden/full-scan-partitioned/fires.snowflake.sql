SELECT origin, COUNT(*) AS n
FROM flights
WHERE CAST(month AS VARCHAR) = '3'
GROUP BY origin;
