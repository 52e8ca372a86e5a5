-- the aggregate scan
SELECT
  COUNT(*) AS `a0`
FROM `dataset`;
