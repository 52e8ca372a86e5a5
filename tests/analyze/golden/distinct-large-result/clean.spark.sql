SELECT COUNT(DISTINCT tailnum) AS planes_flown
FROM flights
WHERE month = 4;
