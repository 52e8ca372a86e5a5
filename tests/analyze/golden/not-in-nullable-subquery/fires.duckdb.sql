-- planes.year has NULLs: this returns no flight at all
SELECT flight
FROM flights
WHERE month = 8
  AND year NOT IN (SELECT year FROM planes);
