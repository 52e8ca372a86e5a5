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
canonical JSON over the extract's columns (:func:`row_hash`, computed from the Python
values, so the same on every engine). A row changed at the source without
its key moving (an update within the same second) hashes differently and is loaded, as a
merge needs; identical rows keep one hash each, so an append loads a second identical
event once. The hashes of a run's rows at its new watermark's value are stored with the
watermark (:class:`~lakegate.state.records.Boundary`), in the Delta commit of the data
and in the state store, so they advance together with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlglot import exp

from lakegate.engines.base import Engine
from lakegate.sources.extract import literal
from lakegate.state.records import Boundary

_STORED = "__lakegate_boundary"


def row_hash(row: Mapping[str, Any], columns: Sequence[str]) -> str:
    """The hash of a row: the MD5 of its canonical JSON over ``columns``, 32 hex characters.

    Computed here from the row's Python values, not by an engine's ``to_json`` (DuckDB
    and Spark write timestamps and decimals differently): a table loaded on one engine
    continues on the other with the same hashes.

    Args:
        row: ``{column: value}`` as pyarrow's ``to_pylist`` gives it.
        columns: The columns hashed, in this order (a stored boundary's, or the
            extract's); a column the row lacks counts as null (a column removed at the
            source since the boundary was stored).
    """
    text = json.dumps(
        [_canonical(row.get(c)) for c in columns], separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _canonical(value: Any) -> Any:
    """A value as JSON the same way whichever engine read it: timestamps in UTC ISO 8601
    (naive means UTC, lakegate's rule), dates ISO, decimals and floats as their text."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def _at(key: str, value: Any) -> exp.Expr:
    """Rows whose key is the watermark ``value``: equal to it, or for a timestamp within
    its microsecond (a finer key, e.g. nanoseconds, truncated to the stored value)."""
    column = exp.column(key, quoted=True)
    if isinstance(value, dt.datetime):
        return exp.and_(
            exp.GTE(this=column, expression=literal(value)),
            exp.LT(this=column.copy(), expression=literal(value + dt.timedelta(microseconds=1))),
        )
    return exp.EQ(this=column, expression=literal(value))


def _rows_at(engine: Engine, table: str, key: str, value: Any) -> Any:
    """The rows of ``table`` whose key is ``value`` (see :func:`_at`), as a pyarrow Table."""
    query = exp.select(exp.Star()).from_(_t(table)).where(_at(key, value))
    return engine.stream(query).read_all()


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
        The hashes of the rows at ``value`` (:func:`_at`). When the value did not move,
        merged with ``stored``: each hash as many times as the most copies either saw,
        so rows deleted at the source since stay known. None when ``value`` is None.

    Raises:
        EngineError: The engine failed to run the query.
    """
    if value is None:
        return None
    columns = list(engine.columns(table))
    rows = _rows_at(engine, table, key, value).to_pylist()
    counts = Counter(row_hash(r, columns) for r in rows)
    if same_value and stored is not None and list(stored.columns) == columns:
        for h, n in Counter(stored.hashes).items():
            counts[h] = max(counts[h], n)
    return Boundary(tuple(columns), tuple(sorted(counts.elements())))


def drop_loaded(engine: Engine, table: str, stored: Boundary, key: str, value: Any) -> int:
    """Remove from ``table`` the rows of ``stored`` read again; returns how many.

    Only rows at the old watermark ``value`` can be boundary rows: they are read into
    Python (few: the rows sharing one key value), hashed, and each stored hash removes
    at most as many rows as it was stored (identical rows loaded once are dropped once;
    a further identical row is new). ``table`` is then replaced by a temporary table of
    the rows kept, same columns and order.

    Args:
        engine: The run's engine.
        table: The extract.
        stored: The boundary stored with the old watermark.
        key: The incremental key column.
        value: The old watermark, whose boundary ``stored`` is.

    Raises:
        EngineError: The engine failed to run the statements.
    """
    if not stored.hashes or value is None:
        return 0
    at = _rows_at(engine, table, key, value)
    left = Counter(stored.hashes)
    kept: list[int] = []
    for i, row in enumerate(at.to_pylist()):
        h = row_hash(row, stored.columns)
        if left[h] > 0:
            left[h] -= 1
        else:
            kept.append(i)
    dropped = at.num_rows - len(kept)
    if not dropped:
        return 0
    import pyarrow as pa

    engine.register(_STORED, _arrow(at.take(pa.array(kept, pa.int64()))))
    others = exp.or_(
        exp.Not(this=exp.paren(_at(key, value))),
        exp.column(key, quoted=True).is_(exp.null()),
    )
    rest = exp.select(exp.Star()).from_(_t(table)).where(others)
    staged = f"{table}__kept"
    engine.execute(exp.Drop(tables=[_t(staged)], kind="TABLE", exists=True))
    engine.execute(
        exp.Create(
            this=_t(staged),
            kind="TABLE",
            expression=exp.union(rest, exp.select(exp.Star()).from_(_t(_STORED)), distinct=False),
            properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
        )
    )
    engine.execute(exp.Drop(tables=[_t(table)], kind="TABLE", exists=True))
    engine.execute(
        exp.Alter(this=_t(staged), kind="TABLE", actions=[exp.AlterRename(this=_t(table))])
    )
    return dropped


def _arrow(table: Any) -> Any:
    from lakegate.sources.files import ArrowDataset

    return ArrowDataset(table, "watermark boundary")


def _t(name: str) -> exp.Table:
    return exp.Table(this=exp.to_identifier(name, quoted=True))
