SELECT carrier
FROM airlines
WHERE carrier NOT IN (SELECT f.carrier FROM flights AS f WHERE f.month = 8 AND f.dep_delay > 120);
