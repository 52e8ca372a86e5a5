-- the aggregate scan
SELECT
  COUNT(*) AS `a0`,
  COUNT(`alt`) AS `a1`,
  COUNT_IF(
    NOT `alt` IS NULL
    AND (
      TRY_CAST(`alt` AS BIGINT) IS NULL OR NOT `alt` RLIKE '^\\s*[+-]?[0-9]+\\s*$'
    )
  ) AS `a2`
FROM `dataset`;

-- samples of a failing check
SELECT
  (
    SELECT
      ARRAY_SORT(COLLECT_LIST(`v`))
    FROM (
      SELECT
        `alt` AS `v`
      FROM `dataset`
      WHERE
        (
          NOT `alt` IS NULL
          AND (
            TRY_CAST(`alt` AS BIGINT) IS NULL OR NOT `alt` RLIKE '^\\s*[+-]?[0-9]+\\s*$'
          )
        )
        AND NOT `alt` IS NULL
      GROUP BY
        `alt`
      ORDER BY
        `alt`
      LIMIT 5
    ) AS `top`
  );

-- rows and the checks they fail
SELECT
  *,
  FILTER(
    ARRAY(
      IF(
        NOT `alt` IS NULL
        AND (
          TRY_CAST(`alt` AS BIGINT) IS NULL OR NOT `alt` RLIKE '^\\s*[+-]?[0-9]+\\s*$'
        ),
        'alt.type',
        NULL
      )
    ),
    x -> NOT x IS NULL
  ) AS `_lakegate_failed_checks`
FROM `dataset`;
