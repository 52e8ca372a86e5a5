SELECT origin AS airport FROM flights WHERE month = 10
UNION DISTINCT
SELECT dest AS airport FROM flights WHERE month = 10;
