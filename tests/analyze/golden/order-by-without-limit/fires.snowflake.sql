WITH ranked AS (
  SELECT origin, dest, distance FROM flights WHERE month = 5 ORDER BY distance
)
SELECT origin, MAX(distance) AS longest FROM ranked GROUP BY origin;
