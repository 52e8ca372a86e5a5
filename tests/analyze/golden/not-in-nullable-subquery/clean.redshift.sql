SELECT carrier
FROM airlines AS a
WHERE NOT EXISTS (SELECT 1 FROM flights AS f WHERE f.month = 8 AND f.carrier = a.carrier);
