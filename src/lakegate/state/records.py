"""The records of the state store and the tables that hold them.

Records are frozen dataclasses; every timestamp in them is timezone-aware UTC
once it has been through the store (stored as UTC: naive UTC text in SQLite,
``timestamptz`` in PostgreSQL). Watermark values keep their Python type:
:func:`encode_value` stores a value as JSON text tagged with its type, and
:func:`decode_value` gives back an equal value of the same type (a naive
datetime stays naive, an aware one keeps its offset, or its IANA zone when it
had a :class:`zoneinfo.ZoneInfo`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

import sqlalchemy as sa

RunStatus = Literal["success", "failed", "partial", "running"]
RUN_STATUSES: frozenset[str] = frozenset(get_args(RunStatus))


def utc(value: dt.datetime) -> dt.datetime:
    """``value`` as an aware UTC datetime; a naive value is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


@dataclass(frozen=True)
class RunStart:
    """What is known when a run begins.

    Attributes:
        pipeline_name: The pipeline's name.
        run_id: Unique id of this run.
        started_at: When the run started (a naive value is taken as UTC).
        watermark_before: The watermark value the run reads from (any value
            :func:`encode_value` accepts), or None on a first run.
        run_date: The logical date a backfill or partition run is for, or None.
    """

    pipeline_name: str
    run_id: str
    started_at: dt.datetime
    watermark_before: Any = None
    run_date: dt.date | None = None


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """One run: the fields of the run log (DESIGN.md "Run log"), plus
    ``rows_deduplicated`` and ``target``.

    The nothing-lost invariant reads, for a finished run:
    ``rows_extracted == rows_loaded + rows_rejected + rows_deduplicated``.

    Attributes:
        pipeline_name: The pipeline's name.
        run_id: Unique id of the run.
        started_at: When the run started (UTC).
        completed_at: When it finished (UTC), or None while running.
        status: ``success``, ``failed``, ``partial`` or ``running``.
        stage: The last stage the run reached (``extract``, ``load``, ...); for a
            failed run, the stage it failed in.
        rows_extracted: Rows read from the source.
        rows_transformed: Rows out of the last transform stage.
        rows_loaded: Rows written to the target.
        rows_rejected: Rows sent to the dead-letter table.
        quality_checks_passed: Checks that passed (pre- and post-load).
        quality_checks_failed: Checks that failed.
        duration_seconds: Wall time of the run in seconds, or None while running.
        error_message: Why the run failed, or None.
        watermark_before: The watermark the run started from (typed value).
        watermark_after: The watermark after the run (typed value).
        rows_deduplicated: Rows dropped as in-batch duplicates.
        target: The target table's name, or None when not known yet.
        source_schema_changes: How the source's columns changed since the last
            successful run (``added x VARCHAR``, ``removed y``, ``retyped z: INTEGER ->
            BIGINT``); empty when they did not, or on a first run.
        keys_deleted_at_source: Keys the target held that the source no longer has,
            found by a hard-delete reconciliation (``extract.source.reconcile``); None
            when the run did not reconcile.
        quality_score: The pre-load gate's 0-100 quality score of the batch (the mean of
            its dimensions' scores), or None when no gate ran.
        data_newest_at: The newest data the target table holds after the run (aware UTC):
            the newest value of its freshness column (:mod:`lakegate.observe.freshness`),
            else the newest modification time of the source files read; carried over from
            the run before when this one loaded nothing. None when not measured (or stored
            before schema version 7). ``lakegate status`` and the freshness metrics read it.

    Raises:
        ValueError: On construction, for a status outside :data:`RunStatus`.
    """

    pipeline_name: str
    run_id: str
    started_at: dt.datetime
    completed_at: dt.datetime | None = None
    status: RunStatus = "running"
    stage: str = "begin"
    rows_extracted: int = 0
    rows_transformed: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    quality_checks_passed: int = 0
    quality_checks_failed: int = 0
    duration_seconds: float | None = None
    error_message: str | None = None
    watermark_before: Any = None
    watermark_after: Any = None
    rows_deduplicated: int = 0
    target: str | None = None
    source_schema_changes: tuple[str, ...] = ()
    keys_deleted_at_source: int | None = None
    quality_score: float | None = None
    data_newest_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.status not in RUN_STATUSES:
            raise ValueError(
                f"run status must be one of {sorted(RUN_STATUSES)}, not {self.status!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The record as one JSON-friendly run-log object, in field order."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class RunTotals:
    """A pipeline's finished runs of one status, summed (see ``StateStore.run_totals``).

    Attributes:
        pipeline: The pipeline's name.
        target: The target table, or None for runs that failed before knowing it.
        status: ``success``, ``failed`` or ``partial``.
        runs: How many runs.
        rows_loaded: Rows written to the target, summed.
        rows_rejected: Rows sent to the dead-letter table, summed.
        checks_passed: Checks passed, summed.
        checks_failed: Checks failed, summed.
        duration_seconds: Wall time, summed, in seconds.
    """

    pipeline: str
    target: str | None
    status: str
    runs: int
    rows_loaded: int
    rows_rejected: int
    checks_passed: int
    checks_failed: int
    duration_seconds: float


@dataclass(frozen=True)
class Boundary:
    """The rows already loaded that share the watermark's value (the boundary rows).

    An incremental read is ``key >= watermark``, so the next run reads these rows again
    and drops them (:mod:`lakegate.boundary`); rows stamped with the watermark's value
    that were committed after the run are then loaded, not lost.

    Attributes:
        columns: The extract's column names the hashes were computed over, in order.
        hashes: One hash per boundary row (hex text; identical rows repeat their hash).
    """

    columns: tuple[str, ...]
    hashes: tuple[str, ...]

    def to_json(self) -> str:
        """The boundary as JSON text: ``{"columns": [...], "hashes": [...]}``."""
        return json.dumps({"columns": list(self.columns), "hashes": list(self.hashes)})

    @classmethod
    def from_json(cls, text: str | None) -> Boundary | None:
        """Read back :meth:`to_json`'s text (None for None).

        Raises:
            ValueError: When ``text`` is not what :meth:`to_json` writes.
        """
        if text is None:
            return None
        doc = json.loads(text)
        if not isinstance(doc, dict) or not {"columns", "hashes"} <= doc.keys():
            raise ValueError(f"not a watermark boundary: {text[:80]!r}")
        return cls(tuple(map(str, doc["columns"])), tuple(map(str, doc["hashes"])))


@dataclass(frozen=True)
class Watermark:
    """A pipeline's high-water mark.

    Attributes:
        pipeline: The pipeline's name.
        value: The watermark value, of the type it was stored with.
        version: The Delta table version (transaction version) the data this
            watermark describes was committed in.
        updated_at: When the watermark was last written (UTC).
        boundary: The rows already loaded at ``value`` (see :class:`Boundary`), or None
            (a watermark without an incremental key, or stored before schema version 5).
    """

    pipeline: str
    value: Any
    version: int
    updated_at: dt.datetime
    boundary: Boundary | None = None


@dataclass(frozen=True)
class LockInfo:
    """Who holds a pipeline's lock.

    Attributes:
        pipeline: The locked pipeline.
        run_id: The holding run.
        host: Host name of the holding process.
        pid: Process id of the holding process on ``host``.
        acquired_at: When the lock was taken (UTC).
        heartbeat_at: The holder's last heartbeat (UTC).
        pid_started: When the holding process started, as the opaque token of
            :func:`lakegate.state.process.start_token` (a zombie or a reused pid is no
            live holder); None when unknown (no ``/proc``, or a lock stored before
            schema version 6).
    """

    pipeline: str
    run_id: str
    host: str
    pid: int
    acquired_at: dt.datetime
    heartbeat_at: dt.datetime
    pid_started: str | None = None


@dataclass(frozen=True)
class CheckRecord:
    """The stored outcome of one check in one run.

    Attributes:
        run_id: The run the check ran in.
        pipeline: The pipeline's name.
        table: The table (or batch) the check judged.
        id: The check's id.
        type: The check kind (``not_null``, ``row_count``, ...).
        severity: ``critical``, ``warning`` or ``info``.
        passed: Whether the check passed.
        observed: What was measured, as decoded JSON.
        failing_rows: Rows that failed, or None for checks that do not judge rows.
        recorded_at: When the result was stored (UTC).
    """

    run_id: str
    pipeline: str
    table: str
    id: str
    type: str
    severity: str
    passed: bool
    observed: Any
    failing_rows: int | None
    recorded_at: dt.datetime


def encode_value(value: Any) -> str | None:
    """Store a typed value as JSON text: ``{"type": ..., "value": ...}``.

    Args:
        value: None, bool, int, float, str, :class:`decimal.Decimal`,
            :class:`datetime.date` or :class:`datetime.datetime` (naive or aware).

    Returns:
        The JSON text, or None for None.

    Raises:
        TypeError: For a value of any other type.
    """
    if value is None:
        return None
    doc: dict[str, Any]
    if isinstance(value, bool):
        doc = {"type": "bool", "value": value}
    elif isinstance(value, int):
        doc = {"type": "int", "value": int(value)}
    elif isinstance(value, float):
        doc = {"type": "float", "value": value}
    elif isinstance(value, decimal.Decimal):
        doc = {"type": "decimal", "value": str(value)}
    elif isinstance(value, str):
        doc = {"type": "str", "value": value}
    elif isinstance(value, dt.datetime):
        plain = dt.datetime(  # drops subclass extras (pandas' nanoseconds) isoformat can't parse
            *value.timetuple()[:6], value.microsecond, tzinfo=value.tzinfo, fold=value.fold
        )
        doc = {"type": "datetime", "value": plain.isoformat()}
        if isinstance(value.tzinfo, ZoneInfo):
            doc["tz"] = value.tzinfo.key
    elif isinstance(value, dt.date):
        doc = {"type": "date", "value": value.isoformat()}
    else:
        raise TypeError(
            f"cannot store a {type(value).__name__} as a watermark value; use an int, float, "
            "str, Decimal, date or datetime"
        )
    return json.dumps(doc)


def decode_value(text: str | None) -> Any:
    """Read back a value stored by :func:`encode_value`.

    Raises:
        ValueError: When ``text`` is not what :func:`encode_value` writes.
    """
    if text is None:
        return None
    doc = json.loads(text)
    kind, raw = doc["type"], doc["value"]
    if kind in ("bool", "int", "float", "str"):
        return raw
    if kind == "decimal":
        return decimal.Decimal(raw)
    if kind == "date":
        return dt.date.fromisoformat(raw)
    if kind == "datetime":
        value = dt.datetime.fromisoformat(raw)
        return value.astimezone(ZoneInfo(doc["tz"])) if "tz" in doc else value
    raise ValueError(f"unknown stored value type {kind!r}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):  # dates and datetimes
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


# -- tables -----------------------------------------------------------------------------

SCHEMA_VERSION = 7  # in lakegate_meta; raise it with every change to the tables below
# What each version adds to the one before: (table, column, SQL type) added to a store
# of the version before (store.py; a column already there is left as it is).
MIGRATIONS: dict[int, tuple[tuple[str, str, str], ...]] = {
    2: (("lakegate_runs", "source_schema_changes", "TEXT"),),
    3: (("lakegate_runs", "keys_deleted_at_source", "BIGINT"),),
    4: (("lakegate_runs", "quality_score", "FLOAT"),),
    5: (("lakegate_watermarks", "boundary", "TEXT"),),
    6: (("lakegate_locks", "pid_started", "TEXT"),),
    7: (("lakegate_runs", "data_newest_at", "TIMESTAMP WITH TIME ZONE"),),
}


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A timestamp stored as UTC and read back as an aware UTC datetime."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        # SQLite keeps text: naive UTC in one fixed format, so text order is time order.
        return utc(value).replace(tzinfo=None) if dialect.name == "sqlite" else utc(value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        return utc(value) if value is not None else None


METADATA = sa.MetaData()

META = sa.Table(
    "lakegate_meta",
    METADATA,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

RUNS = sa.Table(
    "lakegate_runs",
    METADATA,
    sa.Column("run_id", sa.String, primary_key=True),
    sa.Column("pipeline_name", sa.String, nullable=False),
    sa.Column("target", sa.String),
    sa.Column("run_date", sa.Date),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("completed_at", UTCDateTime),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("stage", sa.String, nullable=False),
    *(
        sa.Column(name, sa.BigInteger, nullable=False)
        for name in (
            "rows_extracted",
            "rows_transformed",
            "rows_loaded",
            "rows_rejected",
            "rows_deduplicated",
            "quality_checks_passed",
            "quality_checks_failed",
        )
    ),
    sa.Column("duration_seconds", sa.Float),
    sa.Column("error_message", sa.Text),
    sa.Column("watermark_before", sa.Text),  # encode_value() JSON
    sa.Column("watermark_after", sa.Text),
    sa.Column("source_schema_changes", sa.Text),  # JSON list; since schema version 2
    sa.Column("keys_deleted_at_source", sa.BigInteger),  # since schema version 3
    sa.Column("quality_score", sa.Float),  # since schema version 4
    sa.Column("data_newest_at", UTCDateTime),  # since schema version 7
    sa.Index("ix_lakegate_runs_pipeline_started", "pipeline_name", "started_at"),
)

SOURCE_SCHEMAS = sa.Table(
    "lakegate_source_schemas",
    METADATA,
    sa.Column("pipeline", sa.String, primary_key=True),
    sa.Column("columns", sa.Text, nullable=False),  # JSON [[name, type], ...]
    sa.Column("run_id", sa.String, nullable=False),
    sa.Column("captured_at", UTCDateTime, nullable=False),
)

WATERMARKS = sa.Table(
    "lakegate_watermarks",
    METADATA,
    sa.Column("pipeline", sa.String, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),  # encode_value() JSON
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("boundary", sa.Text),  # Boundary.to_json(); since schema version 5
)

LOADED_FILES = sa.Table(
    "lakegate_loaded_files",
    METADATA,
    sa.Column("pipeline", sa.String, primary_key=True),
    sa.Column("path", sa.String, primary_key=True),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("mtime_ns", sa.BigInteger, nullable=False),
    sa.Column("run_id", sa.String, nullable=False),
    sa.Column("loaded_at", UTCDateTime, nullable=False),
)

LOCKS = sa.Table(
    "lakegate_locks",
    METADATA,
    sa.Column("pipeline", sa.String, primary_key=True),  # one writer per pipeline
    sa.Column("run_id", sa.String, nullable=False),
    sa.Column("host", sa.String, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("acquired_at", UTCDateTime, nullable=False),
    sa.Column("heartbeat_at", UTCDateTime, nullable=False),
    sa.Column("pid_started", sa.Text),  # process.start_token(); since schema version 6
)

CHECK_RESULTS = sa.Table(
    "lakegate_check_results",
    METADATA,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String, nullable=False, index=True),
    sa.Column("pipeline", sa.String, nullable=False),
    sa.Column("table_name", sa.String, nullable=False),
    sa.Column("check_id", sa.String, nullable=False),
    sa.Column("check_type", sa.String, nullable=False),
    sa.Column("severity", sa.String, nullable=False),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("observed", sa.Text, nullable=False),  # JSON
    sa.Column("failing_rows", sa.BigInteger),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)

_RUN_FIELDS = tuple(f.name for f in fields(RunRecord))
_WATERMARK_FIELDS = ("watermark_before", "watermark_after")


def run_to_row(record: RunRecord) -> dict[str, Any]:
    """A run record as a ``lakegate_runs`` row (without ``run_date``)."""
    row = {name: getattr(record, name) for name in _RUN_FIELDS}
    row["source_schema_changes"] = json.dumps(list(record.source_schema_changes))
    return row | {name: encode_value(row[name]) for name in _WATERMARK_FIELDS}


def run_from_row(row: sa.RowMapping) -> RunRecord:
    """A ``lakegate_runs`` row as a run record."""
    values = {name: row[name] for name in _RUN_FIELDS}
    values["source_schema_changes"] = tuple(json.loads(row["source_schema_changes"] or "[]"))
    return RunRecord(**(values | {name: decode_value(row[name]) for name in _WATERMARK_FIELDS}))


def check_to_row(result: Mapping[str, Any]) -> dict[str, Any]:
    """One check-result dict (``id, type, severity, passed, observed, failing_rows``) as
    the check columns of a ``lakegate_check_results`` row.

    Raises:
        ValueError: When ``id``, ``type``, ``severity`` or ``passed`` is missing.
    """
    missing = {"id", "type", "severity", "passed"} - result.keys()
    if missing:
        raise ValueError(f"check result {dict(result)!r} lacks {sorted(missing)}")
    failing = result.get("failing_rows")
    return {
        "check_id": str(result["id"]),
        "check_type": str(result["type"]),
        "severity": str(result["severity"]),
        "passed": bool(result["passed"]),
        "observed": json.dumps(result.get("observed"), default=str),
        "failing_rows": int(failing) if failing is not None else None,
    }


def check_from_row(row: Any) -> CheckRecord:
    """A ``lakegate_check_results`` row as a check record."""
    return CheckRecord(
        run_id=row.run_id,
        pipeline=row.pipeline,
        table=row.table_name,
        id=row.check_id,
        type=row.check_type,
        severity=row.severity,
        passed=row.passed,
        observed=json.loads(row.observed),
        failing_rows=row.failing_rows,
        recorded_at=row.recorded_at,
    )
