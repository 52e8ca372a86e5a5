SELECT origin, AVG(dep_delay) AS avg_delay
FROM flights
WHERE month = 12
GROUP BY origin
HAVING origin IN ('JFK', 'EWR') AND AVG(dep_delay) > 10;
