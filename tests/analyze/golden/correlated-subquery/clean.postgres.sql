-- EXISTS is the semi-join the rule recommends
SELECT f.flight
FROM flights AS f
WHERE f.month = 2
  AND EXISTS (SELECT 1 FROM planes AS p WHERE p.tailnum = f.tailnum AND p.year < 1990);
