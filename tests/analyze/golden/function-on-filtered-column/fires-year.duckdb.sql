-- YEAR() hides time_hour from min/max file skipping
SELECT carrier, COUNT(*) AS n
FROM flights
WHERE month = 2 AND YEAR(time_hour) = 2013
GROUP BY carrier;
