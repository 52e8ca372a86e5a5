SELECT
  COUNT(CASE WHEN dep_delay > 15 THEN 1 END) AS late,
  COUNT(CASE WHEN dep_delay <= 15 THEN 1 END) AS on_time
FROM flights
WHERE month = 6;
