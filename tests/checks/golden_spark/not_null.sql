-- the aggregate scan
SELECT
  COUNT(*) AS `a0`,
  COUNT_IF(`id` IS NULL) AS `a1`
FROM `dataset`;

-- samples of a failing check
SELECT
  (
    SELECT
      ARRAY_SORT(COLLECT_LIST(`v`))
    FROM (
      SELECT
        `id` AS `v`
      FROM `dataset`
      WHERE
        `id` IS NULL AND NOT `id` IS NULL
      GROUP BY
        `id`
      ORDER BY
        `id`
      LIMIT 5
    ) AS `top`
  );

-- rows and the checks they fail
SELECT
  *,
  FILTER(ARRAY(IF(`id` IS NULL, 'id.not_null', NULL)), x -> NOT x IS NULL) AS `_lakegate_failed_checks`
FROM `dataset`;
