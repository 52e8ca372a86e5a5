SELECT 'JFK' AS origin, SUM(distance) AS miles FROM flights WHERE month = 6 AND origin = 'JFK'
UNION ALL
SELECT 'LGA' AS origin, SUM(distance) AS miles FROM flights WHERE month = 6 AND origin = 'LGA';
