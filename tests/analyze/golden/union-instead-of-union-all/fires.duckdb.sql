SELECT carrier FROM airlines
UNION
SELECT carrier FROM flights WHERE month = 10;
