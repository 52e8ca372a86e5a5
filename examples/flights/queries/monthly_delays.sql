-- Average departure delay per carrier for the summer months: reads two columns and
-- three of the twelve month partitions of flights.
SELECT
    f.carrier,
    a.name AS carrier_name,
    f.month,
    AVG(f.dep_delay) AS avg_dep_delay,
    COUNT(*) AS flights
FROM flights AS f
JOIN airlines AS a
    ON a.carrier = f.carrier
WHERE f.month BETWEEN 6 AND 8
GROUP BY f.carrier, a.name, f.month
ORDER BY avg_dep_delay DESC
LIMIT 20;
