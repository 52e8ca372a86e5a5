SELECT f.flight
FROM flights AS f
WHERE f.month = 2
  AND f.dep_delay > (SELECT AVG(g.dep_delay) FROM flights AS g WHERE g.month = 2 AND g.carrier = f.carrier);
