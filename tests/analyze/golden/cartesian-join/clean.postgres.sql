SELECT a.name, f.flight
FROM airlines AS a, flights AS f
WHERE f.carrier = a.carrier AND f.month = 9;
