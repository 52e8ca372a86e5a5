SELECT
  (SELECT COUNT(*) FROM flights WHERE month = 6 AND dep_delay > 15) AS late,
  (SELECT COUNT(*) FROM flights WHERE month = 6 AND dep_delay <= 15) AS on_time;
