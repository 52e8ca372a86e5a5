-- an OR on one side only is a filter, not a join condition
SELECT f.flight
FROM flights AS f
JOIN planes AS p ON p.tailnum = f.tailnum AND (p.year < 1990 OR p.year > 2010)
WHERE f.month = 1;
