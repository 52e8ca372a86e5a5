SELECT flight, ROW_NUMBER() OVER (ORDER BY dep_delay DESC) AS rank_overall
FROM flights
WHERE month = 3;
