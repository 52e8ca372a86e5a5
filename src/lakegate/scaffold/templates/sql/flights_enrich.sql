-- Stage `enrich` of pipelines/flights.yaml: one row per extracted flight, plus
--   flight_date   the local date of departure, for date filters and joins;
--   carrier_name  the carrier's name from the airlines table already in the lake.
-- A LEFT JOIN keeps every flight: an unknown carrier leaves carrier_name NULL
-- (the contract warns about it) instead of dropping the row.
SELECT
    f.*,
    make_date(f.year, f.month, f.day) AS flight_date,
    a.name AS carrier_name
FROM extract AS f
LEFT JOIN lake.airlines AS a
    ON a.carrier = f.carrier
