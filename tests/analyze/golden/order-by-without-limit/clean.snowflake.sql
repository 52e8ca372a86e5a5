SELECT origin, dest, distance
FROM flights
WHERE month = 5
ORDER BY distance DESC
LIMIT 10;
