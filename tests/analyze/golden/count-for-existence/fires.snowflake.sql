SELECT p.tailnum
FROM planes AS p
WHERE 0 = (SELECT COUNT(*) FROM flights AS f WHERE f.month = 2 AND f.origin = 'LGA');
