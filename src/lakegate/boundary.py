"""The boundary of an incremental read: rows that share the watermark's value.

An incremental read takes ``key >= watermark``, not ``key > watermark``: with a
whole-second ``DATETIME`` (or an hourly ``time_hour``) many rows share one value, and
rows committed after a run but stamped with the watermark's value would otherwise never
be read, on that run or any later one. Reading the value again re-reads the rows already
loaded at it (the *boundary rows*); they are recognised and dropped before the gate, and
counted as deduplicated, so ``rows_extracted = rows_loaded + rows_rejected +
rows_deduplicated`` holds and nothing is loaded twice. This is dlt's incremental
boundary deduplication (``dlt.sources.incremental``), whose state keeps the hashes of
the rows at the last value.

A boundary row is recognised by its record, not by a merge key: the MD5 of the row's
JSON over the extract's columns (:func:`row_hash`). A row changed at the source without
its key moving (an update within the same second) hashes differently and is loaded, as a
merge needs; identical rows keep one hash each, so an append loads a second identical
event once. The hashes of a run's rows at its new watermark's value are stored with the
watermark (:class:`~lakegate.state.records.Boundary`), in the Delta commit of the data
and in the state store, so they advance together with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from typing import Any

from sqlglot import exp

from lakegate.engines.base import Engine
from lakegate.sources.extract import literal
from lakegate.state.records import Boundary

HASH = "__lakegate_row_hash"
_STORED = "__lakegate_boundary"


def row_hash(columns: Sequence[str], present: Collection[str]) -> exp.Expr:
    """The hash of a row: ``md5(to_json({column: value, ...}))`` as 32 hex characters.

    Args:
        columns: The columns hashed, in this order (a stored boundary's columns, or the
            extract's).
        present: The columns the table has; one of ``columns`` it lacks counts as null
            (a column removed at the source since the boundary was stored).
    """
    struct = exp.Struct(
        expressions=[
            exp.PropertyEQ(
                this=exp.to_identifier(c, quoted=True),
                expression=exp.column(c, quoted=True) if c in present else exp.null(),
            )
            for c in columns
        ]
    )
    text = exp.cast(exp.JSONFormat(this=struct), exp.DataType.build("TEXT"))
    return exp.MD5(this=text)


def boundary_after(
    engine: Engine,
    table: str,
    key: str,
    value: Any,
    stored: Boundary | None,
    *,
    same_value: bool,
) -> Boundary | None:
    """The boundary to store with the watermark ``value`` after reading ``table``.

    Args:
        engine: The run's engine.
        table: The extract, before :func:`drop_loaded` (it holds the re-read rows).
        key: The incremental key column.
        value: The new watermark (the newest key value read, or the old watermark).
        stored: The boundary stored with the old watermark, or None.
        same_value: Whether ``value`` is the old watermark (nothing newer was read).

    Returns:
        The hashes of the rows at ``value`` (``key >= value``: a key finer than the
        watermark's type, e.g. nanoseconds, stays inside). When the value did not move,
        merged with ``stored``: each hash as many times as the most copies either saw,
        so rows deleted at the source since stay known. None when ``value`` is None.

    Raises:
        EngineError: The engine failed to run the query.
    """
    if value is None:
        return None
    columns = list(engine.columns(table))
    at = exp.GTE(this=exp.column(key, quoted=True), expression=literal(value))
    rows = engine.query(exp.select(row_hash(columns, columns)).from_(_t(table)).where(at))
    counts = Counter(str(h) for (h,) in rows)
    if same_value and stored is not None and list(stored.columns) == columns:
        for h, n in Counter(stored.hashes).items():
            counts[h] = max(counts[h], n)
    return Boundary(tuple(columns), tuple(sorted(counts.elements())))


def drop_loaded(engine: Engine, table: str, stored: Boundary) -> int:
    """Remove from ``table`` the rows of ``stored`` read again; returns how many.

    Each stored hash removes at most as many rows as it was stored (identical rows
    loaded once are dropped once; a further identical row is new). ``table`` is
    replaced by a temporary table of the rows kept, same columns and order.

    Raises:
        EngineError: The engine failed to run the statements.
    """
    if not stored.hashes:
        return 0
    import pyarrow as pa

    counts = Counter(stored.hashes)
    engine.register(
        _STORED,
        _arrow(pa.table({"h": list(counts), "n": pa.array(list(counts.values()), pa.int64())})),
    )
    columns = list(engine.columns(table))
    before = _count(engine, table)
    by_hash = exp.column(HASH, quoted=True)
    numbered = exp.Window(  # Spark wants an order; within one hash every row is the same
        this=exp.RowNumber(),
        partition_by=[by_hash],
        order=exp.Order(expressions=[exp.Ordered(this=by_hash.copy())]),
    )
    hashed = (
        exp.select(
            *[exp.column(c, quoted=True) for c in columns],
            row_hash(stored.columns, columns).as_(HASH, quoted=True),
        )
        .from_(_t(table))
        .subquery("e")
    )
    loaded = exp.Coalesce(
        this=exp.column("n", "s", quoted=True), expressions=[exp.Literal.number(0)]
    )
    # The k-th copy of a stored hash is kept when more than k copies were loaded before:
    # numbered and compared in two steps (no QUALIFY, which Spark lacks).
    numbered_rows = (
        exp.select(
            *[exp.column(c, "e", quoted=True) for c in columns],
            numbered.as_("__k", quoted=True),
            loaded.as_("__loaded", quoted=True),
        )
        .from_(hashed)
        .join(
            _t(_STORED).as_("s"),
            on=exp.EQ(
                this=exp.column("h", "s", quoted=True),
                expression=exp.column(HASH, "e", quoted=True),
            ),
            join_type="left",
        )
        .subquery("k")
    )
    kept = (
        exp.select(*[exp.column(c, "k", quoted=True) for c in columns])
        .from_(numbered_rows)
        .where(
            exp.GT(
                this=exp.column("__k", "k", quoted=True),
                expression=exp.column("__loaded", "k", quoted=True),
            )
        )
    )
    staged = f"{table}__kept"
    engine.execute(exp.Drop(tables=[_t(staged)], kind="TABLE", exists=True))
    engine.execute(
        exp.Create(
            this=_t(staged),
            kind="TABLE",
            expression=kept,
            properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
        )
    )
    engine.execute(exp.Drop(tables=[_t(table)], kind="TABLE", exists=True))
    engine.execute(
        exp.Alter(this=_t(staged), kind="TABLE", actions=[exp.AlterRename(this=_t(table))])
    )
    return before - _count(engine, table)


def _arrow(table: Any) -> Any:
    from lakegate.sources.files import ArrowDataset

    return ArrowDataset(table, "watermark boundary")


def _count(engine: Engine, table: str) -> int:
    return int(engine.query(exp.select(exp.Count(this=exp.Star())).from_(_t(table)))[0][0])


def _t(name: str) -> exp.Table:
    return exp.Table(this=exp.to_identifier(name, quoted=True))
