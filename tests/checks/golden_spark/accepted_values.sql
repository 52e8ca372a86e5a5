-- the aggregate scan
SELECT
  COUNT(*) AS `a0`,
  COUNT(`first name`) AS `a1`,
  COUNT_IF(NOT `first name` IS NULL AND NOT `first name` IN ('a', 'O\'Brien')) AS `a2`
FROM `dataset`;

-- samples of a failing check
SELECT
  (
    SELECT
      ARRAY_SORT(COLLECT_LIST(`v`))
    FROM (
      SELECT
        `first name` AS `v`
      FROM `dataset`
      WHERE
        (
          NOT `first name` IS NULL AND NOT `first name` IN ('a', 'O\'Brien')
        )
        AND NOT `first name` IS NULL
      GROUP BY
        `first name`
      ORDER BY
        `first name`
      LIMIT 5
    ) AS `top`
  );

-- rows and the checks they fail
SELECT
  *,
  FILTER(
    ARRAY(
      IF(
        NOT `first name` IS NULL AND NOT `first name` IN ('a', 'O\'Brien'),
        'name.accepted_values',
        NULL
      )
    ),
    x -> NOT x IS NULL
  ) AS `_lakegate_failed_checks`
FROM `dataset`;
