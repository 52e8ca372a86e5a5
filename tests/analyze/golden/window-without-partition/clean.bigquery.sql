SELECT carrier, AVG(dep_delay) AS mean_delay
FROM flights
WHERE month = 3
GROUP BY carrier;
