SELECT carrier, dep_delay
FROM flights
WHERE month = 7;
