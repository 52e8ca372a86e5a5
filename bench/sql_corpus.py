"""Generate a corpus of TPC-H- and TPC-DS-like SQL files for the analyzer benchmark.

    python bench/sql_corpus.py OUT_DIR --files 1000 --seed 1

Every file is drawn from its own random generator (seeded with ``seed`` and the file's
number), so a corpus is the same on every machine and file ``i`` does not depend on
how many files were asked for. The mix:

* single queries modelled on the 22 TPC-H queries (lineitem, orders, customer, part,
  supplier, partsupp, nation, region) and on TPC-DS ones (store_sales, web_sales,
  catalog_sales, store_returns, date_dim, item, customer, store; CTEs, window
  functions, UNION ALL, ROLLUP), with dates, segments, regions, nations, brands,
  containers and quantities substituted;
* report packs: 2 to 5 of those queries in one file, some as ``CREATE OR REPLACE VIEW``;
* dbt-like models: a few hundred lines of staging, renaming, joining and metric CTEs.

Two files in five carry injected anti-patterns (:data:`ANTI_PATTERNS`), woven into
the queries where a query has room for them (``YEAR(o_orderdate) = 1995`` for a date
range, ``NOT IN`` for ``NOT EXISTS``, a correlated scalar subquery for a pre-aggregated
join, ...) and otherwise appended as a short ad-hoc statement. The query texts are this
file's own, written after the benchmarks' descriptions; all of them parse with sqlglot
(duckdb dialect). ``manifest.json`` in the folder lists each file's template,
statements, lines, bytes and anti-patterns.
"""

# ruff: noqa: S608
# This file writes SQL text on purpose: formatted the way people write it, anti-patterns
# included, from its own constants and a seeded random generator (no outside input).

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ANTI_PATTERNS = (
    "select_star",  # SELECT * from a table
    "not_in_subquery",  # x NOT IN (SELECT ...)
    "leading_wildcard_like",  # LIKE '%word'
    "function_on_column",  # YEAR(o_orderdate) = 1995 in WHERE
    "order_by_without_limit",  # a top-level ORDER BY without LIMIT
    "union_distinct",  # UNION where UNION ALL would do
    "implicit_cross_join",  # FROM a, b with no predicate joining b
    "correlated_scalar_subquery",  # (SELECT max(..) FROM t2 WHERE t2.k = t1.k)
    "distinct",  # SELECT DISTINCT
)
BAD_FILE_SHARE = (1, 3)  # file numbers whose remainder by 5 is listed carry anti-patterns
MANIFEST = "manifest.json"

SEGMENTS = ("AUTOMOBILE", "BUILDING", "FURNITURE", "HOUSEHOLD", "MACHINERY")
REGIONS = {
    "AFRICA": ("ALGERIA", "ETHIOPIA", "KENYA", "MOROCCO", "MOZAMBIQUE"),
    "AMERICA": ("ARGENTINA", "BRAZIL", "CANADA", "PERU", "UNITED STATES"),
    "ASIA": ("CHINA", "INDIA", "INDONESIA", "JAPAN", "VIETNAM"),
    "EUROPE": ("FRANCE", "GERMANY", "ROMANIA", "RUSSIA", "UNITED KINGDOM"),
    "MIDDLE EAST": ("EGYPT", "IRAN", "IRAQ", "JORDAN", "SAUDI ARABIA"),
}
NATIONS = tuple(n for ns in REGIONS.values() for n in ns)
COLORS: tuple[str, ...] = ("almond", "azure", "blush", "chocolate", "forest", "green")
COLORS += ("ivory", "khaki")
COLORS += ("lavender", "linen", "maroon", "navy", "olive", "peach", "rose", "tomato")
TYPE_1 = ("STANDARD", "SMALL", "MEDIUM", "LARGE", "ECONOMY", "PROMO")
TYPE_2 = ("ANODIZED", "BURNISHED", "PLATED", "POLISHED", "BRUSHED")
TYPE_3 = ("TIN", "NICKEL", "BRASS", "STEEL", "COPPER")
CONTAINERS = tuple(
    f"{a} {b}"
    for a in ("SM", "MED", "LG", "JUMBO", "WRAP")
    for b in ("CASE", "BOX", "PACK", "PKG", "JAR", "BAG", "CAN", "DRUM")
)
SHIP_MODES = ("REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB")
PRIORITIES = ("1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW")
WORDS = ("special", "pending", "unusual", "express", "requests", "accounts", "deposits")
CATEGORIES: tuple[str, ...] = (
    "Books",
    "Children",
    "Electronics",
    "Home",
    "Jewelry",
    "Men",
    "Music",
    "Shoes",
)
CATEGORIES += ("Sports", "Women")
STATES: tuple[str, ...] = (
    "AL",
    "CA",
    "GA",
    "IA",
    "IL",
    "IN",
    "KS",
    "KY",
    "MI",
    "MN",
    "MO",
    "NE",
    "NY",
    "OH",
)
STATES += ("TN", "TX", "VA", "WA")
DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")

# TPC-H columns, for the dbt-like models' staging and renaming CTEs: (column, new name, type)
TPCH_COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    "lineitem": [
        ("l_orderkey", "order_key", "BIGINT"), ("l_partkey", "part_key", "BIGINT"),
        ("l_suppkey", "supplier_key", "BIGINT"), ("l_linenumber", "line_number", "INTEGER"),
        ("l_quantity", "quantity", "DECIMAL(15, 2)"), ("l_extendedprice", "extended_price", "DECIMAL(15, 2)"),
        ("l_discount", "discount", "DECIMAL(15, 2)"), ("l_tax", "tax", "DECIMAL(15, 2)"),
        ("l_returnflag", "return_flag", "VARCHAR"), ("l_linestatus", "line_status", "VARCHAR"),
        ("l_shipdate", "ship_date", "DATE"), ("l_commitdate", "commit_date", "DATE"),
        ("l_receiptdate", "receipt_date", "DATE"), ("l_shipinstruct", "ship_instructions", "VARCHAR"),
        ("l_shipmode", "ship_mode", "VARCHAR"), ("l_comment", "line_comment", "VARCHAR"),
    ],
    "orders": [
        ("o_orderkey", "order_key", "BIGINT"), ("o_custkey", "customer_key", "BIGINT"),
        ("o_orderstatus", "order_status", "VARCHAR"), ("o_totalprice", "total_price", "DECIMAL(15, 2)"),
        ("o_orderdate", "order_date", "DATE"), ("o_orderpriority", "order_priority", "VARCHAR"),
        ("o_clerk", "clerk", "VARCHAR"), ("o_shippriority", "ship_priority", "INTEGER"),
        ("o_comment", "order_comment", "VARCHAR"),
    ],
    "customer": [
        ("c_custkey", "customer_key", "BIGINT"), ("c_name", "customer_name", "VARCHAR"),
        ("c_address", "customer_address", "VARCHAR"), ("c_nationkey", "nation_key", "BIGINT"),
        ("c_phone", "phone", "VARCHAR"), ("c_acctbal", "account_balance", "DECIMAL(15, 2)"),
        ("c_mktsegment", "market_segment", "VARCHAR"), ("c_comment", "customer_comment", "VARCHAR"),
    ],
    "part": [
        ("p_partkey", "part_key", "BIGINT"), ("p_name", "part_name", "VARCHAR"),
        ("p_mfgr", "manufacturer", "VARCHAR"), ("p_brand", "brand", "VARCHAR"),
        ("p_type", "part_type", "VARCHAR"), ("p_size", "part_size", "INTEGER"),
        ("p_container", "container", "VARCHAR"), ("p_retailprice", "retail_price", "DECIMAL(15, 2)"),
        ("p_comment", "part_comment", "VARCHAR"),
    ],
    "supplier": [
        ("s_suppkey", "supplier_key", "BIGINT"), ("s_name", "supplier_name", "VARCHAR"),
        ("s_address", "supplier_address", "VARCHAR"), ("s_nationkey", "supplier_nation_key", "BIGINT"),
        ("s_phone", "supplier_phone", "VARCHAR"), ("s_acctbal", "supplier_balance", "DECIMAL(15, 2)"),
        ("s_comment", "supplier_comment", "VARCHAR"),
    ],
    "nation": [
        ("n_nationkey", "nation_key", "BIGINT"), ("n_name", "nation_name", "VARCHAR"),
        ("n_regionkey", "region_key", "BIGINT"), ("n_comment", "nation_comment", "VARCHAR"),
    ],
}  # fmt: skip


# ----------------------------------------------------------------------------- choices


@dataclass
class Draw:
    """The random choices of one file, and the anti-patterns it carries.

    Attributes:
        rng: This file's random generator.
        bad: The anti-patterns this file should carry (names from :data:`ANTI_PATTERNS`).
        used: Those a query has woven in so far (the rest are appended as extra statements).
    """

    rng: random.Random
    bad: frozenset[str]
    used: set[str] = field(default_factory=set)

    def want(self, kind: str) -> bool:
        """Whether to write ``kind`` here (recorded as used when so)."""
        if kind in self.bad:
            self.used.add(kind)
            return True
        return False

    def pick(self, options: tuple[str, ...]) -> str:
        return self.rng.choice(options)

    def date(self, first: int = 1993, last: int = 1997) -> dt.date:
        """The first of a random month between January ``first`` and December ``last``."""
        return dt.date(self.rng.randint(first, last), self.rng.randint(1, 12), 1)

    def part_type(self) -> str:
        return f"{self.pick(TYPE_1)} {self.pick(TYPE_2)} {self.pick(TYPE_3)}"

    def brand(self) -> str:
        return f"Brand#{self.rng.randint(1, 5)}{self.rng.randint(1, 5)}"


