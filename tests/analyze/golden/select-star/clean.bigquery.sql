-- a star over a CTE that already projects is harmless
WITH late AS (
  SELECT carrier, dep_delay FROM flights WHERE month = 1 AND dep_delay > 60
)
SELECT * FROM late;
