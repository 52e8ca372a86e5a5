"""The analyzer's rules: id, name, severity, problem, fix, impact and source.

The problems, fixes and impacts come from the seeds' "SQL Optimization Checklist"
where it has them; the other rules are classics every engine's tuning guide lists.
"""

from __future__ import annotations

from lakegate.analyze.model import Rule, Severity

CHECKLIST = "seeds: SQL Optimization Checklist"

SELECT_STAR = Rule(
    "LG001",
    "select-star",
    Severity.WARNING,
    "SELECT * reads every column of a table.",
    "Select only the columns you need.",
    "2-10x faster on columnar stores (Parquet, Delta, warehouses)",
    CHECKLIST,
)
FULL_SCAN = Rule(
    "LG002",
    "full-scan-partitioned",
    Severity.WARNING,
    "A partitioned lake table is read without a filter on its partition columns.",
    "Filter on the partition column(s) with plain comparisons so partitions are pruned.",
    "10-100x faster (partition pruning)",
    CHECKLIST,
)
CORRELATED = Rule(
    "LG003",
    "correlated-subquery",
    Severity.WARNING,
    "A subquery refers to the outer query's columns and may run once per outer row.",
    "Rewrite it as a JOIN to a grouped derived table, or as a window function.",
    "10-100x faster",
    CHECKLIST,
)
DISTINCT = Rule(
    "LG004",
    "distinct-large-result",
    Severity.INFO,
    "DISTINCT over a join or a large table hides duplication with a full sort or hash.",
    "Fix the duplication upstream (join on the full key, pre-aggregate) instead.",
    "2-5x faster",
    CHECKLIST,
)
ORDER_NO_LIMIT = Rule(
    "LG005",
    "order-by-without-limit",
    Severity.WARNING,
    "ORDER BY without LIMIT sorts the whole result.",
    "Add a LIMIT, or remove the ORDER BY (a subquery's or a load's order is not kept).",
    "Prevents memory spills",
    CHECKLIST,
)
NON_SARGABLE = Rule(
    "LG006",
    "function-on-filtered-column",
    Severity.WARNING,
    "A function or cast wraps a column in a WHERE or JOIN condition.",
    "Compare the bare column (to a range), or pre-compute the expression in a column.",
    "Enables partition pruning, min/max file skipping and index use",
    CHECKLIST + " (string operations in WHERE)",
)
MULTIPLE_PASSES = Rule(
    "LG007",
    "repeated-table-scan",
    Severity.WARNING,
    "The same table is aggregated in several passes that differ only in their filter.",
    "Aggregate once with CASE WHEN per condition (and GROUP BY where needed).",
    "2-5x faster",
    CHECKLIST + " (multiple passes over same data)",
)
NOT_IN_NULLABLE = Rule(
    "LG008",
    "not-in-nullable-subquery",
    Severity.ERROR,
    "NOT IN over a subquery returns no rows at all if the subquery yields one NULL.",
    "Use NOT EXISTS (or LEFT JOIN ... IS NULL).",
    "Correctness, and an anti-join plan instead of a nested loop",
    CHECKLIST + " (NOT IN with NULLs)",
)
CARTESIAN = Rule(
    "LG009",
    "cartesian-join",
    Severity.ERROR,
    "Two tables are joined without a condition linking them (an implicit cross join).",
    "Add the join condition, or write CROSS JOIN if every pair is really wanted.",
    "Avoids a result of rows(a) x rows(b)",
    "engine tuning guides (implicit cross join)",
)
UNION_DISTINCT = Rule(
    "LG010",
    "union-instead-of-union-all",
    Severity.WARNING,
    "UNION removes duplicates with a sort or hash over the whole result.",
    "Use UNION ALL when the branches cannot overlap or duplicates are wanted.",
    "Skips a full deduplication of the result",
    "engine tuning guides (UNION vs UNION ALL)",
)
LEADING_WILDCARD = Rule(
    "LG011",
    "leading-wildcard-like",
    Severity.WARNING,
    "LIKE with a leading wildcard cannot use an index, min/max statistics or pruning.",
    "Anchor the pattern, or search a pre-computed column (reversed text, tokens).",
    "Avoids a full scan of the column",
    "engine tuning guides (leading wildcard)",
)
NULL_COMPARISON = Rule(
    "LG012",
    "comparison-with-null",
    Severity.ERROR,
    "= NULL or <> NULL is never true: the condition filters out every row.",
    "Use IS NULL or IS NOT NULL.",
    "Correctness",
    "SQL standard three-valued logic",
)
HAVING_FILTER = Rule(
    "LG013",
    "having-without-aggregate",
    Severity.WARNING,
    "A HAVING condition uses no aggregate: it filters rows after grouping them.",
    "Move the condition to WHERE so rows are dropped before the aggregation.",
    "Less data grouped; filters can be pushed to the scan",
    "engine tuning guides (filter early)",
)
OR_IN_JOIN = Rule(
    "LG014",
    "or-in-join-condition",
    Severity.WARNING,
    "An OR across the join condition prevents a hash join (nested loop instead).",
    "Split into one join per branch combined with UNION ALL, or join on one key.",
    "Hash join instead of rows(a) x rows(b) comparisons",
    "engine tuning guides (OR in joins)",
)
COUNT_FOR_EXISTS = Rule(
    "LG015",
    "count-for-existence",
    Severity.WARNING,
    "COUNT(*) compared with 0 counts every match only to learn whether one exists.",
    "Use EXISTS / NOT EXISTS, which stops at the first match.",
    "Stops at the first matching row",
    "engine tuning guides (EXISTS vs COUNT)",
)
WINDOW_NO_PARTITION = Rule(
    "LG016",
    "window-without-partition",
    Severity.WARNING,
    "A window function without PARTITION BY moves all rows to one partition (one task).",
    "Partition the window by a key, or compute the global value in an aggregate.",
    "Parallel instead of single-threaded; Spark warns 'No Partition Defined'",
    "seeds: Spark Optimization Guide (shuffle) and Spark's WindowExec warning",
)

# A lake table at least this large (rows) makes DISTINCT over it worth a finding.
LARGE_TABLE_ROWS = 1_000_000
