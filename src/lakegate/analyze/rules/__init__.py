"""The analyzer's anti-pattern rules, each a check over sqlglot's AST.

The problems, fixes and impacts come from the seeds' "SQL Optimization Checklist"
(full table scan, SELECT *, correlated subquery, DISTINCT on a large result, ORDER BY
without LIMIT, string operations in WHERE, multiple passes over the same data, NOT IN
with NULLs); the others are classics every engine's tuning guide lists. Rewrites
(``--recommend``) are built by transforming a copy of the tree, never by editing text.
"""

from lakegate.analyze.rules import predicates, queries
from lakegate.analyze.rules.definitions import LARGE_TABLE_ROWS

__all__ = ["LARGE_TABLE_ROWS", "predicates", "queries"]
