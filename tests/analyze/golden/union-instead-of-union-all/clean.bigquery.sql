SELECT origin AS airport FROM flights WHERE month = 10
UNION ALL
SELECT dest AS airport FROM flights WHERE month = 10;
