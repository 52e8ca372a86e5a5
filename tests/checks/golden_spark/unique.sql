-- the aggregate scan
SELECT
  COUNT(*) AS `a0`,
  COUNT(`id`) AS `a1`
FROM `dataset`;

-- query duplicates
SELECT
  COUNT(*),
  SUM(`n`),
  (
    SELECT
      ARRAY_SORT(COLLECT_LIST(`v`))
    FROM (
      SELECT
        `k` AS `v`
      FROM (
        SELECT
          `id` AS `k`,
          COUNT(*) AS `n`
        FROM `dataset`
        WHERE
          NOT `id` IS NULL
        GROUP BY
          `id`
        HAVING
          COUNT(*) > 1
      ) AS `d`
      WHERE
        NOT `k` IS NULL
      ORDER BY
        `k`
      LIMIT 5
    ) AS `top`
  )
FROM (
  SELECT
    `id` AS `k`,
    COUNT(*) AS `n`
  FROM `dataset`
  WHERE
    NOT `id` IS NULL
  GROUP BY
    `id`
  HAVING
    COUNT(*) > 1
) AS `d`;
