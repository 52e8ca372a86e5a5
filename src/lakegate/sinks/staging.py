"""Staging for Delta loads: the batch held in DuckDB, and the SQL trees run over it.

* :class:`Stage` holds a batch that must be read more than once (key checks,
  partition values, SCD2 change detection) in DuckDB, which spills to disk past its
  memory limit, and streams it, or a query over it, to delta-rs as Arrow.
* Partition predicates for delta-rs (merge pruning, partition replacement) are
  sqlglot trees with typed literals, so delta-rs can prune files, rendered with
  double-quoted identifiers and ``''``-escaped strings, which its DataFusion parser reads.
* :class:`Scd2Plan` is type-2 history in one merge. For each key of the batch: no
  current version in the target opens one (a new key); a current version whose
  non-key columns all equal the row's (null-safe) stays; otherwise the current
  version closes (``valid_to`` = effective_at, ``is_current`` false) and the row opens
  a new one (``valid_from`` = effective_at, ``valid_to`` NULL, ``is_current`` true).
  Keys the batch lacks stay current (SCD2 never deletes). The merge source holds each
  changed row twice: once with its key (it matches, and closes the current version)
  and once with a NULL key (it cannot match, and is inserted).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlglot import exp

from lakegate.engines.duckdb import DuckDBEngine
from lakegate.errors import UserInputError
from lakegate.sinks import (
    LoadError,
    LoadSpec,
    Scd2Columns,
    SchemaChangeError,
    merge_key_error,
)

DELTA_DIALECT = "postgres"  # "quoted" identifiers, '' escapes: what DataFusion's parser reads
_INTERNAL = "__lakegate_"  # prefix of the sink's own tables and columns
BATCH = "__lakegate_batch"  # the staged batch, in DuckDB
_BATCH_ROWS = 65_536  # rows per Arrow batch streamed from DuckDB into delta-rs
_INT_RANK = {"byte": 0, "short": 1, "integer": 2, "long": 3}  # delta-rs widens up this order

MATCHED = "__lakegate_matched"  # the row has a current version in the target
LATEST = "__lakegate_valid_from"  # that version's valid_from
OLD = "__lakegate_old_"  # + partition index: that version's partition values
KEY = "__lakegate_key_"  # + key index: the merge key, NULL on the copy that inserts
AT = "__lakegate_at"  # effective_at, on every source row

HISTORY_TYPE = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class StagedBatch:
    """A batch already held by a DuckDB engine, loaded without a second copy.

    Attributes:
        engine: The engine holding it (the runner's: its memory limit and spill folder apply).
        relation: The table or view with the batch, in that engine.
    """

    engine: DuckDBEngine
    relation: str

    @property
    def schema(self) -> pa.Schema:
        """The batch's Arrow schema (a zero-row query)."""
        select = exp.select("*").from_(exp.to_identifier(self.relation, quoted=True)).limit(0)
        return self.engine.connection.sql(select.sql(dialect="duckdb")).to_arrow_table().schema


RowsCallback = Callable[[int], None]


class Stage:
    """The batch held by DuckDB, to be read more than once (spills to disk past memory).

    Args:
        data: An Arrow table (registered, zero-copy), a reader (copied into a DuckDB
            table once), or a :class:`StagedBatch` (used in place: its engine runs
            every query, and nothing is copied).
        on_rows: Called with the running total of batch rows streamed to the writer
            (for progress bars); never with more than the batch holds.
    """

    def __init__(
        self,
        data: pa.Table | pa.RecordBatchReader | StagedBatch,
        on_rows: RowsCallback | None = None,
    ) -> None:
        self.schema: pa.Schema = data.schema
        self._on_rows = on_rows
        self._created: list[tuple[str, str]] = []  # (kind, name) made in a borrowed engine
        if isinstance(data, StagedBatch):
            self.engine = data.engine
            self._owned = False
            source = exp.select("*").from_(exp.to_identifier(data.relation, quoted=True))
            self.engine.connection.sql(source.sql(dialect="duckdb")).create_view(
                BATCH, replace=True
            )
            self._created.append(("VIEW", BATCH))
            return
        self.engine = DuckDBEngine()
        self._owned = True
        con = self.engine.connection
        if isinstance(data, pa.Table):
            con.register(BATCH, data)  # zero-copy, scannable again
        else:
            con.from_arrow(data).create(BATCH)

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owned:
            self.engine.close()
            return
        for kind, name in reversed(self._created):  # leave the borrowed engine as it was
            table = exp.Table(this=exp.to_identifier(name, quoted=True))
            self.engine.execute(exp.Drop(tables=[table], kind=kind, exists=True))

    def register(self, name: str, dataset: Any) -> None:
        """Make ``dataset`` (a lakegate Dataset) queryable as the view ``name``."""
        self.engine.register(name, dataset)
        self._created.append(("VIEW", name))

    def query(self, select: exp.Expr) -> list[tuple[Any, ...]]:
        """All rows of ``select`` (DuckDB dialect) over the stage.

        Raises:
            EngineError: DuckDB failed.
        """
        return self.engine.query(select)

    def create(self, name: str, select: exp.Expr) -> None:
        """Materialise ``select`` as the DuckDB table ``name`` (dropped with the stage)."""
        self.engine.connection.sql(select.sql(dialect="duckdb")).create(name)
        self._created.append(("TABLE", name))

    def count(self) -> int:
        """Rows in the batch."""
        return int(self.query(exp.select(exp.Count(this=exp.Star())).from_(BATCH))[0][0])

    def reader(
        self,
        select: exp.Expr | None = None,
        schema: pa.Schema | None = None,
        *,
        counted: bool | None = None,
    ) -> Any:
        """Stream ``select`` (default: the batch) as Arrow, cast to ``schema`` (default: the
        batch's). ``counted`` (default: when ``select`` is the batch) reports its rows to
        the stage's ``on_rows``."""
        counted = (select is None if counted is None else counted) and self._on_rows is not None
        select = select if select is not None else exp.select("*").from_(BATCH)
        relation = self.engine.connection.sql(select.sql(dialect="duckdb"))
        to_reader = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader
        reader = to_reader(_BATCH_ROWS).cast(schema if schema is not None else self.schema)
        return counting(reader, self._on_rows) if counted and self._on_rows else reader

    def check_keys(self, keys: tuple[str, ...]) -> None:
        """Raise when a merge key repeats or is NULL in the batch (one scan)."""
        columns = [col(k) for k in keys]
        count = exp.Count(this=exp.Star())
        bad = exp.or_(
            exp.GT(this=count, expression=exp.Literal.number(1)),
            *[c.is_(exp.null()) for c in columns],
        )
        rows = self.query(
            exp.select(*columns, count).from_(BATCH).group_by(*columns).having(bad).limit(1)
        )
        if not rows:
            return
        *sample, n = rows[0]
        raise merge_key_error(keys, tuple(sample), n)


def counting(reader: pa.RecordBatchReader, on_rows: RowsCallback) -> pa.RecordBatchReader:
    """``reader``, calling ``on_rows`` with the running row total as batches are read."""

    def batches() -> Any:
        done = 0
        for batch in reader:
            yield batch
            done += batch.num_rows
            on_rows(done)

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


# ---------------------------------------------------------------------- checks


def check_columns(schema: pa.Schema, spec: LoadSpec) -> None:
    """Check the batch's columns against the spec, before anything is read or written.

    Raises:
        LoadError: A column type Delta Lake cannot store (time, duration, interval).
        UserInputError: The spec names columns the batch lacks, or the batch holds the
            SCD2 history columns or names reserved for the sink (``__lakegate_*``).
    """
    unsupported = [
        f"{f.name} ({f.type})"
        for f in schema
        if pa.types.is_time(f.type) or pa.types.is_duration(f.type) or pa.types.is_interval(f.type)
    ]
    if unsupported:
        raise LoadError(
            f"Delta Lake cannot store these column types: {', '.join(unsupported)}; "
            "cast them first (e.g. to string or bigint)"
        )
    names = set(schema.names)
    internal = sorted(n for n in names if n.startswith(_INTERNAL))
    if internal:
        raise UserInputError(
            f"column names starting with {_INTERNAL} are reserved: {', '.join(internal)}"
        )
    for what, columns in (("merge_keys", spec.merge_keys), ("partition_by", spec.partition_by)):
        lacking = [c for c in columns if c not in names]
        if lacking:
            raise UserInputError(f"{what} names columns the batch lacks: {', '.join(lacking)}")
    clash = [c for c in spec.scd2.names() if c in names] if spec.strategy == "scd2" else []
    if clash:
        raise UserInputError(
            f"the batch holds the scd2 history columns {', '.join(clash)}; the sink maintains them"
        )


def check_schema(
    uri: str,
    table: pa.Schema,
    partitions: tuple[str, ...],
    batch: pa.Schema,
    spec: LoadSpec,
) -> bool:
    """Compare the batch with the table (its columns and partitioning, by Delta type).

    Args:
        uri: The table, for messages.
        table: The table's columns (without SCD2 history columns for ``scd2``).
        partitions: The table's partition columns.
        batch: The batch's schema.
        spec: The load; ``allow_schema_change`` decides what may differ.

    Returns:
        True when the batch differs and the spec allows it (the write must evolve the
        schema), False when it matches.

    Raises:
        SchemaChangeError: Columns, types or partitioning differ and the spec does not
            allow it (``scd2`` never does; only ``overwrite`` may repartition).
    """
    allowed = spec.allow_schema_change and spec.strategy != "scd2"
    repartition = bool(spec.partition_by) and spec.partition_by != partitions
    if repartition and not (allowed and spec.strategy == "overwrite"):
        raise SchemaChangeError(
            f"{uri}: the table is partitioned by ({', '.join(partitions)}) but the load asks "
            f"for ({', '.join(spec.partition_by)}); only an overwrite with allow_schema_change "
            "can repartition it"
        )
    missing = tuple(n for n in table.names if n not in batch.names)
    added = tuple(n for n in batch.names if n not in table.names)
    changed = {}
    for name in set(table.names) & set(batch.names):
        want, got = _delta_kind(table.field(name).type), _delta_kind(batch.field(name).type)
        if not _fits(got, want):
            changed[name] = (want, got)
    if not (missing or added or changed) or allowed:
        return repartition or bool(missing or added or changed)
    lacks_only = not added and not changed and set(missing) <= set(spec.allow_missing_columns)
    if lacks_only and spec.strategy != "scd2":
        return True  # evolve: the batch lacks only columns it may lack
    details = [
        f"missing columns: {', '.join(missing)}" if missing else "",
        f"new columns: {', '.join(added)}" if added else "",
        "changed types: " + ", ".join(f"{c} ({a} -> {b})" for c, (a, b) in sorted(changed.items()))
        if changed
        else "",
    ]
    if spec.strategy == "scd2":
        hint = "scd2 tables keep their schema"
    elif spec.strategy == "overwrite":
        hint = "set allow_schema_change to replace the schema"
    else:
        hint = "set allow_schema_change to add new columns; missing ones then read as NULL"
    raise SchemaChangeError(
        f"{uri}: the batch does not match the table's schema: "
        f"{'; '.join(d for d in details if d)} ({hint})",
        missing=missing,
        added=added,
        changed=changed,
    )


def _fits(got: str, want: str) -> bool:
    """True when delta-rs writes a ``got`` column into a ``want`` column without loss."""
    if got in (want, "null"):
        return True
    if got in _INT_RANK and want in _INT_RANK:
        return _INT_RANK[got] <= _INT_RANK[want]
    return (got, want) == ("float", "double")


def _delta_kind(t: pa.DataType) -> str:
    """The Delta type an Arrow type is written as (delta-rs maps unsigned to signed)."""
    if pa.types.is_dictionary(t):
        return _delta_kind(t.value_type)
    if pa.types.is_integer(t):
        return {8: "byte", 16: "short", 32: "integer", 64: "long"}[t.bit_width]
    if pa.types.is_floating(t):
        return "double" if t.bit_width == 64 else "float"
    if pa.types.is_timestamp(t):
        return "timestamp" if t.tz else "timestamp_ntz"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return f"array<{_delta_kind(t.value_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ",".join(f"{f.name}:{_delta_kind(f.type)}" for f in t) + ">"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "binary"
    if pa.types.is_date(t):
        return "date"
    return {pa.bool_(): "boolean", pa.null(): "null"}.get(t, str(t))


# ---------------------------------------------------------------------- predicates


def col(name: str, table: str | None = None) -> exp.Column:
    """A quoted column reference, ``"table"."name"``."""
    return exp.column(name, table=table, quoted=True)


def delta_sql(expression: exp.Expr) -> str:
    """``expression`` as SQL that delta-rs's predicate and merge-expression parser reads."""
    return expression.sql(dialect=DELTA_DIALECT)


def delta_name(column: str) -> str:
    """A quoted column name for delta-rs's merge ``updates`` mappings."""
    return exp.to_identifier(column, quoted=True).sql(dialect=DELTA_DIALECT)


def literal(value: Any) -> exp.Expr:
    """A SQL literal for a partition value, of the column's type so delta-rs can prune files.

    Raises:
        LoadError: A value no partition predicate can hold (NaN, bytes, ...).
    """
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, float) and not math.isfinite(value):
        raise LoadError(f"cannot select a partition by the float value {value!r}")
    if isinstance(value, int | float | decimal.Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, dt.datetime):
        # A bare string, coerced to the column's type: a CAST gives nanoseconds, which
        # delta-rs's file skipping cannot compare with a microsecond column (it fails).
        at = value if value.tzinfo is None else value.astimezone(dt.UTC)
        return exp.Literal.string(at.isoformat(sep=" "))
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    raise LoadError(f"cannot select a partition by a {type(value).__name__} value")


