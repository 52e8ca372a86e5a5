-- A carrier report as it is often first written. `lakegate analyze` finds:
-- every column read, no month filter on a month-partitioned table, a function
-- on a filtered column, NOT IN over a nullable column, a correlated subquery,
-- an ORDER BY without LIMIT and a UNION that deduplicates for nothing.
SELECT *
FROM flights
WHERE CAST(time_hour AS DATE) = '2013-07-04';

SELECT f.carrier, f.flight, f.tailnum
FROM flights AS f
WHERE f.month = 7
  AND f.tailnum NOT IN (SELECT p.tailnum FROM planes AS p WHERE p.year < 1990);

SELECT
    f.carrier,
    f.flight,
    f.dep_delay,
    (SELECT AVG(g.dep_delay) FROM flights AS g WHERE g.month = 7 AND g.carrier = f.carrier) AS carrier_avg
FROM flights AS f
WHERE f.month = 7
ORDER BY f.dep_delay DESC;

SELECT origin AS airport FROM flights WHERE month = 7
UNION
SELECT dest AS airport FROM flights WHERE month = 7;
