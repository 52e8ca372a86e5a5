-- the aggregate scan
SELECT
  COUNT(*) AS `a0`,
  COUNT(TRY_CAST(`alt` AS BIGINT)) AS `a1`,
  COUNT_IF(
    NOT TRY_CAST(`alt` AS BIGINT) IS NULL
    AND (
      TRY_CAST(`alt` AS BIGINT) < -1000 OR TRY_CAST(`alt` AS BIGINT) >= 10000
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
        TRY_CAST(`alt` AS BIGINT) AS `v`
      FROM `dataset`
      WHERE
        (
          NOT TRY_CAST(`alt` AS BIGINT) IS NULL
          AND (
            TRY_CAST(`alt` AS BIGINT) < -1000 OR TRY_CAST(`alt` AS BIGINT) >= 10000
          )
        )
        AND NOT TRY_CAST(`alt` AS BIGINT) IS NULL
      GROUP BY
        TRY_CAST(`alt` AS BIGINT)
      ORDER BY
        TRY_CAST(`alt` AS BIGINT)
      LIMIT 5
    ) AS `top`
  );

-- rows and the checks they fail
SELECT
  *,
  FILTER(
    ARRAY(
      IF(
        NOT TRY_CAST(`alt` AS BIGINT) IS NULL
        AND (
          TRY_CAST(`alt` AS BIGINT) < -1000 OR TRY_CAST(`alt` AS BIGINT) >= 10000
        ),
        'alt.range',
        NULL
      )
    ),
    x -> NOT x IS NULL
  ) AS `_lakegate_failed_checks`
FROM `dataset`;
