-- every column of flights is read, though two are used
SELECT *
FROM flights
WHERE month = 7;
