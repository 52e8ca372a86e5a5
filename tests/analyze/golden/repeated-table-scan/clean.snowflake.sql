SELECT origin, SUM(distance) AS miles
FROM flights
WHERE month = 6 AND origin IN ('JFK', 'LGA')
GROUP BY origin;