def _equals(column: exp.Column, value: Any) -> exp.Expr:
    if value is None:
        return column.is_(exp.null())
    return exp.EQ(this=column, expression=literal(value))


def in_list(column: exp.Column, values: Sequence[Any]) -> exp.Expr:
    """``column IN (values)``, with ``OR column IS NULL`` when None is among them."""
    present = [v for v in values if v is not None]
    terms: list[exp.Expr] = [column.isin(*[literal(v) for v in present])] if present else []
    if len(present) < len(values):
        terms.append(column.is_(exp.null()))
    return exp.or_(*terms) if len(terms) > 1 else terms[0]


def partitions_predicate(parts: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> exp.Expr:
    """Exactly the partitions ``rows`` (value tuples of ``parts``): an IN list or an OR of ANDs."""
    if len(parts) == 1:
        return in_list(col(parts[0]), [row[0] for row in rows])
    return exp.or_(
        *[exp.and_(*[_equals(col(p), v) for p, v in zip(parts, row, strict=True)]) for row in rows]
    )


# ---------------------------------------------------------------------- SCD2


def history_schema(batch: pa.Schema, columns: Scd2Columns) -> pa.Schema:
    """The schema of a new SCD2 table: the batch's columns, then the history columns."""
    return pa.schema(
        [
            *batch,
            pa.field(columns.valid_from, HISTORY_TYPE),
            pa.field(columns.valid_to, HISTORY_TYPE),
            pa.field(columns.is_current, pa.bool_()),
        ]
    )


@dataclass(frozen=True)
class Scd2Plan:
    """The queries of one SCD2 load.

    Attributes:
        names: The batch's columns, in order.
        keys: Merge key columns.
        partitions: The target's partition columns.
        columns: The history column names.
        at: effective_at, timezone-aware.
    """

    names: tuple[str, ...]
    keys: tuple[str, ...]
    partitions: tuple[str, ...]
    columns: Scd2Columns
    at: dt.datetime

    def changes(self, batch: str, target: str) -> exp.Select:
        """Batch rows that open a version (new or changed keys), with their current version's
        partition values and valid_from (NULL for new keys); ``MATCHED`` marks changed keys."""
        current = (
            exp.select("*")
            .from_(exp.to_table(target, quoted=True))
            .where(exp.EQ(this=col(self.columns.is_current), expression=exp.true()))
        )
        on = exp.and_(*[exp.EQ(this=col(k, "b"), expression=col(k, "c")) for k in self.keys])
        same = [
            exp.NullSafeEQ(this=col(n, "b"), expression=col(n, "c"))
            for n in self.names
            if n not in self.keys
        ]
        found = exp.Not(this=col(self.keys[0], "c").is_(exp.null()))
        differs = exp.Not(this=exp.paren(exp.and_(*same))) if same else exp.false()
        return (
            exp.select(
                exp.Column(this=exp.Star(), table=exp.to_identifier("b")),
                found.as_(MATCHED, quoted=True),
                col(self.columns.valid_from, "c").as_(LATEST, quoted=True),
                *[col(p, "c").as_(f"{OLD}{i}", quoted=True) for i, p in enumerate(self.partitions)],
            )
            .from_(exp.to_table(batch, quoted=True).as_("b"))
            .join(current.subquery("c"), on=on, join_type="left")
            .where(exp.or_(exp.Not(this=found), differs))
        )

    def summary(self, changes: str) -> exp.Select:
        """``(matched, rows, latest valid_from)`` per kind: changed keys and new keys."""
        matched = col(MATCHED)
        return (
            exp.select(matched, exp.Count(this=exp.Star()), exp.Max(this=col(LATEST)))
            .from_(exp.to_table(changes, quoted=True))
            .group_by(matched)
        )

    def old_partition_values(self, changes: str, index: int) -> exp.Select:
        """The distinct values of partition ``index`` among the versions to close."""
        return (
            exp.select(col(f"{OLD}{index}"))
            .distinct()
            .from_(exp.to_table(changes, quoted=True))
            .where(col(MATCHED))
        )

    def versions(self, source: str, order: tuple[str, ...]) -> exp.Select:
        """Each row of ``source`` as a new current version, columns in ``order``."""
        values = {
            self.columns.valid_from: self._at(),
            self.columns.valid_to: exp.cast(exp.null(), "TIMESTAMPTZ"),
            self.columns.is_current: exp.true(),
        }
        return exp.select(
            *[values[n].as_(n, quoted=True) if n in values else col(n) for n in order]
        ).from_(exp.to_table(source, quoted=True))

    def merge_source(self, changes: str) -> exp.Expr:
        """Each row of ``changes`` with a NULL key (it inserts), plus each changed row
        with its key (it closes the current version)."""
        at = self._at()
        table = exp.to_table(changes, quoted=True)

        def copy(key_of: bool) -> exp.Select:
            keys = [
                (col(k) if key_of else exp.null()).as_(f"{KEY}{i}", quoted=True)
                for i, k in enumerate(self.keys)
            ]
            select = exp.select(*[col(n) for n in self.names], *keys, at.as_(AT, quoted=True))
            return select.from_(table).where(col(MATCHED)) if key_of else select.from_(table)

        return exp.union(copy(True), copy(False), distinct=False)

    def merge_source_schema(self, batch: pa.Schema) -> pa.Schema:
        """The Arrow schema of :meth:`merge_source` (the batch's types, restored)."""
        return pa.schema(
            [
                *[batch.field(n) for n in self.names],
                *[pa.field(f"{KEY}{i}", batch.field(k).type) for i, k in enumerate(self.keys)],
                pa.field(AT, HISTORY_TYPE),
            ]
        )

    def _at(self) -> exp.Expr:
        return exp.cast(exp.Literal.string(self.at.isoformat(sep=" ")), "TIMESTAMPTZ")

    def merge_predicate(self, prune: list[exp.Expr]) -> exp.Expr:
        """Source copies with a key match the target's current version of that key."""
        return exp.and_(
            *[
                exp.EQ(this=col(k, "target"), expression=col(f"{KEY}{i}", "source"))
                for i, k in enumerate(self.keys)
            ],
            exp.EQ(this=col(self.columns.is_current, "target"), expression=exp.true()),
            *prune,
        )

    def close(self) -> dict[str, exp.Expr]:
        """The update that closes a matched current version."""
        return {
            self.columns.valid_to: col(AT, "source"),
            self.columns.is_current: exp.false(),
        }

    def open(self) -> tuple[dict[str, exp.Expr], exp.Expr]:
        """The insert that opens a new current version, and its condition (a NULL key copy)."""
        values: dict[str, exp.Expr] = {n: col(n, "source") for n in self.names}
        values[self.columns.valid_from] = col(AT, "source")
        values[self.columns.valid_to] = exp.null()
        values[self.columns.is_current] = exp.true()
        return values, col(f"{KEY}0", "source").is_(exp.null())
