SELECT flight, dep_delay
FROM flights
WHERE month = 3
  AND CAST(time_hour AS DATE) = '2013-03-05';
