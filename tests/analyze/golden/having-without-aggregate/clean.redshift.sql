SELECT carrier, COUNT(*) AS n
FROM flights
WHERE month = 12 AND carrier <> 'UA'
GROUP BY carrier
HAVING COUNT(*) > 100;
