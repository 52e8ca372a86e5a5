-- arithmetic over a CTE's computed columns: no statistics to lose
WITH spread AS (
  SELECT carrier, AVG(dep_delay) AS mean_delay, STDDEV(dep_delay) AS sd_delay
  FROM flights
  WHERE month = 1
  GROUP BY carrier
)
SELECT carrier
FROM spread
WHERE sd_delay / mean_delay > 2;
