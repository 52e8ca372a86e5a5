-- the aggregate scan
SELECT
  COUNT(*) AS `a0`,
  MAX(`created at`) AS `a1`
FROM `dataset`;