def months_later(day: dt.date, months: int) -> dt.date:
    """``day`` (a first of month) plus ``months`` months."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def date_range(d: Draw, column: str, start: dt.date, months: int) -> str:
    """``column`` in ``[start, start + months)``: a sargable range, or with a function on
    the column (``YEAR(col) = 1995``, ``date_trunc``, ``EXTRACT``) when injected."""
    end = months_later(start, months)
    if not d.want("function_on_column"):
        return f"{column} >= DATE '{start}'\n    AND {column} < DATE '{end}'"
    if months == 12 and start.month == 1:
        return f"YEAR({column}) = {start.year}"
    if start.year == months_later(start, months - 1).year and d.rng.random() < 0.5:
        last = start.month + months - 1
        return (
            f"EXTRACT(YEAR FROM {column}) = {start.year}\n"
            f"    AND EXTRACT(MONTH FROM {column}) BETWEEN {start.month} AND {last}"
        )
    return (
        f"date_trunc('month', {column}) >= DATE '{start}'\n"
        f"    AND date_trunc('month', {column}) < DATE '{end}'"
    )


def order_by(d: Draw, keys: str, limit: int | None = None) -> str:
    """The query's ORDER BY: with a LIMIT (``limit`` or 100, or no ORDER BY at all when
    the query has no natural limit); without one when injected."""
    if d.want("order_by_without_limit"):
        return f"ORDER BY {keys}"
    if limit is None and d.rng.random() < 0.5:
        return ""
    return f"ORDER BY {keys}\nLIMIT {limit or 100}"


def joins(d: Draw, first: str, rest: list[tuple[str, str]]) -> tuple[str, list[str]]:
    """A FROM clause joining ``first`` to each ``(table, condition)`` of ``rest``, and the
    WHERE conditions it needs: explicit JOIN ... ON, or, injected, comma-separated tables
    with the last table's condition forgotten (an implicit cross join)."""
    if d.want("implicit_cross_join"):
        tables = ",\n    ".join([first, *(t for t, _ in rest)])
        return f"FROM {tables}", [c for _, c in rest[:-1]]
    return "\n".join([f"FROM {first}", *(f"JOIN {t} ON {c}" for t, c in rest)]), []


def where(conditions: list[str]) -> str:
    return "WHERE " + "\n    AND ".join(conditions) if conditions else ""


def select(d: Draw) -> str:
    """``SELECT``, or ``SELECT DISTINCT`` when injected."""
    return "SELECT DISTINCT" if d.want("distinct") else "SELECT"


def like(d: Draw, column: str, word: str, *, negate: bool = False) -> str:
    """A LIKE on ``word``: a prefix match, or, injected, a leading wildcard."""
    pattern = f"%{word}%" if d.want("leading_wildcard_like") else f"{word}%"
    return f"{column} {'NOT ' if negate else ''}LIKE '{pattern}'"


def sql(*parts: str) -> str:
    """The non-empty ``parts``, one per line."""
    return "\n".join(p for p in parts if p)


# ----------------------------------------------------------------------------- TPC-H-like


def q01(d: Draw) -> str:
    days = d.rng.randint(60, 120)
    cutoff = dt.date(1998, 12, 1) - dt.timedelta(days=days)
    if d.want("function_on_column"):
        filt = f"WHERE date_diff('day', l_shipdate, DATE '1998-12-01') >= {days}"
    else:
        filt = f"WHERE l_shipdate <= DATE '{cutoff}'"
    return sql(
        "SELECT",
        "    l_returnflag,",
        "    l_linestatus,",
        "    sum(l_quantity) AS sum_qty,",
        "    sum(l_extendedprice) AS sum_base_price,",
        "    sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price,",
        "    sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,",
        "    avg(l_quantity) AS avg_qty,",
        "    avg(l_extendedprice) AS avg_price,",
        "    avg(l_discount) AS avg_disc,",
        "    count(*) AS count_order",
        "FROM lineitem",
        filt,
        "GROUP BY l_returnflag, l_linestatus",
        order_by(d, "l_returnflag, l_linestatus"),
    )


def q02(d: Draw) -> str:
    region, size = d.pick(tuple(REGIONS)), d.rng.randint(1, 50)
    metal = d.pick(TYPE_3)
    if d.want("leading_wildcard_like"):
        type_filter = f"p.p_type LIKE '%{metal}'"
    else:
        type_filter = f"p.p_type = '{d.pick(TYPE_1)} {d.pick(TYPE_2)} {metal}'"
    src, conds = joins(
        d,
        "part AS p",
        [
            ("partsupp AS ps", "ps.ps_partkey = p.p_partkey"),
            ("supplier AS s", "s.s_suppkey = ps.ps_suppkey"),
            ("nation AS n", "n.n_nationkey = s.s_nationkey"),
            ("region AS r", "r.r_regionkey = n.n_regionkey"),
        ],
    )
    cols = "s.s_acctbal, s.s_name, n.n_name, p.p_partkey, p.p_mfgr, s.s_address, s.s_phone"
    conds += [f"p.p_size = {size}", type_filter, f"r.r_name = '{region}'"]
    if d.want("correlated_scalar_subquery"):
        conds.append(
            "ps.ps_supplycost = (\n"
            "        SELECT min(ps2.ps_supplycost)\n"
            "        FROM partsupp AS ps2\n"
            "        JOIN supplier AS s2 ON s2.s_suppkey = ps2.ps_suppkey\n"
            "        JOIN nation AS n2 ON n2.n_nationkey = s2.s_nationkey\n"
            "        JOIN region AS r2 ON r2.r_regionkey = n2.n_regionkey\n"
            f"        WHERE ps2.ps_partkey = p.p_partkey AND r2.r_name = '{region}'\n"
            "    )"
        )
        head = ""
    else:
        head = sql(
            "WITH min_cost AS (",
            "    SELECT ps2.ps_partkey, min(ps2.ps_supplycost) AS min_supplycost",
            "    FROM partsupp AS ps2",
            "    JOIN supplier AS s2 ON s2.s_suppkey = ps2.ps_suppkey",
            "    JOIN nation AS n2 ON n2.n_nationkey = s2.s_nationkey",
            "    JOIN region AS r2 ON r2.r_regionkey = n2.n_regionkey",
            f"    WHERE r2.r_name = '{region}'",
            "    GROUP BY ps2.ps_partkey",
            ")",
        )
        src += "\nJOIN min_cost AS mc\n    ON mc.ps_partkey = p.p_partkey AND mc.min_supplycost = ps.ps_supplycost"
    return sql(
        head,
        f"SELECT {cols}, s.s_comment",
        src,
        where(conds),
        order_by(d, "s.s_acctbal DESC, n.n_name, s.s_name, p.p_partkey", 100),
    )


def q03(d: Draw) -> str:
    day = dt.date(1995, 3, d.rng.randint(1, 31))
    src, conds = joins(
        d,
        "customer AS c",
        [
            ("orders AS o", "o.o_custkey = c.c_custkey"),
            ("lineitem AS l", "l.l_orderkey = o.o_orderkey"),
        ],
    )
    conds += [
        f"c.c_mktsegment = '{d.pick(SEGMENTS)}'",
        f"o.o_orderdate < DATE '{day}'",
        f"l.l_shipdate > DATE '{day}'",
    ]
    return sql(
        select(d),
        "    l.l_orderkey,",
        "    sum(l.l_extendedprice * (1 - l.l_discount)) AS revenue,",
        "    o.o_orderdate,",
        "    o.o_shippriority",
        src,
        where(conds),
        "GROUP BY l.l_orderkey, o.o_orderdate, o.o_shippriority",
        order_by(d, "revenue DESC, o.o_orderdate", 10),
    )


def q04(d: Draw) -> str:
    return sql(
        "SELECT o.o_orderpriority, count(*) AS order_count",
        "FROM orders AS o",
        "WHERE " + date_range(d, "o.o_orderdate", d.date(), 3),
        "    AND EXISTS (",
        "        SELECT 1",
        "        FROM lineitem AS l",
        "        WHERE l.l_orderkey = o.o_orderkey AND l.l_commitdate < l.l_receiptdate",
        "    )",
        "GROUP BY o.o_orderpriority",
        order_by(d, "o.o_orderpriority"),
    )


def q05(d: Draw) -> str:
    src, conds = joins(
        d,
        "customer AS c",
        [
            ("orders AS o", "o.o_custkey = c.c_custkey"),
            ("lineitem AS l", "l.l_orderkey = o.o_orderkey"),
            ("supplier AS s", "s.s_suppkey = l.l_suppkey AND s.s_nationkey = c.c_nationkey"),
            ("nation AS n", "n.n_nationkey = s.s_nationkey"),
            ("region AS r", "r.r_regionkey = n.n_regionkey"),
        ],
    )
    conds += [
        f"r.r_name = '{d.pick(tuple(REGIONS))}'",
        date_range(d, "o.o_orderdate", dt.date(d.rng.randint(1993, 1997), 1, 1), 12),
    ]
    return sql(
        "SELECT n.n_name, sum(l.l_extendedprice * (1 - l.l_discount)) AS revenue",
        src,
        where(conds),
        "GROUP BY n.n_name",
        order_by(d, "revenue DESC"),
    )


def q06(d: Draw) -> str:
    discount = d.rng.randint(2, 9) / 100
    return sql(
        "SELECT sum(l_extendedprice * l_discount) AS revenue",
        "FROM lineitem",
        "WHERE " + date_range(d, "l_shipdate", dt.date(d.rng.randint(1993, 1997), 1, 1), 12),
        f"    AND l_discount BETWEEN {discount - 0.01:.2f} AND {discount + 0.01:.2f}",
        f"    AND l_quantity < {d.rng.randint(24, 25)}",
    )


def q07(d: Draw) -> str:
    a, b = d.rng.sample(NATIONS, 2)
    src, conds = joins(
        d,
        "supplier AS s",
        [
            ("lineitem AS l", "l.l_suppkey = s.s_suppkey"),
            ("orders AS o", "o.o_orderkey = l.l_orderkey"),
            ("customer AS c", "c.c_custkey = o.o_custkey"),
            ("nation AS n1", "n1.n_nationkey = s.s_nationkey"),
            ("nation AS n2", "n2.n_nationkey = c.c_nationkey"),
        ],
    )
    conds += [
        f"((n1.n_name = '{a}' AND n2.n_name = '{b}') OR (n1.n_name = '{b}' AND n2.n_name = '{a}'))",
        "l.l_shipdate BETWEEN DATE '1995-01-01' AND DATE '1996-12-31'",
    ]
    body = "\n".join("    " + line for line in [*src.splitlines(), *where(conds).splitlines()])
    return sql(
        "SELECT supp_nation, cust_nation, l_year, sum(volume) AS revenue",
        "FROM (",
        "    SELECT",
        "        n1.n_name AS supp_nation,",
        "        n2.n_name AS cust_nation,",
        "        EXTRACT(YEAR FROM l.l_shipdate) AS l_year,",
        "        l.l_extendedprice * (1 - l.l_discount) AS volume",
        body,
        ") AS shipping",
        "GROUP BY supp_nation, cust_nation, l_year",
        order_by(d, "supp_nation, cust_nation, l_year"),
    )


