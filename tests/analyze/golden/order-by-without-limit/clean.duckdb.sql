SELECT carrier, COUNT(*) AS n
FROM flights
WHERE month = 5
GROUP BY carrier
ORDER BY n DESC
LIMIT 5;
