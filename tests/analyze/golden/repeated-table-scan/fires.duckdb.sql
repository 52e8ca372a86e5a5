SELECT
  (SELECT AVG(dep_delay) FROM flights WHERE month = 7 AND origin = 'JFK') AS jfk,
  (SELECT AVG(dep_delay) FROM flights WHERE month = 7 AND origin = 'EWR') AS ewr,
  (SELECT MAX(arr_delay) FROM flights WHERE month = 7 AND origin = 'LGA') AS lga_worst;
