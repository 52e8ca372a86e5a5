SELECT flight, dep_delay
FROM flights
WHERE month = 3
  AND time_hour >= '2013-03-05' AND time_hour < '2013-03-06';
