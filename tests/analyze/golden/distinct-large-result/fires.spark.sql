SELECT DISTINCT p.manufacturer, f.origin
FROM flights AS f
JOIN planes AS p ON p.tailnum = f.tailnum
WHERE f.month = 4;