def q08(d: Draw) -> str:
    region = d.pick(tuple(REGIONS))
    nation = d.pick(REGIONS[region])
    src, conds = joins(
        d,
        "part AS p",
        [
            ("lineitem AS l", "l.l_partkey = p.p_partkey"),
            ("supplier AS s", "s.s_suppkey = l.l_suppkey"),
            ("orders AS o", "o.o_orderkey = l.l_orderkey"),
            ("customer AS c", "c.c_custkey = o.o_custkey"),
            ("nation AS n1", "n1.n_nationkey = c.c_nationkey"),
            ("nation AS n2", "n2.n_nationkey = s.s_nationkey"),
            ("region AS r", "r.r_regionkey = n1.n_regionkey"),
        ],
    )
    conds += [
        f"r.r_name = '{region}'",
        "o.o_orderdate BETWEEN DATE '1995-01-01' AND DATE '1996-12-31'",
        f"p.p_type = '{d.part_type()}'",
    ]
    return sql(
        "WITH all_nations AS (",
        "    SELECT",
        "        EXTRACT(YEAR FROM o.o_orderdate) AS o_year,",
        "        l.l_extendedprice * (1 - l.l_discount) AS volume,",
        "        n2.n_name AS nation",
        "\n".join("    " + line for line in [*src.splitlines(), *where(conds).splitlines()]),
        ")",
        "SELECT",
        "    o_year,",
        f"    sum(CASE WHEN nation = '{nation}' THEN volume ELSE 0 END) / sum(volume) AS mkt_share",
        "FROM all_nations",
        "GROUP BY o_year",
        order_by(d, "o_year"),
    )


def q09(d: Draw) -> str:
    src, conds = joins(
        d,
        "part AS p",
        [
            ("lineitem AS l", "l.l_partkey = p.p_partkey"),
            ("supplier AS s", "s.s_suppkey = l.l_suppkey"),
            ("partsupp AS ps", "ps.ps_suppkey = l.l_suppkey AND ps.ps_partkey = l.l_partkey"),
            ("orders AS o", "o.o_orderkey = l.l_orderkey"),
            ("nation AS n", "n.n_nationkey = s.s_nationkey"),
        ],
    )
    conds.append(like(d, "p.p_name", d.pick(COLORS)))
    return sql(
        "SELECT nation, o_year, sum(amount) AS sum_profit",
        "FROM (",
        "    SELECT",
        "        n.n_name AS nation,",
        "        EXTRACT(YEAR FROM o.o_orderdate) AS o_year,",
        "        l.l_extendedprice * (1 - l.l_discount) - ps.ps_supplycost * l.l_quantity AS amount",
        "\n".join("    " + line for line in [*src.splitlines(), *where(conds).splitlines()]),
        ") AS profit",
        "GROUP BY nation, o_year",
        order_by(d, "nation, o_year DESC"),
    )


def q10(d: Draw) -> str:
    start = dt.date(d.rng.randint(1993, 1994), d.rng.choice((2, 5, 8, 11)), 1)
    src, conds = joins(
        d,
        "customer AS c",
        [
            ("orders AS o", "o.o_custkey = c.c_custkey"),
            ("lineitem AS l", "l.l_orderkey = o.o_orderkey"),
            ("nation AS n", "n.n_nationkey = c.c_nationkey"),
        ],
    )
    conds += [date_range(d, "o.o_orderdate", start, 3), "l.l_returnflag = 'R'"]
    return sql(
        select(d),
        "    c.c_custkey,",
        "    c.c_name,",
        "    sum(l.l_extendedprice * (1 - l.l_discount)) AS revenue,",
        "    c.c_acctbal,",
        "    n.n_name,",
        "    c.c_address,",
        "    c.c_phone,",
        "    c.c_comment",
        src,
        where(conds),
        "GROUP BY c.c_custkey, c.c_name, c.c_acctbal, c.c_phone, n.n_name, c.c_address, c.c_comment",
        order_by(d, "revenue DESC", 20),
    )


def q11(d: Draw) -> str:
    nation = d.pick(NATIONS)
    fraction = d.rng.choice(("0.0001", "0.00005", "0.0002"))
    return sql(
        "WITH stock AS (",
        "    SELECT ps.ps_partkey, ps.ps_supplycost * ps.ps_availqty AS stock_value",
        "    FROM partsupp AS ps",
        "    JOIN supplier AS s ON s.s_suppkey = ps.ps_suppkey",
        "    JOIN nation AS n ON n.n_nationkey = s.s_nationkey",
        f"    WHERE n.n_name = '{nation}'",
        ")",
        "SELECT ps_partkey, sum(stock_value) AS part_value",
        "FROM stock",
        "GROUP BY ps_partkey",
        f"HAVING sum(stock_value) > (SELECT sum(stock_value) * {fraction} FROM stock)",
        order_by(d, "part_value DESC"),
    )


def q12(d: Draw) -> str:
    a, b = d.rng.sample(SHIP_MODES, 2)
    return sql(
        "SELECT",
        "    l.l_shipmode,",
        "    sum(CASE WHEN o.o_orderpriority IN ('1-URGENT', '2-HIGH') THEN 1 ELSE 0 END) AS high_line_count,",
        "    sum(CASE WHEN o.o_orderpriority NOT IN ('1-URGENT', '2-HIGH') THEN 1 ELSE 0 END) AS low_line_count",
        "FROM orders AS o",
        "JOIN lineitem AS l ON l.l_orderkey = o.o_orderkey",
        f"WHERE l.l_shipmode IN ('{a}', '{b}')",
        "    AND l.l_commitdate < l.l_receiptdate",
        "    AND l.l_shipdate < l.l_commitdate",
        "    AND " + date_range(d, "l.l_receiptdate", dt.date(d.rng.randint(1993, 1997), 1, 1), 12),
        "GROUP BY l.l_shipmode",
        order_by(d, "l.l_shipmode"),
    )


def q13(d: Draw) -> str:
    return sql(
        "SELECT c_count, count(*) AS custdist",
        "FROM (",
        "    SELECT c.c_custkey, count(o.o_orderkey) AS c_count",
        "    FROM customer AS c",
        "    LEFT JOIN orders AS o",
        "        ON o.o_custkey = c.c_custkey",
        "        AND " + like(d, "o.o_comment", d.pick(WORDS), negate=True),
        "    GROUP BY c.c_custkey",
        ") AS c_orders",
        "GROUP BY c_count",
        order_by(d, "custdist DESC, c_count DESC"),
    )


def q14(d: Draw) -> str:
    return sql(
        "SELECT",
        "    100.00 * sum(CASE WHEN p.p_type LIKE 'PROMO%' THEN l.l_extendedprice * (1 - l.l_discount) ELSE 0 END)",
        "        / sum(l.l_extendedprice * (1 - l.l_discount)) AS promo_revenue",
        "FROM lineitem AS l",
        "JOIN part AS p ON p.p_partkey = l.l_partkey",
        "WHERE " + date_range(d, "l.l_shipdate", d.date(), 1),
    )


def q15(d: Draw) -> str:
    cols = (
        "*"
        if d.want("select_star")
        else "s.s_suppkey, s.s_name, s.s_address, s.s_phone, r.total_revenue"
    )
    return sql(
        "WITH revenue AS (",
        "    SELECT l_suppkey AS supplier_no, sum(l_extendedprice * (1 - l_discount)) AS total_revenue",
        "    FROM lineitem",
        "    WHERE " + date_range(d, "l_shipdate", d.date(), 3).replace("\n", "\n    "),
        "    GROUP BY l_suppkey",
        ")",
        f"SELECT {cols}",
        "FROM supplier AS s",
        "JOIN revenue AS r ON r.supplier_no = s.s_suppkey",
        "WHERE r.total_revenue = (SELECT max(total_revenue) FROM revenue)",
        order_by(d, "s.s_suppkey"),
    )


def q16(d: Draw) -> str:
    sizes = ", ".join(str(s) for s in sorted(d.rng.sample(range(1, 51), 8)))
    if d.want("not_in_subquery"):
        complaint = (
            "ps.ps_suppkey NOT IN (\n"
            "        SELECT s.s_suppkey FROM supplier AS s\n"
            "        WHERE " + like(d, "s.s_comment", "Customer") + "\n    )"
        )
    else:
        complaint = (
            "NOT EXISTS (\n"
            "        SELECT 1 FROM supplier AS s\n"
            "        WHERE s.s_suppkey = ps.ps_suppkey AND "
            + like(d, "s.s_comment", "Customer")
            + "\n    )"
        )
    return sql(
        "SELECT p.p_brand, p.p_type, p.p_size, count(DISTINCT ps.ps_suppkey) AS supplier_cnt",
        "FROM partsupp AS ps",
        "JOIN part AS p ON p.p_partkey = ps.ps_partkey",
        f"WHERE p.p_brand <> '{d.brand()}'",
        f"    AND p.p_type NOT LIKE '{d.pick(TYPE_1)} {d.pick(TYPE_2)}%'",
        f"    AND p.p_size IN ({sizes})",
        "    AND " + complaint,
        "GROUP BY p.p_brand, p.p_type, p.p_size",
        order_by(d, "supplier_cnt DESC, p.p_brand, p.p_type, p.p_size"),
    )


def q17(d: Draw) -> str:
    brand, container = d.brand(), d.pick(CONTAINERS)
    if d.want("correlated_scalar_subquery"):
        return sql(
            "SELECT sum(l.l_extendedprice) / 7.0 AS avg_yearly",
            "FROM lineitem AS l",
            "JOIN part AS p ON p.p_partkey = l.l_partkey",
            f"WHERE p.p_brand = '{brand}'",
            f"    AND p.p_container = '{container}'",
            "    AND l.l_quantity < (",
            "        SELECT 0.2 * avg(l2.l_quantity) FROM lineitem AS l2 WHERE l2.l_partkey = p.p_partkey",
            "    )",
        )
    return sql(
        "WITH part_avg AS (",
        "    SELECT l_partkey, 0.2 * avg(l_quantity) AS small_quantity",
        "    FROM lineitem",
        "    GROUP BY l_partkey",
        ")",
        "SELECT sum(l.l_extendedprice) / 7.0 AS avg_yearly",
        "FROM lineitem AS l",
        "JOIN part AS p ON p.p_partkey = l.l_partkey",
        "JOIN part_avg AS pa ON pa.l_partkey = l.l_partkey",
        f"WHERE p.p_brand = '{brand}'",
        f"    AND p.p_container = '{container}'",
        "    AND l.l_quantity < pa.small_quantity",
    )


