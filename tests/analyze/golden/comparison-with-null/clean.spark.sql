SELECT tailnum
FROM planes
WHERE speed IS NOT NULL;
