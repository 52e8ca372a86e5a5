SELECT carrier, AVG(dep_delay) AS avg_delay
FROM flights
WHERE day = 1
GROUP BY carrier;
