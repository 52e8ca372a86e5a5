-- the aggregate scan
SELECT
  COUNT(*) AS `a0`,
  SUM(`amount`) FILTER(WHERE
    `select` >= CAST('2024-01-01' AS DATE)) AS `a1`
FROM `dataset`;

-- query to_total
SELECT
  SUM(`amount`) AS `to_total`
FROM `customer table`;
