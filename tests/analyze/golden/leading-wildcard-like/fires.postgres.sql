SELECT tailnum
FROM planes
WHERE model LIKE '_737%';