def q18(d: Draw) -> str:
    src, conds = joins(
        d,
        "customer AS c",
        [
            ("orders AS o", "o.o_custkey = c.c_custkey"),
            ("lineitem AS l", "l.l_orderkey = o.o_orderkey"),
        ],
    )
    conds.insert(
        0,
        "o.o_orderkey IN (\n"
        "        SELECT l_orderkey FROM lineitem\n"
        f"        GROUP BY l_orderkey HAVING sum(l_quantity) > {d.rng.randint(312, 315)}\n"
        "    )",
    )
    return sql(
        select(d),
        "    c.c_name, c.c_custkey, o.o_orderkey, o.o_orderdate, o.o_totalprice,",
        "    sum(l.l_quantity) AS total_quantity",
        src,
        where(conds),
        "GROUP BY c.c_name, c.c_custkey, o.o_orderkey, o.o_orderdate, o.o_totalprice",
        order_by(d, "o.o_totalprice DESC, o.o_orderdate", 100),
    )


def q19(d: Draw) -> str:
    blocks = []
    for size, group in ((5, "SM"), (10, "MED"), (15, "LG")):
        low = d.rng.randint(1, 10) + (size - 5)
        boxes = ", ".join(f"'{group} {c}'" for c in ("CASE", "BOX", "PACK", "PKG"))
        blocks.append(
            "(\n"
            f"        p.p_brand = '{d.brand()}'\n"
            f"        AND p.p_container IN ({boxes})\n"
            f"        AND l.l_quantity BETWEEN {low} AND {low + 10}\n"
            f"        AND p.p_size BETWEEN 1 AND {size}\n"
            "        AND l.l_shipmode IN ('AIR', 'AIR REG')\n"
            "        AND l.l_shipinstruct = 'DELIVER IN PERSON'\n"
            "    )"
        )
    return sql(
        "SELECT sum(l.l_extendedprice * (1 - l.l_discount)) AS revenue",
        "FROM lineitem AS l",
        "JOIN part AS p ON p.p_partkey = l.l_partkey",
        "WHERE " + "\n    OR ".join(blocks),
    )


def q20(d: Draw) -> str:
    start = dt.date(d.rng.randint(1993, 1997), 1, 1)
    if d.want("correlated_scalar_subquery"):
        quantity = (
            "ps.ps_availqty > (\n"
            "                SELECT 0.5 * sum(l.l_quantity) FROM lineitem AS l\n"
            "                WHERE l.l_partkey = ps.ps_partkey AND l.l_suppkey = ps.ps_suppkey\n"
            f"                    AND l.l_shipdate >= DATE '{start}'\n"
            f"                    AND l.l_shipdate < DATE '{months_later(start, 12)}'\n"
            "            )"
        )
        head, extra_join = "", ""
    else:
        head = sql(
            "WITH shipped AS (",
            "    SELECT l_partkey, l_suppkey, 0.5 * sum(l_quantity) AS half_quantity",
            "    FROM lineitem",
            "    WHERE " + date_range(d, "l_shipdate", start, 12).replace("\n", "\n    "),
            "    GROUP BY l_partkey, l_suppkey",
            ")",
        )
        quantity = "ps.ps_availqty > sh.half_quantity"
        extra_join = "            JOIN shipped AS sh ON sh.l_partkey = ps.ps_partkey AND sh.l_suppkey = ps.ps_suppkey\n"
    return sql(
        head,
        "SELECT s.s_name, s.s_address",
        "FROM supplier AS s",
        "JOIN nation AS n ON n.n_nationkey = s.s_nationkey",
        "WHERE s.s_suppkey IN (",
        "        SELECT ps.ps_suppkey",
        "        FROM partsupp AS ps\n" + extra_join.rstrip("\n"),
        f"        WHERE ps.ps_partkey IN (SELECT p_partkey FROM part WHERE p_name LIKE '{d.pick(COLORS)}%')",
        "            AND " + quantity,
        "    )",
        f"    AND n.n_name = '{d.pick(NATIONS)}'",
        order_by(d, "s.s_name"),
    )


def q21(d: Draw) -> str:
    if d.want("not_in_subquery"):
        late = (
            "l1.l_orderkey NOT IN (\n"
            "        SELECT l3.l_orderkey FROM lineitem AS l3\n"
            "        WHERE l3.l_suppkey <> l1.l_suppkey AND l3.l_receiptdate > l3.l_commitdate\n"
            "    )"
        )
    else:
        late = (
            "NOT EXISTS (\n"
            "        SELECT 1 FROM lineitem AS l3\n"
            "        WHERE l3.l_orderkey = l1.l_orderkey\n"
            "            AND l3.l_suppkey <> l1.l_suppkey\n"
            "            AND l3.l_receiptdate > l3.l_commitdate\n"
            "    )"
        )
    return sql(
        select(d),
        "    s.s_name, count(*) AS numwait",
        "FROM supplier AS s",
        "JOIN lineitem AS l1 ON l1.l_suppkey = s.s_suppkey",
        "JOIN orders AS o ON o.o_orderkey = l1.l_orderkey",
        "JOIN nation AS n ON n.n_nationkey = s.s_nationkey",
        "WHERE o.o_orderstatus = 'F'",
        "    AND l1.l_receiptdate > l1.l_commitdate",
        "    AND EXISTS (",
        "        SELECT 1 FROM lineitem AS l2",
        "        WHERE l2.l_orderkey = l1.l_orderkey AND l2.l_suppkey <> l1.l_suppkey",
        "    )",
        "    AND " + late,
        f"    AND n.n_name = '{d.pick(NATIONS)}'",
        "GROUP BY s.s_name",
        order_by(d, "numwait DESC, s.s_name", 100),
    )


def q22(d: Draw) -> str:
    codes = ", ".join(f"'{c}'" for c in sorted(d.rng.sample(range(10, 35), 7)))
    if d.want("not_in_subquery"):
        no_orders = "c_custkey NOT IN (SELECT o_custkey FROM orders)"
    else:
        no_orders = "NOT EXISTS (SELECT 1 FROM orders AS o WHERE o.o_custkey = cc.c_custkey)"
    if d.want("function_on_column"):
        return sql(
            "SELECT substring(c_phone, 1, 2) AS cntrycode, count(*) AS numcust, sum(c_acctbal) AS totacctbal",
            "FROM customer AS cc",
            f"WHERE substring(c_phone, 1, 2) IN ({codes})",
            "    AND c_acctbal > (SELECT avg(c_acctbal) FROM customer WHERE c_acctbal > 0.00)",
            "    AND " + no_orders,
            "GROUP BY cntrycode",
            order_by(d, "cntrycode"),
        )
    return sql(
        "WITH coded AS (",
        "    SELECT c_custkey, c_acctbal, substring(c_phone, 1, 2) AS cntrycode",
        "    FROM customer",
        ")",
        "SELECT cntrycode, count(*) AS numcust, sum(c_acctbal) AS totacctbal",
        "FROM coded AS cc",
        f"WHERE cntrycode IN ({codes})",
        "    AND c_acctbal > (SELECT avg(c_acctbal) FROM customer WHERE c_acctbal > 0.00)",
        "    AND " + no_orders,
        "GROUP BY cntrycode",
        order_by(d, "cntrycode"),
    )


TPCH: dict[str, Callable[[Draw], str]] = {
    f.__name__: f
    for f in (
        q01, q02, q03, q04, q05, q06, q07, q08, q09, q10, q11,
        q12, q13, q14, q15, q16, q17, q18, q19, q20, q21, q22,
    )
}  # fmt: skip


# ----------------------------------------------------------------------------- TPC-DS-like


def item_filter(d: Draw, alias: str = "i") -> str:
    """An item filter: categories, or, injected, a leading-wildcard search of descriptions."""
    if d.want("leading_wildcard_like"):
        return f"{alias}.i_item_desc LIKE '%{d.pick(WORDS)}%'"
    cats = ", ".join(f"'{c}'" for c in sorted(d.rng.sample(CATEGORIES, 3)))
    return f"{alias}.i_category IN ({cats})"


def month_filter(d: Draw, year: int, month: int) -> str:
    """The month on date_dim: its columns, or, injected, functions of ``d_date``."""
    if d.want("function_on_column"):
        return f"EXTRACT(YEAR FROM dd.d_date) = {year}\n    AND EXTRACT(MONTH FROM dd.d_date) = {month}"
    return f"dd.d_year = {year}\n    AND dd.d_moy = {month}"


def ds_brand_revenue(d: Draw) -> str:
    year, month = d.rng.randint(1998, 2002), d.rng.randint(1, 12)
    return sql(
        "SELECT",
        "    dd.d_year,",
        "    i.i_brand_id AS brand_id,",
        "    i.i_brand AS brand,",
        "    sum(ss.ss_ext_sales_price) AS ext_price",
        "FROM date_dim AS dd",
        "JOIN store_sales AS ss ON ss.ss_sold_date_sk = dd.d_date_sk",
        "JOIN item AS i ON i.i_item_sk = ss.ss_item_sk",
        f"WHERE i.i_manager_id = {d.rng.randint(1, 100)}",
        "    AND " + month_filter(d, year, month),
        "    AND " + item_filter(d),
        "GROUP BY dd.d_year, i.i_brand, i.i_brand_id",
        order_by(d, "dd.d_year, ext_price DESC, brand_id", 100),
    )


def ds_demographics(d: Draw) -> str:
    return sql(
        "SELECT",
        "    i.i_item_id,",
        "    avg(ss.ss_quantity) AS agg1,",
        "    avg(ss.ss_list_price) AS agg2,",
        "    avg(ss.ss_coupon_amt) AS agg3,",
        "    avg(ss.ss_sales_price) AS agg4",
        "FROM store_sales AS ss",
        "JOIN customer_demographics AS cd ON cd.cd_demo_sk = ss.ss_cdemo_sk",
        "JOIN date_dim AS dd ON dd.d_date_sk = ss.ss_sold_date_sk",
        "JOIN item AS i ON i.i_item_sk = ss.ss_item_sk",
        "JOIN promotion AS p ON p.p_promo_sk = ss.ss_promo_sk",
        f"WHERE cd.cd_gender = '{d.pick(('M', 'F'))}'",
        f"    AND cd.cd_marital_status = '{d.pick(('S', 'M', 'D', 'W', 'U'))}'",
        f"    AND cd.cd_education_status = '{d.pick(('College', 'Primary', 'Secondary', 'Unknown'))}'",
        "    AND (p.p_channel_email = 'N' OR p.p_channel_event = 'N')",
        f"    AND dd.d_year = {d.rng.randint(1998, 2002)}",
        "GROUP BY i.i_item_id",
        order_by(d, "i.i_item_id", 100),
    )


