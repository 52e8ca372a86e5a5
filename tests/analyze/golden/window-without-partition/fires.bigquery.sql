SELECT flight, dep_delay - AVG(dep_delay) OVER () AS above_mean
FROM flights
WHERE month = 3;
