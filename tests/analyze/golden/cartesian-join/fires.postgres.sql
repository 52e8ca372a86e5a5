SELECT a.name, p.name
FROM airlines AS a, airports AS p
WHERE p.tz = -5;
