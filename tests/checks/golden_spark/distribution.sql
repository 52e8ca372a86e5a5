-- the aggregate scan
SELECT
  COUNT(*) AS `a0`,
  COUNT(`amount`) AS `a1`,
  AVG(`amount`) AS `a2`,
  STDDEV_SAMP(`amount`) AS `a3`
FROM `dataset`;

-- query mode
SELECT
  `amount`,
  COUNT(*)
FROM `dataset`
WHERE
  NOT `amount` IS NULL
GROUP BY
  `amount`
ORDER BY
  COUNT(*) DESC,
  `amount`
LIMIT 1;
