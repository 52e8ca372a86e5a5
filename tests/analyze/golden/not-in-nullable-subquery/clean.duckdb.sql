SELECT flight
FROM flights
WHERE month = 8
  AND year NOT IN (SELECT year FROM planes WHERE year IS NOT NULL);
