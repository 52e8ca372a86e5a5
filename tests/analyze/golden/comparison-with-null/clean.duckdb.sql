SELECT flight
FROM flights
WHERE month = 11 AND dep_time IS NULL;
