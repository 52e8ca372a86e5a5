SELECT carrier FROM airlines
UNION ALL
SELECT carrier FROM flights WHERE month = 10;
