SELECT t.carrier, t.n
FROM (
  SELECT carrier, COUNT(*) AS n FROM flights WHERE month = 5 GROUP BY carrier ORDER BY n DESC
) AS t;
