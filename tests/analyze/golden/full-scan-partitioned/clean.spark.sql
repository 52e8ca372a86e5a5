SELECT carrier, AVG(dep_delay) AS avg_delay
FROM flights
WHERE month BETWEEN 6 AND 8
GROUP BY carrier;
