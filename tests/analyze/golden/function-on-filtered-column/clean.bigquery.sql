-- functions on the constant side are fine
SELECT flight
FROM flights
WHERE month = 3 AND origin = UPPER('jfk');
