SELECT f.flight,
       (SELECT p.manufacturer FROM planes AS p WHERE p.tailnum = f.tailnum) AS maker
FROM flights AS f
WHERE f.month = 2;
