SELECT DISTINCT manufacturer
FROM planes;
