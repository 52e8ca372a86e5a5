-- the aggregate scan
SELECT
  COUNT(*) AS `a0`,
  COUNT_IF(NOT COALESCE((
    `amount` > 0 OR TRY_CAST(`alt` AS BIGINT) IS NULL
  ), TRUE)) AS `a1`
FROM `dataset`;

-- samples of a failing check
SELECT
  (
    SELECT
      TRANSFORM(ARRAY_SORT(COLLECT_LIST(STRUCT(`o` AS `o`, `v` AS `v`))), x -> x.`v`)
    FROM (
      SELECT
        `v`,
        `o`
      FROM (
        SELECT
          STRUCT(`alt` AS `alt`, `amount` AS `amount`) AS `v`,
          STRUCT(`alt` IS NULL AS `o0`, `alt` AS `o1`, `amount` IS NULL AS `o2`, `amount` AS `o3`) AS `o`
        FROM `dataset`
        WHERE
          NOT COALESCE((
            `amount` > 0 OR TRY_CAST(`alt` AS BIGINT) IS NULL
          ), TRUE)
          AND NOT STRUCT(`alt` AS `alt`, `amount` AS `amount`) IS NULL
      ) AS `rows`
      GROUP BY
        `v`,
        `o`
      ORDER BY
        `o`
      LIMIT 5
    ) AS `top`
  );

-- rows and the checks they fail
SELECT
  *,
  FILTER(
    ARRAY(
      IF(
        NOT COALESCE((
          `amount` > 0 OR TRY_CAST(`alt` AS BIGINT) IS NULL
        ), TRUE),
        'positive',
        NULL
      )
    ),
    x -> NOT x IS NULL
  ) AS `_lakegate_failed_checks`
FROM `dataset`;
