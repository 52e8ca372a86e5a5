SELECT flight, ROW_NUMBER() OVER (PARTITION BY carrier ORDER BY dep_delay DESC) AS rank_in_carrier
FROM flights
WHERE month = 3;
