-- the aggregate scan
SELECT
  COUNT(*) AS `a0`,
  COUNT(`first name`) AS `a1`
FROM `dataset`;
