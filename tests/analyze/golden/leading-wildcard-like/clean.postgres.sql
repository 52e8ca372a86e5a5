SELECT tailnum
FROM planes
WHERE model LIKE '737%';
