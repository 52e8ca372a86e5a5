"""Measurements of lake tables that no metadata holds, taken with DuckDB over the
snapshot's Parquet files: distinct counts, nulls, the most frequent value, and row
counts per date truncation.

The files are read as plain Parquet (partition values from the Hive-style paths), so
tables whose features need the Delta protocol to read (deletion vectors, column
mapping) are measured approximately; delta-rs writes neither. Queries are sqlglot
expressions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
from sqlglot import exp

from lakegate.analyze.catalog import ColumnProfile, LakeTable
from lakegate.engines.duckdb import DuckDBEngine
from lakegate.errors import InputDataError

VIEW = "t"


@contextmanager
def table_view(table: LakeTable) -> Iterator[DuckDBEngine]:
    """A DuckDB engine with the table's snapshot as the view ``t`` (read as often as
    needed; closed on exit).

    Raises:
        InputDataError: The files cannot be read.
    """
    engine = DuckDBEngine()
    try:
        files = [f.uri for f in table.files]
        if files:
            relation = engine.connection.read_parquet(
                files, hive_partitioning=bool(table.partition_columns), union_by_name=True
            )
        else:
            relation = engine.connection.sql("SELECT 1 AS empty WHERE false")
        relation.create_view(VIEW)
        yield engine
    except duckdb.Error as exc:
        raise InputDataError(f"table {table.name!r}: cannot read its files: {exc}") from None
    finally:
        engine.close()


def measure_columns(table: LakeTable, columns: Sequence[str]) -> dict[str, ColumnProfile]:
    """Distinct values (HyperLogLog, approximate), nulls and the most frequent value of
    ``columns``: one scan for the counts, one ``GROUP BY`` per column for its top
    value. Partition columns are counted exactly from the log's partition values.

    Raises:
        InputDataError: The files cannot be read.
    """
    out: dict[str, ColumnProfile] = {}
    rows = table.rows
    measured = [c for c in columns if c not in table.partition_columns]
    if measured or rows is None:
        with table_view(table) as engine:
            selects: list[exp.Expr] = [exp.Count(this=exp.Star()).as_("n")]
            for i, name in enumerate(measured):
                col = exp.column(name, quoted=True)
                selects.append(exp.func("approx_count_distinct", col).as_(f"d{i}"))
                selects.append(
                    exp.CountIf(this=exp.Is(this=col, expression=exp.null())).as_(f"z{i}")
                )
            first = engine.query(exp.select(*selects).from_(VIEW))[0]
            rows = int(first[0])
            for i, name in enumerate(measured):
                top_value, top_rows = _top_value(engine, name)
                out[name] = ColumnProfile(
                    name=name,
                    distinct=int(first[1 + 2 * i]),
                    nulls=int(first[2 + 2 * i]),
                    top_value=top_value,
                    top_rows=top_rows,
                    rows=rows,
                )
    partition_values = table.partitions()
    for name in columns:
        if name not in table.partition_columns:
            continue
        position = table.partition_columns.index(name)
        counts: dict[Any, int] = {}
        for key, files in partition_values.items():
            counts[key[position]] = counts.get(key[position], 0) + sum(f.rows or 0 for f in files)
        non_null = {k: v for k, v in counts.items() if k is not None}
        top_key = max(non_null, key=lambda k: non_null[k]) if non_null else None
        out[name] = ColumnProfile(
            name=name,
            distinct=len(non_null),
            nulls=counts.get(None, 0),
            top_value=None if top_key is None else str(top_key),
            top_rows=non_null[top_key] if top_key is not None else 0,
            rows=int(rows or 0),
        )
    return out


def truncation_counts(
    table: LakeTable, wanted: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, int]]:
    """``{(column, unit): (partitions, rows of the largest)}`` for each ``(column, unit)``
    in ``wanted`` (unit: year, month, day, hour), counted exactly with DuckDB
    (``GROUP BY date_trunc(unit, column)``).

    Raises:
        InputDataError: The files cannot be read.
    """
    out: dict[tuple[str, str], tuple[int, int]] = {}
    if not wanted:
        return out
    with table_view(table) as engine:
        for column, unit in wanted:
            value = exp.TimestampTrunc(this=exp.column(column, quoted=True), unit=exp.var(unit))
            groups = (
                exp.select(value.as_("p"), exp.Count(this=exp.Star()).as_("n"))
                .from_(VIEW)
                .group_by(value.copy())
            )
            query = exp.select(exp.Count(this=exp.Star()), exp.Max(this=exp.column("n"))).from_(
                groups.subquery("g")
            )
            partitions, largest = engine.query(query)[0]
            out[(column, unit)] = (int(partitions), int(largest or 0))
    return out


def _top_value(engine: DuckDBEngine, name: str) -> tuple[str | None, int]:
    """The most frequent non-null value of column ``name`` of the view and its rows."""
    col = exp.column(name, quoted=True)
    query = (
        exp.select(exp.cast(col, "VARCHAR").as_("v"), exp.Count(this=exp.Star()).as_("n"))
        .from_(VIEW)
        .where(exp.Not(this=exp.Is(this=col, expression=exp.null())))
        .group_by(col)
        .order_by(exp.Ordered(this=exp.column("n"), desc=True))
        .limit(1)
    )
    found = engine.query(query)
    return (found[0][0], int(found[0][1])) if found else (None, 0)
