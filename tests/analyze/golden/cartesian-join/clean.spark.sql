-- an explicit CROSS JOIN says every pair is wanted
SELECT a.carrier, p.faa
FROM airlines AS a
CROSS JOIN airports AS p;
