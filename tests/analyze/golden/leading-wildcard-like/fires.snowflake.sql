SELECT name
FROM airports
WHERE name ILIKE '%intl%';
