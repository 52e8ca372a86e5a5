SELECT carrier, COUNT(*) AS n
FROM flights
WHERE month = 12
GROUP BY carrier
HAVING carrier <> 'UA';
