SELECT a.name
FROM airlines AS a
WHERE EXISTS (SELECT 1 FROM flights AS f WHERE f.month = 2);
