-- the aggregate scan
SELECT
  COUNT(*) AS `a0`,
  COUNT(`id`) AS `a1`
FROM `dataset`;

-- query orphans
SELECT
  COUNT(*),
  (
    SELECT
      ARRAY_SORT(COLLECT_LIST(`v`))
    FROM (
      SELECT
        `child`.`id` AS `v`
      FROM `dataset` AS `child`
      WHERE
        (
          NOT `child`.`id` IS NULL
          AND NOT EXISTS(
            SELECT
              1
            FROM `customer table` AS `parent`
            WHERE
              `parent`.`customer id` = `child`.`id`
          )
        )
        AND NOT `child`.`id` IS NULL
      GROUP BY
        `child`.`id`
      ORDER BY
        `child`.`id`
      LIMIT 5
    ) AS `top`
  )
FROM `dataset` AS `child`
WHERE
  NOT `child`.`id` IS NULL
  AND NOT EXISTS(
    SELECT
      1
    FROM `customer table` AS `parent`
    WHERE
      `parent`.`customer id` = `child`.`id`
  );
