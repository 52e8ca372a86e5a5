SELECT tailnum
FROM planes
WHERE speed <> NULL;