def ds_return_outliers(d: Draw) -> str:
    head = sql(
        "WITH customer_total_return AS (",
        "    SELECT",
        "        sr.sr_customer_sk AS ctr_customer_sk,",
        "        sr.sr_store_sk AS ctr_store_sk,",
        "        sum(sr.sr_return_amt) AS ctr_total_return",
        "    FROM store_returns AS sr",
        "    JOIN date_dim AS dd ON dd.d_date_sk = sr.sr_returned_date_sk",
        f"    WHERE dd.d_year = {d.rng.randint(1998, 2002)}",
        "    GROUP BY sr.sr_customer_sk, sr.sr_store_sk",
        ")",
    )
    tail = [
        "JOIN store AS s ON s.s_store_sk = ctr1.ctr_store_sk",
        "JOIN customer AS c ON c.c_customer_sk = ctr1.ctr_customer_sk",
    ]
    if d.want("correlated_scalar_subquery"):
        return sql(
            head,
            "SELECT c.c_customer_id",
            "FROM customer_total_return AS ctr1",
            *tail,
            "WHERE ctr1.ctr_total_return > (",
            "        SELECT avg(ctr2.ctr_total_return) * 1.2",
            "        FROM customer_total_return AS ctr2",
            "        WHERE ctr2.ctr_store_sk = ctr1.ctr_store_sk",
            "    )",
            f"    AND s.s_state = '{d.pick(STATES)}'",
            order_by(d, "c.c_customer_id", 100),
        )
    return sql(
        head + ",",
        "with_store_avg AS (",
        "    SELECT",
        "        ctr_customer_sk,",
        "        ctr_store_sk,",
        "        ctr_total_return,",
        "        avg(ctr_total_return) OVER (PARTITION BY ctr_store_sk) * 1.2 AS store_limit",
        "    FROM customer_total_return",
        ")",
        "SELECT c.c_customer_id",
        "FROM with_store_avg AS ctr1",
        *tail,
        "WHERE ctr1.ctr_total_return > ctr1.store_limit",
        f"    AND s.s_state = '{d.pick(STATES)}'",
        order_by(d, "c.c_customer_id", 100),
    )


CHANNELS = (
    ("store", "store_sales", "ss", "ss_store_sk", "ss_sold_date_sk"),
    ("web", "web_sales", "ws", "ws_web_site_sk", "ws_sold_date_sk"),
    ("catalog", "catalog_sales", "cs", "cs_call_center_sk", "cs_sold_date_sk"),
)


def union(d: Draw) -> str:
    return "UNION" if d.want("union_distinct") else "UNION ALL"


def ds_channel_rollup(d: Draw) -> str:
    start = dt.date(d.rng.randint(1998, 2002), d.rng.randint(1, 12), d.rng.randint(1, 14))
    end = start + dt.timedelta(days=d.rng.choice((14, 30, 60)))
    ctes, parts = [], []
    for name, table, p, key, date_key in CHANNELS:
        ctes.append(
            f"{name}_summary AS (\n"
            "    SELECT\n"
            f"        {p}.{key} AS location_id,\n"
            f"        sum({p}.{p}_ext_sales_price) AS sales,\n"
            f"        sum({p}.{p}_net_profit) AS profit\n"
            f"    FROM {table} AS {p}\n"
            f"    JOIN date_dim AS dd ON dd.d_date_sk = {p}.{date_key}\n"
            f"    WHERE dd.d_date BETWEEN DATE '{start}' AND DATE '{end}'\n"
            f"    GROUP BY {p}.{key}\n"
            ")"
        )
        parts.append(
            f"    SELECT '{name} channel' AS channel, location_id AS id, sales, profit\n"
            f"    FROM {name}_summary"
        )
    return sql(
        "WITH " + ",\n".join(ctes) + ",",
        "all_channels AS (",
        f"\n    {union(d)}\n".join(parts),
        ")",
        "SELECT channel, id, sum(sales) AS sales, sum(profit) AS profit",
        "FROM all_channels",
        "GROUP BY ROLLUP (channel, id)",
        order_by(d, "channel, id", 100),
    )


def ds_year_over_year(d: Draw) -> str:
    year = d.rng.randint(1998, 2001)
    parts = []
    for name, table, p, _, date_key in CHANNELS[:2]:
        customer_key = "ss_customer_sk" if p == "ss" else "ws_bill_customer_sk"
        parts.append(
            "    SELECT\n"
            "        c.c_customer_id AS customer_id,\n"
            "        c.c_first_name AS customer_first_name,\n"
            "        c.c_last_name AS customer_last_name,\n"
            "        dd.d_year AS dyear,\n"
            f"        sum({p}.{p}_ext_sales_price - {p}.{p}_ext_discount_amt) AS year_total,\n"
            f"        '{name[0]}' AS sale_type\n"
            "    FROM customer AS c\n"
            f"    JOIN {table} AS {p} ON {p}.{customer_key} = c.c_customer_sk\n"
            f"    JOIN date_dim AS dd ON dd.d_date_sk = {p}.{date_key}\n"
            f"    WHERE dd.d_year IN ({year}, {year + 1})\n"
            "    GROUP BY c.c_customer_id, c.c_first_name, c.c_last_name, dd.d_year"
        )
    selfjoin = []
    for alias, kind, y in (
        ("s1", "s", year),
        ("s2", "s", year + 1),
        ("w1", "w", year),
        ("w2", "w", year + 1),
    ):
        selfjoin.append(f"{alias}.sale_type = '{kind}' AND {alias}.dyear = {y}")
    return sql(
        "WITH year_total AS (",
        f"\n    {union(d)}\n".join(parts),
        ")",
        "SELECT s2.customer_id, s2.customer_first_name, s2.customer_last_name",
        "FROM year_total AS s1",
        "JOIN year_total AS s2 ON s2.customer_id = s1.customer_id",
        "JOIN year_total AS w1 ON w1.customer_id = s1.customer_id",
        "JOIN year_total AS w2 ON w2.customer_id = s1.customer_id",
        "WHERE " + "\n    AND ".join(selfjoin),
        "    AND s1.year_total > 0 AND w1.year_total > 0",
        "    AND w2.year_total / w1.year_total > s2.year_total / s1.year_total",
        order_by(d, "s2.customer_id", 100),
    )


def ds_category_rank(d: Draw) -> str:
    return sql(
        "WITH margins AS (",
        "    SELECT",
        "        i.i_category,",
        "        i.i_class,",
        "        sum(ss.ss_net_profit) / sum(ss.ss_ext_sales_price) AS gross_margin,",
        "        grouping(i.i_category) + grouping(i.i_class) AS lochierarchy",
        "    FROM store_sales AS ss",
        "    JOIN date_dim AS dd ON dd.d_date_sk = ss.ss_sold_date_sk",
        "    JOIN item AS i ON i.i_item_sk = ss.ss_item_sk",
        "    JOIN store AS s ON s.s_store_sk = ss.ss_store_sk",
        f"    WHERE dd.d_year = {d.rng.randint(1998, 2002)}",
        f"        AND s.s_state IN ('{d.pick(STATES)}', '{d.pick(STATES)}')",
        "    GROUP BY ROLLUP (i.i_category, i.i_class)",
        ")",
        "SELECT",
        "    gross_margin,",
        "    i_category,",
        "    i_class,",
        "    lochierarchy,",
        "    rank() OVER (",
        "        PARTITION BY lochierarchy, CASE WHEN lochierarchy = 0 THEN i_category END",
        "        ORDER BY gross_margin ASC",
        "    ) AS rank_within_parent",
        "FROM margins",
        order_by(d, "lochierarchy DESC, i_category, rank_within_parent", 100),
    )


def ds_moving_average(d: Draw) -> str:
    year = d.rng.randint(1999, 2002)
    return sql(
        "WITH monthly AS (",
        "    SELECT",
        "        i.i_category,",
        "        i.i_brand,",
        "        s.s_store_name,",
        "        dd.d_year,",
        "        dd.d_moy,",
        "        sum(ss.ss_sales_price) AS sum_sales,",
        "        avg(sum(ss.ss_sales_price)) OVER (",
        "            PARTITION BY i.i_category, i.i_brand, s.s_store_name, dd.d_year",
        "        ) AS avg_monthly_sales,",
        "        rank() OVER (",
        "            PARTITION BY i.i_category, i.i_brand, s.s_store_name",
        "            ORDER BY dd.d_year, dd.d_moy",
        "        ) AS rn",
        "    FROM item AS i",
        "    JOIN store_sales AS ss ON ss.ss_item_sk = i.i_item_sk",
        "    JOIN date_dim AS dd ON dd.d_date_sk = ss.ss_sold_date_sk",
        "    JOIN store AS s ON s.s_store_sk = ss.ss_store_sk",
        f"    WHERE dd.d_year = {year}",
        f"        OR (dd.d_year = {year - 1} AND dd.d_moy = 12)",
        f"        OR (dd.d_year = {year + 1} AND dd.d_moy = 1)",
        "    GROUP BY i.i_category, i.i_brand, s.s_store_name, dd.d_year, dd.d_moy",
        ")",
        "SELECT",
        "    v1.i_category,",
        "    v1.i_brand,",
        "    v1.s_store_name,",
        "    v1.d_year,",
        "    v1.d_moy,",
        "    v1.avg_monthly_sales,",
        "    v1.sum_sales,",
        "    v1_lag.sum_sales AS psum,",
        "    v1_lead.sum_sales AS nsum",
        "FROM monthly AS v1",
        "JOIN monthly AS v1_lag",
        "    ON v1_lag.i_category = v1.i_category AND v1_lag.i_brand = v1.i_brand",
        "    AND v1_lag.s_store_name = v1.s_store_name AND v1_lag.rn = v1.rn - 1",
        "JOIN monthly AS v1_lead",
        "    ON v1_lead.i_category = v1.i_category AND v1_lead.i_brand = v1.i_brand",
        "    AND v1_lead.s_store_name = v1.s_store_name AND v1_lead.rn = v1.rn + 1",
        f"WHERE v1.d_year = {year}",
        "    AND v1.avg_monthly_sales > 0",
        "    AND abs(v1.sum_sales - v1.avg_monthly_sales) / v1.avg_monthly_sales > 0.1",
        order_by(d, "v1.sum_sales - v1.avg_monthly_sales, v1.s_store_name", 100),
    )


