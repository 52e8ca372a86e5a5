-- the aggregate scan
SELECT
  COUNT(*) AS `a0`,
  COUNT_IF(NOT `id` IS NULL OR NOT `first name` IS NULL) AS `a1`
FROM `dataset`;

-- query duplicates
SELECT
  COUNT(*),
  SUM(`n`),
  (
    SELECT
      TRANSFORM(ARRAY_SORT(COLLECT_LIST(STRUCT(`o` AS `o`, `v` AS `v`))), x -> x.`v`)
    FROM (
      SELECT
        `v`,
        `o`
      FROM (
        SELECT
          `k` AS `v`,
          STRUCT(
            `k`.`id` IS NULL AS `o0`,
            `k`.`id` AS `o1`,
            `k`.`first name` IS NULL AS `o2`,
            `k`.`first name` AS `o3`
          ) AS `o`
        FROM (
          SELECT
            STRUCT(`id` AS `id`, `first name` AS `first name`) AS `k`,
            COUNT(*) AS `n`
          FROM `dataset`
          WHERE
            NOT `id` IS NULL OR NOT `first name` IS NULL
          GROUP BY
            `id`,
            `first name`
          HAVING
            COUNT(*) > 1
        ) AS `d`
        WHERE
          NOT `k` IS NULL
      ) AS `rows`
      ORDER BY
        `o`
      LIMIT 5
    ) AS `top`
  )
FROM (
  SELECT
    STRUCT(`id` AS `id`, `first name` AS `first name`) AS `k`,
    COUNT(*) AS `n`
  FROM `dataset`
  WHERE
    NOT `id` IS NULL OR NOT `first name` IS NULL
  GROUP BY
    `id`,
    `first name`
  HAVING
    COUNT(*) > 1
) AS `d`;
