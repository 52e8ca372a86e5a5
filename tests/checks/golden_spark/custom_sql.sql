-- the aggregate scan
SELECT
  COUNT(*) AS `a0`
FROM `dataset`;

-- query failing
SELECT
  COUNT(*) OVER () AS `__n`,
  *
FROM (
  SELECT
    *
  FROM `dataset` AS `dataset`
  WHERE
    amount < 0
) AS `failing`
ORDER BY
  ALL NULLS LAST
LIMIT 5;