def ds_store_weekdays(d: Draw) -> str:
    days = ",\n".join(
        f"    sum(CASE WHEN dd.d_day_name = '{day}' THEN ss.ss_sales_price END) AS {day[:3].lower()}_sales"
        for day in DAY_NAMES
    )
    return sql(
        "SELECT",
        "    s.s_store_name,",
        "    s.s_store_id,",
        days,
        "FROM date_dim AS dd",
        "JOIN store_sales AS ss ON ss.ss_sold_date_sk = dd.d_date_sk",
        "JOIN store AS s ON s.s_store_sk = ss.ss_store_sk",
        f"WHERE s.s_gmt_offset = {d.rng.choice((-5, -6, -7, -8))}",
        f"    AND dd.d_year = {d.rng.randint(1998, 2002)}",
        "GROUP BY s.s_store_name, s.s_store_id",
        order_by(d, "s.s_store_name, s.s_store_id", 100),
    )


def ds_hour_counts(d: Draw) -> str:
    hours = sorted(d.rng.sample(range(8, 13), 4))
    store = d.pick(("ese", "able", "anti", "ought", "bar"))
    dep = d.rng.randint(0, 4)
    if d.want("implicit_cross_join"):
        subqueries = [
            "    (\n"
            f"        SELECT count(*) AS h{h}\n"
            "        FROM store_sales AS ss\n"
            "        JOIN household_demographics AS hd ON hd.hd_demo_sk = ss.ss_hdemo_sk\n"
            "        JOIN time_dim AS t ON t.t_time_sk = ss.ss_sold_time_sk\n"
            "        JOIN store AS s ON s.s_store_sk = ss.ss_store_sk\n"
            f"        WHERE t.t_hour = {h} AND hd.hd_dep_count = {dep} AND s.s_store_name = '{store}'\n"
            f"    ) AS s{h}"
            for h in hours
        ]
        cols = ", ".join(f"s{h}.h{h}" for h in hours)
        return f"SELECT {cols}\nFROM\n" + ",\n".join(subqueries)
    counts = ",\n".join(f"    count(*) FILTER (WHERE t.t_hour = {h}) AS h{h}" for h in hours)
    return sql(
        "SELECT",
        counts,
        "FROM store_sales AS ss",
        "JOIN household_demographics AS hd ON hd.hd_demo_sk = ss.ss_hdemo_sk",
        "JOIN time_dim AS t ON t.t_time_sk = ss.ss_sold_time_sk",
        "JOIN store AS s ON s.s_store_sk = ss.ss_store_sk",
        f"WHERE t.t_hour BETWEEN {hours[0]} AND {hours[-1]}",
        f"    AND hd.hd_dep_count = {dep}",
        f"    AND s.s_store_name = '{store}'",
    )


def ds_channel_customers(d: Draw) -> str:
    year, qoy = d.rng.randint(1999, 2002), d.rng.randint(1, 3)
    states = ", ".join(f"'{s}'" for s in sorted(d.rng.sample(STATES, 3)))

    def bought(table: str, p: str, customer: str, date_key: str) -> str:
        return (
            f"SELECT 1 FROM {table} AS {p}\n"
            f"        JOIN date_dim AS dd ON dd.d_date_sk = {p}.{date_key}\n"
            f"        WHERE {p}.{customer} = c.c_customer_sk AND dd.d_year = {year} AND dd.d_qoy <= {qoy + 1}"
        )

    if d.want("not_in_subquery"):
        no_web = (
            "c.c_customer_sk NOT IN (\n"
            "        SELECT ws.ws_bill_customer_sk FROM web_sales AS ws\n"
            "        JOIN date_dim AS dd ON dd.d_date_sk = ws.ws_sold_date_sk\n"
            f"        WHERE dd.d_year = {year}\n"
            "    )"
        )
    else:
        no_web = (
            "NOT EXISTS (\n        "
            + bought("web_sales", "ws", "ws_bill_customer_sk", "ws_sold_date_sk")
            + "\n    )"
        )
    return sql(
        select(d),
        "    cd.cd_gender,",
        "    cd.cd_marital_status,",
        "    cd.cd_education_status,",
        "    count(*) AS cnt1,",
        "    cd.cd_purchase_estimate,",
        "    cd.cd_credit_rating",
        "FROM customer AS c",
        "JOIN customer_address AS ca ON ca.ca_address_sk = c.c_current_addr_sk",
        "JOIN customer_demographics AS cd ON cd.cd_demo_sk = c.c_current_cdemo_sk",
        f"WHERE ca.ca_state IN ({states})",
        "    AND EXISTS (\n        "
        + bought("store_sales", "ss", "ss_customer_sk", "ss_sold_date_sk")
        + "\n    )",
        "    AND " + no_web,
        "GROUP BY cd.cd_gender, cd.cd_marital_status, cd.cd_education_status,",
        "    cd.cd_purchase_estimate, cd.cd_credit_rating",
        order_by(d, "cd.cd_gender, cd.cd_marital_status, cd.cd_education_status", 100),
    )


def ds_inventory_variance(d: Draw) -> str:
    year, month = d.rng.randint(1998, 2002), d.rng.randint(1, 11)
    return sql(
        "WITH inv AS (",
        "    SELECT",
        "        w_warehouse_name,",
        "        w_warehouse_sk,",
        "        i_item_sk,",
        "        d_moy,",
        "        stddev_samp(inv_quantity_on_hand) AS stdev,",
        "        avg(inv_quantity_on_hand) AS mean",
        "    FROM inventory",
        "    JOIN item ON i_item_sk = inv_item_sk",
        "    JOIN warehouse ON w_warehouse_sk = inv_warehouse_sk",
        "    JOIN date_dim ON d_date_sk = inv_date_sk",
        f"    WHERE d_year = {year}",
        "    GROUP BY w_warehouse_name, w_warehouse_sk, i_item_sk, d_moy",
        "),",
        "volatile AS (",
        "    SELECT w_warehouse_sk, i_item_sk, d_moy, mean, stdev / mean AS cov",
        "    FROM inv",
        "    WHERE mean > 0 AND stdev / mean > 1",
        ")",
        "SELECT",
        "    inv1.w_warehouse_sk,",
        "    inv1.i_item_sk,",
        "    inv1.d_moy,",
        "    inv1.mean,",
        "    inv1.cov,",
        "    inv2.d_moy AS next_moy,",
        "    inv2.mean AS next_mean,",
        "    inv2.cov AS next_cov",
        "FROM volatile AS inv1",
        "JOIN volatile AS inv2",
        "    ON inv2.i_item_sk = inv1.i_item_sk AND inv2.w_warehouse_sk = inv1.w_warehouse_sk",
        f"WHERE inv1.d_moy = {month}",
        f"    AND inv2.d_moy = {month + 1}",
        order_by(d, "inv1.w_warehouse_sk, inv1.i_item_sk, inv1.d_moy, inv1.mean, inv1.cov", 100),
    )


TPCDS: dict[str, Callable[[Draw], str]] = {
    f.__name__: f
    for f in (
        ds_brand_revenue, ds_demographics, ds_return_outliers, ds_channel_rollup,
        ds_year_over_year, ds_category_rank, ds_moving_average, ds_store_weekdays,
        ds_hour_counts, ds_channel_customers, ds_inventory_variance,
    )
}  # fmt: skip


# ----------------------------------------------------------------------------- dbt-like models

# TPC-DS sales channels renamed to one shape: (common name, store, web, catalog column suffix)
SALES_COLUMNS = (
    ("sold_date_sk", "sold_date_sk", "sold_date_sk", "sold_date_sk"),
    ("item_sk", "item_sk", "item_sk", "item_sk"),
    ("customer_sk", "customer_sk", "bill_customer_sk", "bill_customer_sk"),
    ("order_number", "ticket_number", "order_number", "order_number"),
    ("quantity", "quantity", "quantity", "quantity"),
    ("list_price", "list_price", "list_price", "list_price"),
    ("sales_price", "sales_price", "sales_price", "sales_price"),
    ("ext_discount_amt", "ext_discount_amt", "ext_discount_amt", "ext_discount_amt"),
    ("ext_sales_price", "ext_sales_price", "ext_sales_price", "ext_sales_price"),
    ("net_paid", "net_paid", "net_paid", "net_paid"),
    ("net_profit", "net_profit", "net_profit", "net_profit"),
)
TPCDS_DIMENSIONS: dict[str, list[tuple[str, str, str]]] = {
    "date_dim": [
        ("d_date_sk", "date_sk", "BIGINT"), ("d_date", "sold_date", "DATE"),
        ("d_year", "sold_year", "INTEGER"), ("d_moy", "sold_month", "INTEGER"),
        ("d_qoy", "sold_quarter", "INTEGER"), ("d_day_name", "day_name", "VARCHAR"),
    ],
    "item": [
        ("i_item_sk", "item_sk", "BIGINT"), ("i_item_id", "item_id", "VARCHAR"),
        ("i_brand", "brand", "VARCHAR"), ("i_class", "item_class", "VARCHAR"),
        ("i_category", "category", "VARCHAR"), ("i_current_price", "current_price", "DECIMAL(7, 2)"),
        ("i_manufact_id", "manufacturer_id", "INTEGER"), ("i_color", "color", "VARCHAR"),
    ],
    "customer": [
        ("c_customer_sk", "customer_sk", "BIGINT"), ("c_customer_id", "customer_id", "VARCHAR"),
        ("c_first_name", "first_name", "VARCHAR"), ("c_last_name", "last_name", "VARCHAR"),
        ("c_birth_country", "birth_country", "VARCHAR"), ("c_email_address", "email", "VARCHAR"),
        ("c_preferred_cust_flag", "preferred_flag", "VARCHAR"),
    ],
}  # fmt: skip


