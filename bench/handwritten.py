"""The hand-written baseline of the `lakegate validate` benchmark.

What an engineer would write by hand for the 16 checks of
bench/contracts/lineitem.yaml: ONE DuckDB aggregate query over the Parquet file
for the row-level checks, the row count and the mean, plus one GROUP BY for the
(l_orderkey, l_linenumber) uniqueness (lakegate also runs that one separately).
Null semantics match lakegate's: a null passes every check but not_null, and a
row expression that is null passes.

Usage: python bench/handwritten.py LINEITEM.parquet
Prints {"rows": ..., "failing": {check id: failing rows}, "mean_quantity": ...,
"passed": {check id: bool}} as JSON on stdout. Check ids are lakegate's.
"""

from __future__ import annotations

import json
import sys
import time

import duckdb

ROW_COUNT_MIN, ROW_COUNT_MAX = 6_000_000, 6_100_000
MEAN_MIN, MEAN_MAX = 25.0, 26.0

# One scan: every row-level check is a COUNT_IF of its failure predicate.
CHECKS_SQL = """
SELECT
    count(*)                                                   AS row_count,
    count_if(l_orderkey IS NULL)                               AS "l_orderkey.not_null",
    count_if(l_linenumber IS NULL)                             AS "l_linenumber.not_null",
    count_if(l_quantity IS NULL)                               AS "l_quantity.not_null",
    count_if(l_returnflag IS NULL)                             AS "l_returnflag.not_null",
    count_if(l_linenumber NOT BETWEEN 1 AND 7)                 AS "l_linenumber.range",
    count_if(l_quantity NOT BETWEEN 1 AND 50)                  AS "l_quantity.range",
    count_if(l_discount NOT BETWEEN 0 AND 0.10)                AS "l_discount.range",
    count_if(l_tax NOT BETWEEN 0 AND 0.08)                     AS "l_tax.range",
    count_if(l_returnflag NOT IN ('A', 'N', 'R'))              AS "l_returnflag.accepted_values",
    count_if(l_linestatus NOT IN ('F', 'O'))                   AS "l_linestatus.accepted_values",
    count_if(l_shipinstruct NOT IN
        ('COLLECT COD', 'DELIVER IN PERSON', 'NONE', 'TAKE BACK RETURN'))
                                                               AS "l_shipinstruct.accepted_values",
    count_if(NOT regexp_matches(l_shipmode, '^[A-Z]+( [A-Z]+)?$')) AS "l_shipmode.regex",
    count_if(NOT (l_receiptdate > l_shipdate))                 AS receipt_after_ship,
    avg(l_quantity)                                            AS mean_quantity
FROM read_parquet(?)
"""

# Duplicate keys: every row of a key that occurs more than once fails (as lakegate
# counts them); rows whose key columns are all null are ignored.
UNIQUE_SQL = """
SELECT count(*) AS duplicate_keys, coalesce(sum(n), 0) AS duplicate_rows
FROM (
    SELECT count(*) AS n
    FROM read_parquet(?)
    WHERE l_orderkey IS NOT NULL OR l_linenumber IS NOT NULL
    GROUP BY l_orderkey, l_linenumber
    HAVING count(*) > 1
)
"""

UNIQUE_ID = "unique_combination.l_orderkey.l_linenumber"


def run(path: str) -> dict[str, object]:
    started = time.perf_counter()
    con = duckdb.connect()
    cursor = con.execute(CHECKS_SQL, [path])
    names = [d[0] for d in cursor.description]
    row = dict(zip(names, cursor.fetchone(), strict=True))
    duplicate_keys, duplicate_rows = con.execute(UNIQUE_SQL, [path]).fetchone()
    con.close()

    rows = int(row.pop("row_count"))
    mean = float(row.pop("mean_quantity"))
    failing = {name: int(value) for name, value in row.items()}
    failing[UNIQUE_ID] = int(duplicate_rows)
    passed = {name: count == 0 for name, count in failing.items()}
    passed[UNIQUE_ID] = duplicate_keys == 0
    passed["row_count"] = ROW_COUNT_MIN <= rows <= ROW_COUNT_MAX
    passed["l_quantity.distribution"] = MEAN_MIN <= mean <= MEAN_MAX
    return {
        "rows": rows,
        "mean_quantity": mean,
        "duplicate_keys": int(duplicate_keys),
        "failing": failing,
        "passed": passed,
        "duration_seconds": time.perf_counter() - started,
    }


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/handwritten.py LINEITEM.parquet")
    print(json.dumps(run(sys.argv[1]), indent=2))


if __name__ == "__main__":
    main()
