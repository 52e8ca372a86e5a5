SELECT flight
FROM flights AS f
JOIN planes AS p ON UPPER(p.tailnum) = UPPER(f.tailnum)
WHERE f.month = 3 AND LOWER(f.origin) = 'jfk';