def staging(d: Draw, table: str, columns: list[tuple[str, str, str]], filt: str = "") -> str:
    """Two CTEs for ``table``: ``src_<table>`` reads it (all columns listed, or ``*`` when
    injected), ``stg_<table>`` renames and casts every column."""
    listed = "*" if d.want("select_star") else ",\n        ".join(c for c, _, _ in columns)
    renamed = ",\n        ".join(f"CAST({c} AS {t}) AS {new}" for c, new, t in columns)
    return sql(
        f"src_{table} AS (",
        "    SELECT",
        f"        {listed}",
        f"    FROM {table}",
        f"    {where([filt])}" if filt else "",
        "),",
        "",
        f"stg_{table} AS (",
        "    SELECT",
        f"        {renamed}",
        f"    FROM src_{table}",
        "),",
        "",
    )


def metrics(
    d: Draw, period: str, key: str, measure: str, dims: list[str]
) -> tuple[list[str], list[str]]:
    """Metric CTEs over ``enriched``: per grain and dimension, sums and counts, then a
    trend CTE with lag and rolling windows. Returns the CTEs and the trend CTE names."""
    ctes, trends = [], []
    for _ in range(d.rng.randint(1, 9)):
        grain, dim = d.pick(("week", "month", "quarter", "year")), d.pick(tuple(dims))
        name = f"{grain}ly_{dim}"
        if name in trends:
            continue
        ctes.append(
            sql(
                f"{name}_metrics AS (",
                "    SELECT",
                f"        date_trunc('{grain}', {period}) AS period,",
                f"        {dim} AS dimension_value,",
                "        count(*) AS line_count,",
                f"        count(DISTINCT {key}) AS order_count,",
                f"        sum({measure}) AS revenue,",
                f"        avg({measure}) AS avg_revenue,",
                f"        min({measure}) AS min_revenue,",
                f"        max({measure}) AS max_revenue,",
                "        sum(CASE WHEN is_flagged THEN 1 ELSE 0 END) AS flagged_count",
                "    FROM enriched",
                f"    GROUP BY date_trunc('{grain}', {period}), {dim}",
                "),",
                "",
                f"{name} AS (",
                "    SELECT",
                "        period,",
                "        dimension_value,",
                "        line_count,",
                "        order_count,",
                "        revenue,",
                "        lag(revenue) OVER (PARTITION BY dimension_value ORDER BY period) AS prev_revenue,",
                "        sum(revenue) OVER (",
                "            PARTITION BY dimension_value",
                "            ORDER BY period",
                "            ROWS BETWEEN 2 PRECEDING AND CURRENT ROW",
                "        ) AS revenue_3_periods,",
                "        flagged_count / line_count AS flagged_share",
                f"    FROM {name}_metrics",
                "),",
                "",
            )
        )
        trends.append(name)
    return ctes, trends


def model_tail(d: Draw, trends: list[str]) -> str:
    """The model's ``final`` CTE (the trend CTEs stacked) and its SELECT."""
    parts = [
        f"    SELECT\n        '{t}' AS metric_set,\n        period,\n"
        "        CAST(dimension_value AS VARCHAR) AS dimension_value,\n"
        "        line_count,\n        order_count,\n        revenue,\n        prev_revenue,\n"
        f"        revenue_3_periods,\n        flagged_share\n    FROM {t}"
        for t in trends
    ]
    stacked = f"\n    {union(d)}\n".join(parts) if len(parts) > 1 else parts[0]
    return sql(
        "final AS (",
        stacked,
        ")",
        "",
        "SELECT",
        "    metric_set,",
        "    period,",
        "    dimension_value,",
        "    line_count,",
        "    order_count,",
        "    revenue,",
        "    prev_revenue,",
        "    revenue_3_periods,",
        "    flagged_share,",
        "    revenue / nullif(prev_revenue, 0) - 1 AS revenue_growth",
        "FROM final",
        "ORDER BY metric_set, period, dimension_value" if d.want("order_by_without_limit") else "",
    )


def model_header(d: Draw, name: str, grain: str, sources: list[str]) -> str:
    return sql(
        f"-- models/marts/{name}.sql",
        f"-- Grain: one row per metric set, period and dimension value; built from {grain}.",
        f"-- Sources: {', '.join(sources)}.",
        f"-- Owner: analytics engineering ({d.pick(('finance', 'supply chain', 'growth', 'retail'))}).",
        "-- Materialized as a table, rebuilt daily; see the exposure in the BI tool.",
        "",
    )


def model_tpch(d: Draw) -> str:
    """A dbt-like mart over TPC-H: staging, a star join, enrichment and metric CTEs."""
    optional = d.rng.sample(("customer", "part", "supplier"), d.rng.randint(0, 3))
    tables = ["lineitem", "orders", *sorted(optional)]
    if "customer" in tables and d.rng.random() < 0.6:
        tables.append("nation")
    start = d.date(1993, 1996)
    filters = {
        "orders": lambda: date_range(d, "o_orderdate", start, d.rng.choice((12, 24, 36))),
        "customer": lambda: like(d, "c_name", "TEST", negate=True),
        "part": lambda: f"p_size <= {d.rng.randint(20, 50)}",
    }
    ctes = [staging(d, t, TPCH_COLUMNS[t], filters[t]() if t in filters else "") for t in tables]
    aliases = {
        "lineitem": "li",
        "orders": "o",
        "customer": "c",
        "part": "p",
        "supplier": "s",
        "nation": "n",
    }
    joined_on = {
        "orders": "JOIN stg_orders AS o ON o.order_key = li.order_key",
        "customer": "LEFT JOIN stg_customer AS c ON c.customer_key = o.customer_key",
        "part": "LEFT JOIN stg_part AS p ON p.part_key = li.part_key",
        "supplier": "LEFT JOIN stg_supplier AS s ON s.supplier_key = li.supplier_key",
        "nation": "LEFT JOIN stg_nation AS n ON n.nation_key = c.nation_key",
    }
    names: list[str] = []
    columns: list[str] = []
    for t in tables:
        for _, new, _ in TPCH_COLUMNS[t]:
            if new not in names:
                names.append(new)
                columns.append(f"{aliases[t]}.{new}")
    if d.want("not_in_subquery"):
        exclude = "li.order_key NOT IN (SELECT o_orderkey FROM orders WHERE o_orderstatus = 'P')"
    else:
        exclude = (
            "NOT EXISTS (\n        SELECT 1 FROM orders AS pending\n"
            "        WHERE pending.o_orderkey = li.order_key AND pending.o_orderstatus = 'P'\n    )"
        )
    if d.want("correlated_scalar_subquery"):
        last = "(\n            SELECT max(o2.o_orderdate) FROM orders AS o2 WHERE o2.o_custkey = j.customer_key\n        )"
    else:
        last = "max(j.order_date) OVER (PARTITION BY j.customer_key)"
    dims = ["ship_mode", "return_flag", "line_status", "order_priority", "order_status"]
    dims += [
        c
        for c in ("market_segment", "nation_name", "brand", "part_type", "supplier_name")
        if c in names
    ]
    metric_ctes, trends = metrics(d, "order_date", "order_key", "net_price", dims)
    return sql(
        model_header(d, f"fct_order_lines_{len(tables)}", "TPC-H order lines", tables),
        "WITH",
        "",
        "\n".join(ctes),
        "joined AS (",
        "    " + select(d),
        "        " + ",\n        ".join(columns),
        "    FROM stg_lineitem AS li",
        "\n".join("    " + joined_on[t] for t in tables[1:]),
        "    WHERE " + exclude,
        "),",
        "",
        "enriched AS (",
        "    SELECT",
        "        " + ",\n        ".join(f"j.{n}" for n in names) + ",",
        "        j.extended_price * (1 - j.discount) AS net_price,",
        "        j.extended_price * (1 - j.discount) * (1 + j.tax) AS gross_price,",
        "        date_diff('day', j.order_date, j.ship_date) AS days_to_ship,",
        "        j.receipt_date > j.commit_date AS is_flagged,",
        "        CASE",
        "            WHEN j.quantity < 10 THEN 'small'",
        "            WHEN j.quantity < 30 THEN 'medium'",
        "            ELSE 'large'",
        "        END AS size_band,",
        f"        {last} AS last_order_date",
        "    FROM joined AS j",
        "),",
        "",
        "\n".join(metric_ctes),
        model_tail(d, trends),
    )


def model_tpcds(d: Draw) -> str:
    """A dbt-like mart over the three TPC-DS sales channels, stacked, then joined to
    date_dim, item and customer, enriched and summarised."""
    star = d.want("select_star")  # read the sales tables with SELECT *, rename when stacking
    channels, stacked = [], []
    for column, (name, table, p, _, _) in enumerate(CHANNELS, start=1):
        renamed = ",\n        ".join(f"{p}_{c[column]} AS {c[0]}" for c in SALES_COLUMNS)
        channels.append(
            sql(
                f"src_{table} AS (",
                "    SELECT",
                "        *" if star else f"        {renamed},\n        '{name}' AS channel",
                f"    FROM {table}",
                "),",
                "",
            )
        )
        if star:
            listed = f"{renamed},\n        '{name}' AS channel"
        else:
            listed = ",\n        ".join([*(c[0] for c in SALES_COLUMNS), "channel"])
        stacked.append(f"    SELECT\n        {listed}\n    FROM src_{table}")
    start = d.date(1998, 2001)
    dims = [
        staging(d, "date_dim", TPCDS_DIMENSIONS["date_dim"], date_range(d, "d_date", start, 24)),
        staging(d, "item", TPCDS_DIMENSIONS["item"]),
        staging(
            d,
            "customer",
            TPCDS_DIMENSIONS["customer"],
            like(d, "c_email_address", "test", negate=True),
        ),
    ]
    names = [c[0] for c in SALES_COLUMNS] + ["channel"]
    columns = [f"s.{n}" for n in names]
    for alias, table in (("dd", "date_dim"), ("i", "item"), ("c", "customer")):
        for _, new, _ in TPCDS_DIMENSIONS[table]:
            if new not in names:
                names.append(new)
                columns.append(f"{alias}.{new}")
    if d.want("not_in_subquery"):
        exclude = "s.customer_sk NOT IN (SELECT sr_customer_sk FROM store_returns WHERE sr_return_amt > 1000)"
    else:
        exclude = (
            "NOT EXISTS (\n        SELECT 1 FROM store_returns AS sr\n"
            "        WHERE sr.sr_customer_sk = s.customer_sk AND sr.sr_return_amt > 1000\n    )"
        )
    if d.want("correlated_scalar_subquery"):
        last = (
            "(\n            SELECT max(dd2.d_date)\n            FROM store_sales AS ss2\n"
            "            JOIN date_dim AS dd2 ON dd2.d_date_sk = ss2.ss_sold_date_sk\n"
            "            WHERE ss2.ss_customer_sk = j.customer_sk\n        )"
        )
    else:
        last = "max(j.sold_date) OVER (PARTITION BY j.customer_sk)"
    dimensions = [
        "channel",
        "category",
        "brand",
        "item_class",
        "day_name",
        "birth_country",
        "color",
    ]
    metric_ctes, trends = metrics(d, "sold_date", "order_number", "net_paid", dimensions)
    return sql(
        model_header(
            d, "fct_channel_sales", "TPC-DS store, web and catalog sales", [c[1] for c in CHANNELS]
        ),
        "WITH",
        "",
        "\n".join(channels),
        "all_sales AS (",
        f"\n    {union(d)}\n".join(stacked),
        "),",
        "",
        "\n".join(dims),
        "joined AS (",
        "    " + select(d),
        "        " + ",\n        ".join(columns),
        "    FROM all_sales AS s",
        "    JOIN stg_date_dim AS dd ON dd.date_sk = s.sold_date_sk",
        "    JOIN stg_item AS i ON i.item_sk = s.item_sk",
        "    LEFT JOIN stg_customer AS c ON c.customer_sk = s.customer_sk",
        "    WHERE " + exclude,
        "),",
        "",
        "enriched AS (",
        "    SELECT",
        "        " + ",\n        ".join(f"j.{n}" for n in names) + ",",
        "        j.ext_sales_price - j.ext_discount_amt AS net_sales,",
        "        j.list_price - j.sales_price AS unit_markdown,",
        "        j.net_profit < 0 AS is_flagged,",
        "        CASE",
        "            WHEN j.quantity < 10 THEN 'small'",
        "            WHEN j.quantity < 50 THEN 'medium'",
        "            ELSE 'large'",
        "        END AS size_band,",
        f"        {last} AS last_purchase_date",
        "    FROM joined AS j",
        "),",
        "",
        "\n".join(metric_ctes),
        model_tail(d, trends),
    )


