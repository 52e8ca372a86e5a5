"""Golden Spark SQL: what one representative check of each kind runs on the Spark engine.

For each kind, ``golden_spark/<kind>.sql`` holds every statement the evaluator would send
to Spark for that check: the shared aggregate scan, the check's own queries, and for a
row-level check the samples query and the per-row failures select (the dead-letter
path). The files are compiled here without a SparkSession (fast, in ``make test``) and
each one is parsed back with sqlglot's ``spark`` dialect, which must give the same text:
the SQL is Spark SQL sqlglot reads as it wrote it. ``pytest --engine spark tests/checks``
runs the same trees on a real session.

Regenerate after a deliberate change with ``LAKEGATE_UPDATE_GOLDEN=1 pytest
tests/checks/test_golden_spark.py`` and review the diff.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from lakegate.checks import model as m
from lakegate.checks.compile import Scope
from lakegate.checks.conform import conform_types, declared_types
from lakegate.checks.evaluate import (
    aggregate_select,
    compile_all,
    row_failures_select,
    samples_select,
)

GOLDEN = Path(__file__).parent / "golden_spark"
UPDATE = os.environ.get("LAKEGATE_UPDATE_GOLDEN") == "1"
SEPARATOR = ";\n\n"


def _spark(type_text: str) -> exp.DataType:
    return exp.DataType.build(type_text, dialect="spark")


# A dataset as the Spark engine describes it (engine.columns): names that need quoting,
# and ``alt`` held as text although the checks declare it an integer (it is conformed).
COLUMNS = {
    "id": _spark("BIGINT"),
    "first name": _spark("STRING"),
    "alt": _spark("STRING"),
    "amount": _spark("DECIMAL(10,2)"),
    "created at": _spark("TIMESTAMP"),
    "select": _spark("DATE"),
}
PARENT = {"customer id": _spark("BIGINT"), "amount": _spark("DECIMAL(12,2)")}
INTEGER = m.ColumnType(m.LogicalType.INTEGER)

CASES: dict[str, m.Check] = {
    "not_null": m.NotNull(id="id.not_null", column="id"),
    "type": m.TypeCheck(id="alt.type", column="alt", type=INTEGER),
    "accepted_values": m.AcceptedValues(
        id="name.accepted_values", column="first name", values=("a", "O'Brien")
    ),
    "range": m.Range(id="alt.range", column="alt", min=-1000, max=10000, strict_max=True),
    "regex": m.Regex(id="name.regex", column="first name", pattern=r"^\w+$"),
    "length": m.Length(id="name.length", column="first name", min=1, max=40),
    "expression": m.Expression(id="positive", expression="amount > 0 OR `alt` IS NULL"),
    "unique": m.Unique(id="id.unique", column="id"),
    "unique_combination": m.UniqueCombination(id="pair", keys=("id", "first name")),
    "relationships": m.Relationships(
        id="id.relationships", column="id", to="customers", field="customer id"
    ),
    "row_count": m.RowCount(id="rows", min=1, max=1000),
    "null_rate": m.NullRate(id="name.null_rate", column="first name", max_rate=0.1),
    "freshness": m.Freshness(id="fresh", column="created at", max_age_seconds=3600),
    "distribution": m.Distribution(
        id="amount.distribution", column="amount", mean_max=100, stddev_max=50, max_share=0.5
    ),
    "custom_sql": m.CustomSql(id="custom", sql="SELECT * FROM dataset WHERE amount < 0"),
    "volume_anomaly": m.VolumeAnomaly(id="volume"),
    "reconciliation": m.Reconciliation(
        id="amount.reconciliation",
        to="customers",
        measure="sum",
        column="amount",
        where="`select` >= DATE '2024-01-01'",
    ),
}


def _scope(check: m.Check) -> Scope:
    return Scope(
        table="dataset",
        columns=COLUMNS,
        refs={"customers": "customer table"},
        now=dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC),
        dialect="spark",
        ref_columns={"customer table": PARENT},
        history=(100, 110, 90),
        conform=conform_types(declared_types([check], {"alt": INTEGER}), COLUMNS),
    )


def spark_statements(check: m.Check) -> list[str]:
    """Every statement the evaluator sends to Spark for ``check`` alone, each headed by
    a comment naming it, pretty-printed in Spark SQL."""
    scope = _scope(check)
    compiled = compile_all([check], scope)
    parts: list[tuple[str, exp.Expr]] = [
        ("the aggregate scan", aggregate_select(compiled, scope)[0])
    ]
    parts += [(f"query {name}", q) for c in compiled for name, q in c.queries.items()]
    if compiled[0].failure is not None:
        parts.append(("samples of a failing check", samples_select(compiled, scope)))
        parts.append(("rows and the checks they fail", row_failures_select(compiled, scope)))
    return [f"-- {what}\n{tree.sql(dialect='spark', pretty=True)}" for what, tree in parts]


def test_every_kind_has_a_case():
    assert set(CASES) == set(m.CHECK_KINDS)
    assert {type(c).kind for c in CASES.values()} == set(m.CHECK_KINDS)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_golden_spark_sql(kind: str) -> None:
    path = GOLDEN / f"{kind}.sql"
    text = SEPARATOR.join(spark_statements(CASES[kind])) + ";\n"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"regenerate: LAKEGATE_UPDATE_GOLDEN=1 ({path})"
    )


@pytest.mark.parametrize("kind", sorted(CASES))
def test_golden_file_is_spark_sql_sqlglot_reads_back(kind: str) -> None:
    """The file parses with the spark dialect (an error raises), and each statement
    writes back to the same text: no construct is lost or rewritten on the way."""
    text = (GOLDEN / f"{kind}.sql").read_text(encoding="utf-8")
    statements = text.removesuffix(";\n").split(SEPARATOR)
    parsed = sqlglot.parse(text, read="spark", error_level=sqlglot.ErrorLevel.RAISE)
    assert len(parsed) == len(statements)
    for statement, tree in zip(statements, parsed, strict=True):
        assert tree is not None and tree.find(exp.Anonymous) is None
        body = statement.split("\n", 1)[1]  # after the comment line naming it
        assert sqlglot.parse_one(body, read="spark").sql(dialect="spark", pretty=True) == body
