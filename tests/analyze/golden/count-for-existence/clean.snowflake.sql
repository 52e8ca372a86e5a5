-- a count compared with a threshold really needs the count
SELECT p.tailnum
FROM planes AS p
WHERE (SELECT COUNT(*) FROM flights AS f WHERE f.month = 2) > 1000;
