"""Refusal messages of lakegate.engines.portability (no Spark: the corpus that proves the
rules runs both engines in tests/spark/test_portability.py)."""

from __future__ import annotations

import pytest
import sqlglot

from lakegate.engines.portability import refuse_unportable, unportable
from lakegate.errors import UserInputError

WHERE = "stage 'orders' (stages/orders.sql)"


def _tree(sql: str) -> sqlglot.exp.Expr:
    return sqlglot.parse_one(sql, read="duckdb")


@pytest.mark.parametrize(
    ("sql", "construct", "reason", "instead"),
    [
        (
            "SELECT regexp_replace(s, 'a', 'b') FROM extract",
            "regexp_replace without 'g'",
            "DuckDB's regexp_replace replaces the first match unless the 'g' option is given; "
            "Spark's replaces every match",
            "regexp_replace(s, pattern, replacement, 'g')",
        ),
        ("SELECT hash(id) FROM extract", "hash()", "32-bit Murmur3", "md5(CAST(x AS VARCHAR))"),
        (
            "SELECT extract(dow FROM d) FROM extract",
            "extract(dow FROM ...)",
            "0 (Sunday) to 6; Spark 1 (Sunday) to 7",
            "DATE '1970-01-04'",
        ),
        ("SELECT * REPLACE (a + 1 AS a) FROM extract", "* REPLACE", "no SELECT * REPLACE", "AS"),
        ("SELECT 1 AS a UNION BY NAME SELECT 2 AS a", "UNION BY NAME", "by position", "order"),
        ("SELECT COLUMNS('a.*') FROM extract", "COLUMNS(...)", "no COLUMNS()", "name"),
        ("SELECT epoch_ms(ts) FROM extract", "epoch_ms", "timestamp_millis", "BIGINT"),
        (
            "SELECT time_bucket(INTERVAL 1 HOUR, ts) FROM extract",
            "time_bucket",
            "date_bin",
            "date_trunc",
        ),
        ("SELECT log(x) FROM extract", "log(x)", "base 10", "log10(x) or ln(x)"),
        ("SELECT CAST(2.5 AS INTEGER)", "cast of a fraction", "truncates", "round(x)"),
        ("SELECT 1.0 / 3", "/ of a DECIMAL", "0.333333", "CAST(a AS DOUBLE)"),
        ("SELECT date_diff('month', a, b) FROM extract", "date_diff('month'", "boundaries", "12 *"),
        ("SELECT list(x) FROM extract", "list/array_agg", "drops them", "FILTER"),
    ],
)
def test_the_message_names_the_construct_why_and_what_to_write(
    sql: str, construct: str, reason: str, instead: str
) -> None:
    with pytest.raises(UserInputError) as info:
        refuse_unportable(_tree(sql), "spark", where=WHERE)
    message = str(info.value)
    assert message.startswith(f"{WHERE}: 1 construct(s) would not run the same on spark")
    assert construct in message
    assert reason in message
    assert "write instead: " in message and instead in message


def test_every_construct_is_listed_once_in_tree_order() -> None:
    tree = _tree("SELECT hash(a), regexp_replace(b, 'x', 'y'), log(c) FROM extract")
    found = unportable(tree, "spark")
    assert [u.construct for u in found] == ["hash()", "regexp_replace without 'g'", "log(x)"]
    assert found[0].sql == "HASH(a)"
    with pytest.raises(UserInputError, match="3 construct"):
        refuse_unportable(tree, "spark", where=WHERE)


def test_a_construct_without_a_portable_spelling_says_only_why() -> None:
    (found,) = unportable(_tree("SELECT epoch(ts) FROM extract"), "spark")
    assert found.instead is None
    assert "write instead" not in found.render()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT regexp_replace(s, 'a', 'b', 'g'), lower(s), s ILIKE 'a%' FROM extract",
        "SELECT x FROM extract QUALIFY row_number() OVER (ORDER BY x) = 1",
        "SELECT CAST(round(2.5) AS INTEGER), 7 / 2, 7 // 2, epoch_ms(CAST(m AS BIGINT))",
        "SELECT date_diff('day', CAST(a AS DATE), CAST(b AS DATE)) FROM extract",
        "SELECT CAST(date_trunc('month', DATE '2024-05-17') AS DATE)",
        "SELECT list(x) FILTER (WHERE x IS NOT NULL), list_sort(list_distinct(y)) FROM extract",
        "SELECT date_part('year', d), extract(month FROM d), printf('%s', s) FROM extract",
    ],
)
def test_portable_sql_passes(sql: str) -> None:
    tree = _tree(sql)
    assert unportable(tree, "spark") == []
    refuse_unportable(tree, "spark", where=WHERE)


def test_duckdb_runs_its_own_sql_and_an_unknown_engine_is_an_error() -> None:
    tree = _tree("SELECT hash(a) FROM extract")
    assert unportable(tree, "duckdb") == []
    with pytest.raises(UserInputError, match="no portability rules for engine 'trino'"):
        unportable(tree, "trino")


def test_the_tree_is_not_changed() -> None:
    tree = _tree("SELECT hash(a), DATE '2024-01-01' - DATE '2023-01-01' FROM extract")
    before = tree.sql(dialect="duckdb")
    unportable(tree, "spark")
    assert tree.sql(dialect="duckdb") == before
