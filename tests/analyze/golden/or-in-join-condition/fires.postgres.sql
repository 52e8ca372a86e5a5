SELECT f.flight
FROM flights AS f
LEFT JOIN planes AS p ON (p.tailnum = f.tailnum OR p.year = f.year)
WHERE f.month = 1;
