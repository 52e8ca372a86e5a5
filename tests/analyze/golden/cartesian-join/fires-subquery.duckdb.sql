-- the IN subquery's columns are its own: they do not link l to o
SELECT o.o_orderkey
FROM orders AS o, lineitem AS l
WHERE o.o_orderkey IN (SELECT l_orderkey FROM lineitem WHERE l_quantity > 300);