MODELS: dict[str, Callable[[Draw], str]] = {"model_tpch": model_tpch, "model_tpcds": model_tpcds}


# ----------------------------------------------------------------------------- ad-hoc statements

# A short statement carrying one anti-pattern, appended to a file whose queries had no
# room for one it should carry (an analyst's quick check left in the file).
EXTRAS: dict[str, Callable[[Draw], str]] = {
    "select_star": lambda d: (
        f"SELECT *\nFROM orders\nWHERE o_orderpriority = '{d.pick(PRIORITIES)}'"
    ),
    "not_in_subquery": lambda d: (
        "SELECT c_custkey, c_name\nFROM customer\nWHERE c_custkey NOT IN (\n"
        f"    SELECT o_custkey FROM orders WHERE o_orderdate >= DATE '{d.date()}'\n)"
    ),
    "leading_wildcard_like": lambda d: (
        "SELECT count(*) AS complaints\nFROM supplier\n"
        f"WHERE s_comment LIKE '%Customer%{d.pick(('Complaints', 'Recommends'))}%'"
    ),
    "function_on_column": lambda d: (
        "SELECT o_orderpriority, count(*) AS orders\nFROM orders\n"
        f"WHERE YEAR(o_orderdate) = {d.rng.randint(1993, 1998)}\nGROUP BY o_orderpriority"
    ),
    "order_by_without_limit": lambda d: (
        "SELECT o_orderkey, o_totalprice\nFROM orders\n"
        f"WHERE o_orderdate >= DATE '{d.date()}'\nORDER BY o_totalprice DESC"
    ),
    "union_distinct": lambda d: (
        "SELECT s_nationkey AS nation_key FROM supplier\nUNION\n"
        "SELECT c_nationkey AS nation_key FROM customer"
    ),
    "implicit_cross_join": lambda d: (
        f"SELECT n_name, r_name\nFROM nation, region\nWHERE r_name = '{d.pick(tuple(REGIONS))}'"
    ),
    "correlated_scalar_subquery": lambda d: (
        "SELECT\n    c.c_custkey,\n    c.c_name,\n"
        "    (SELECT max(o.o_orderdate) FROM orders AS o WHERE o.o_custkey = c.c_custkey) AS last_order\n"
        f"FROM customer AS c\nWHERE c.c_mktsegment = '{d.pick(SEGMENTS)}'"
    ),
    "distinct": lambda d: (
        f"SELECT DISTINCT o_custkey\nFROM orders\nWHERE o_orderstatus = '{d.pick(('F', 'O', 'P'))}'"
    ),
}


# ----------------------------------------------------------------------------- files


@dataclass(frozen=True)
class CorpusFile:
    """One generated file, as listed in the manifest.

    Attributes:
        name: File name in the corpus folder.
        kind: ``tpch``, ``tpcds`` (one query), ``pack`` (several), or ``model`` (dbt-like).
        templates: The templates its statements came from, in order.
        statements: Statements in the file (the appended ad-hoc ones included).
        lines: Lines of text.
        bytes: Size in bytes (UTF-8).
        anti_patterns: The injected anti-patterns (names from :data:`ANTI_PATTERNS`).
    """

    name: str
    kind: str
    templates: list[str]
    statements: int
    lines: int
    bytes: int
    anti_patterns: list[str]


def chosen_anti_patterns(seed: int, index: int, rng: random.Random) -> frozenset[str]:
    """The anti-patterns file ``index`` carries: none for three files in five; else one
    that cycles through :data:`ANTI_PATTERNS` (so any 23 files in a row hold all nine)
    plus up to two drawn at random."""
    if index % 5 not in BAD_FILE_SHARE:
        return frozenset()
    nth = 2 * (index // 5) + BAD_FILE_SHARE.index(index % 5)
    kinds = {ANTI_PATTERNS[(nth + seed) % len(ANTI_PATTERNS)]}
    kinds.update(rng.sample(ANTI_PATTERNS, rng.choice((0, 0, 1, 2))))
    return frozenset(kinds)


def render(seed: int, index: int) -> tuple[str, CorpusFile]:
    """File ``index`` of the corpus of ``seed``: its text and manifest entry."""
    rng = random.Random(f"lakegate-sql-corpus:{seed}:{index}")
    d = Draw(rng, chosen_anti_patterns(seed, index, rng))
    roll = rng.random()
    statements: list[str] = []
    templates: list[str] = []
    if roll < 0.40:
        kind, templates = "tpch", [rng.choice(sorted(TPCH))]
    elif roll < 0.65:
        kind, templates = "tpcds", [rng.choice(sorted(TPCDS))]
    elif roll < 0.85:
        kind = "pack"
        templates = rng.sample(sorted(TPCH) + sorted(TPCDS), rng.randint(2, 5))
    else:
        kind, templates = "model", [rng.choice(sorted(MODELS))]
    header = ""
    for template in templates:
        text = {**TPCH, **TPCDS, **MODELS}[template](d)
        if kind == "pack" and rng.random() < 0.4:
            text = f"CREATE OR REPLACE VIEW rpt_{template}_{index} AS\n{text}"
        statements.append(text)
    if kind in ("tpch", "tpcds"):
        header = (
            f"-- {templates[0]}: {kind.upper().replace('TPC', 'TPC-')}-like query, file {index}\n"
        )
    elif kind == "pack":
        header = f"-- report pack {index}: {', '.join(templates)}\n"
    extras = sorted(d.bad - d.used)
    statements += [EXTRAS[k](d) for k in extras]
    text = header + ";\n\n".join(statements) + ";\n"
    if kind == "model" and not extras:
        text = text.removesuffix(";\n") + "\n"  # dbt models carry no terminator
    entry = CorpusFile(
        name=f"{index:04d}_{templates[0] if kind != 'pack' else 'pack'}.sql",
        kind=kind,
        templates=templates + [f"extra_{k}" for k in extras],
        statements=len(statements),
        lines=text.count("\n"),
        bytes=len(text.encode()),
        anti_patterns=sorted(d.bad),
    )
    return text, entry


@dataclass
class Corpus:
    """A generated corpus: where, with which seed, and its files."""

    folder: Path
    seed: int
    files: list[CorpusFile]

    def totals(self) -> dict[str, Any]:
        """Files, statements, lines and bytes, per kind and per anti-pattern."""
        return {
            "files": len(self.files),
            "statements": sum(f.statements for f in self.files),
            "lines": sum(f.lines for f in self.files),
            "bytes": sum(f.bytes for f in self.files),
            "max_lines": max((f.lines for f in self.files), default=0),
            "files_over_200_lines": sum(f.lines > 200 for f in self.files),
            "files_with_several_statements": sum(f.statements > 1 for f in self.files),
            "files_with_anti_patterns": sum(bool(f.anti_patterns) for f in self.files),
            "by_kind": {
                k: sum(f.kind == k for f in self.files) for k in ("tpch", "tpcds", "pack", "model")
            },
            "by_anti_pattern": {
                a: sum(a in f.anti_patterns for f in self.files) for a in ANTI_PATTERNS
            },
        }


def generate(folder: Path, files: int = 1000, seed: int = 1) -> Corpus:
    """Write ``files`` SQL files and ``manifest.json`` into ``folder``.

    A folder that already holds a corpus (it has a manifest) is emptied of that
    corpus's files first.

    Raises:
        FileExistsError: ``folder`` holds files and no manifest (not a corpus folder).
    """
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / MANIFEST
    if manifest.exists():
        for old in json.loads(manifest.read_text())["files"]:
            (folder / old["name"]).unlink(missing_ok=True)
        manifest.unlink()
    elif any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty and holds no {MANIFEST}: not a corpus folder")
    corpus = Corpus(folder, seed, [])
    for index in range(files):
        text, entry = render(seed, index)
        (folder / entry.name).write_text(text)
        corpus.files.append(entry)
    manifest.write_text(
        json.dumps(
            {"seed": seed, "totals": corpus.totals(), "files": [asdict(f) for f in corpus.files]},
            indent=1,
        )
        + "\n"
    )
    return corpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="folder to write the files into")
    parser.add_argument("--files", type=int, default=1000, help="number of files (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args(argv)
    try:
        corpus = generate(args.out_dir, args.files, args.seed)
    except FileExistsError as error:
        print(error, file=sys.stderr)
        return 2
    print(json.dumps(corpus.totals(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
