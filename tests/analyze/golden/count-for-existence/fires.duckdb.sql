SELECT a.name
FROM airlines AS a
WHERE (SELECT COUNT(*) FROM flights AS f WHERE f.month = 2) > 0;
