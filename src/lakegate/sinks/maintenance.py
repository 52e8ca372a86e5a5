"""Delta table maintenance: history, description, compaction, vacuum and restore.

The library behind ``lakegate table`` (the seeds' ``DeltaLakeManager``). Every
function takes a table's directory or object-store URL and a ``label`` (how
messages name the table, e.g. its name in the lake), and returns a frozen
dataclass. Nothing here reads table data: counts come from the transaction log
(the add actions' ``num_records``), never from deltalake's ``to_pyarrow_*``
readers (they can abort the process at exit: delta-rs issue 2184).

deltalake is imported inside the functions, so importing this module stays light.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakegate.errors import InputDataError, UserInputError
from lakegate.sinks import RUN_METADATA_KEY, LoadError

if TYPE_CHECKING:
    from deltalake import DeltaTable

# Files below this size count as small in :func:`describe_table` (bytes).
SMALL_FILE_BYTES = 32 * 1024 * 1024
# Delta's default ``delta.deletedFileRetentionDuration`` (7 days): readers of a
# snapshot up to this old, and time travel to it, keep working after a vacuum.
MIN_RETENTION_HOURS = 168


@dataclass(frozen=True)
class Commit:
    """One commit of a table's log.

    Attributes:
        version: The table version the commit created.
        timestamp: When it was committed (UTC), if the log says.
        operation: ``WRITE``, ``MERGE``, ``OPTIMIZE``, ``RESTORE``, ...
        parameters: The operation's parameters (mode, predicate, target size, ...).
        metrics: The operation's metrics (rows and files added and removed, ...).
        run_id: The lakegate run that made the commit, from its ``lakegate.run`` metadata.
        pipeline: That run's pipeline name, when the metadata holds it.
    """

    version: int
    timestamp: dt.datetime | None
    operation: str
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    run_id: str | None = None
    pipeline: str | None = None


@dataclass(frozen=True)
class Column:
    """A column of a table's schema (``type`` as Delta names it: long, string, ...)."""

    name: str
    type: str
    nullable: bool


@dataclass(frozen=True)
class TableInfo:
    """A snapshot of a table, from its log.

    Attributes:
        uri: The table's directory or URL.
        version: The snapshot's version.
        partition_columns: Partition columns, in order.
        columns: The schema.
        files: Data files in the snapshot.
        total_bytes: Their total size (bytes).
        rows: Rows in the snapshot (sum of the files' ``num_records``); None when
            some file was written without statistics.
        small_files: Files smaller than ``small_file_bytes``.
        small_file_bytes: The threshold used (bytes).
        last_commit: When the snapshot's version was committed (UTC), if known.
    """

    uri: str
    version: int
    partition_columns: tuple[str, ...]
    columns: tuple[Column, ...]
    files: int
    total_bytes: int
    rows: int | None
    small_files: int
    small_file_bytes: int
    last_commit: dt.datetime | None


@dataclass(frozen=True)
class OptimizeResult:
    """What a compaction or z-order did.

    Attributes:
        version: The table version after it (unchanged when nothing was rewritten).
        files_added: Files written.
        files_removed: Files replaced (still on storage until a vacuum).
        z_order: The z-order columns; empty for a plain compaction.
    """

    version: int
    files_added: int
    files_removed: int
    z_order: tuple[str, ...] = ()


@dataclass(frozen=True)
class VacuumResult:
    """Files a vacuum deleted, or would delete on a dry run.

    Attributes:
        files: Paths relative to the table root (or URLs, as delta-rs reports them).
        dry_run: True when nothing was deleted.
        retention_hours: Files removed from the log less than this long ago were kept.
    """

    files: tuple[str, ...]
    dry_run: bool
    retention_hours: int


@dataclass(frozen=True)
class RestoreResult:
    """What a restore did.

    Attributes:
        restored_to: The version whose content the table now has.
        version: The new version the restore committed.
        files_removed: Files the restore removed from the snapshot.
        files_restored: Files it added back.
    """

    restored_to: int
    version: int
    files_removed: int
    files_restored: int


def table_history(uri: str, *, limit: int | None = None, label: str | None = None) -> list[Commit]:
    """The commits of a table, newest first.

    Args:
        uri: The table's directory or URL.
        limit: At most this many commits (the newest); None for all.
        label: How messages name the table (default: ``uri``).

    Returns:
        One :class:`Commit` per version, newest first. A commit made by ``lakegate
        run`` carries its run id (from the ``lakegate.run`` commit metadata).

    Raises:
        InputDataError: No readable Delta table at ``uri``.
    """
    table = _open(uri, label)
    return [_commit(entry) for entry in table.history(limit)]


def describe_table(
    uri: str,
    *,
    version: int | None = None,
    small_file_bytes: int = SMALL_FILE_BYTES,
    label: str | None = None,
) -> TableInfo:
    """Describe a table's snapshot from its log: schema, files, bytes, rows.

    Args:
        uri: The table's directory or URL.
        version: A past version (time travel); None for the latest.
        small_file_bytes: Files smaller than this count as small (bytes).
        label: How messages name the table (default: ``uri``).

    Raises:
        InputDataError: No readable Delta table at ``uri``.
        UserInputError: The table has no such version, or it cannot be read any more.
    """
    table = _open(uri, label)
    latest = table.version()
    snapshot = latest if version is None else version
    _check_version(label or uri, snapshot, latest)
    # The commit time, from the latest snapshot's log (before time travel).
    commits = table.history(latest - snapshot + 1)
    when = next((_commit(c).timestamp for c in commits if c.get("version") == snapshot), None)
    table = _at_version(table, uri, version, label)
    actions = _add_actions(table)
    sizes = [int(s) for s in actions["size_bytes"]]
    counts = actions["num_records"]
    return TableInfo(
        uri=uri,
        version=snapshot,
        partition_columns=tuple(table.metadata().partition_columns),
        columns=tuple(
            Column(f.name, _type_name(f.type), bool(f.nullable)) for f in table.schema().fields
        ),
        files=len(sizes),
        total_bytes=sum(sizes),
        rows=None if any(n is None for n in counts) else sum(int(n) for n in counts),
        small_files=sum(1 for s in sizes if s < small_file_bytes),
        small_file_bytes=small_file_bytes,
        last_commit=when,
    )


def optimize_table(
    uri: str,
    *,
    target_size: int | None = None,
    z_order: Sequence[str] = (),
    label: str | None = None,
) -> OptimizeResult:
    """Compact small files into larger ones, or rewrite them clustered by z-order.

    The rewrite commits a new version with the same rows; the replaced files stay
    on storage (time travel still reads them) until :func:`vacuum_table`.

    Args:
        uri: The table's directory or URL.
        target_size: Approximate size of the written files (bytes); None uses the
            table's ``delta.targetFileSize`` or delta-rs's 100 MB.
        z_order: Cluster by these columns (not partition columns); empty compacts only.
        label: How messages name the table (default: ``uri``).

    Raises:
        InputDataError: No readable Delta table at ``uri``.
        UserInputError: A bad target size, or a z-order column that is missing or a
            partition column.
        LoadError: delta-rs failed; ``transient`` when a concurrent commit conflicts.
    """
    table = _open(uri, label)
    name = label or uri
    if target_size is not None and target_size <= 0:
        raise UserInputError(f"{name}: the target file size must be positive (bytes)")
    columns = tuple(z_order)
    if columns:
        known = [f.name for f in table.schema().fields]
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise UserInputError(
                f"{name}: no column {', '.join(map(repr, unknown))} to z-order by "
                f"(columns: {', '.join(known)})"
            )
        partitions = set(table.metadata().partition_columns)
        if partitioned := [c for c in columns if c in partitions]:
            raise UserInputError(
                f"{name}: cannot z-order by partition column {', '.join(map(repr, partitioned))}"
                " (files never span partitions; z-order by columns inside them)"
            )
    with _delta_errors(name, "optimize"):
        if columns:
            metrics = table.optimize.z_order(columns, target_size=target_size)
        else:
            metrics = table.optimize.compact(target_size=target_size)
    return OptimizeResult(
        version=table.version(),
        files_added=int(metrics.get("numFilesAdded") or 0),
        files_removed=int(metrics.get("numFilesRemoved") or 0),
        z_order=columns,
    )


def vacuum_table(
    uri: str,
    *,
    retention_hours: int = MIN_RETENTION_HOURS,
    dry_run: bool = True,
    force: bool = False,
    label: str | None = None,
) -> VacuumResult:
    """Delete data files the table stopped referencing more than ``retention_hours`` ago.

    Also deletes files the log never mentioned (left by failed writes). After a
    vacuum, versions whose files are gone can no longer be read nor restored.

    Args:
        uri: The table's directory or URL.
        retention_hours: Keep files removed from the log less than this long ago.
        dry_run: Only list the files (the default); False deletes them.
        force: Allow a retention below :data:`MIN_RETENTION_HOURS`.
        label: How messages name the table (default: ``uri``).

    Raises:
        InputDataError: No readable Delta table at ``uri``.
        UserInputError: A negative retention, or one below 168 hours without ``force``
            (or below the table's ``delta.deletedFileRetentionDuration``).
        LoadError: delta-rs failed.
    """
    table = _open(uri, label)
    name = label or uri
    if retention_hours < 0:
        raise UserInputError(f"{name}: the retention cannot be negative ({retention_hours} h)")
    if retention_hours < MIN_RETENTION_HOURS and not force:
        raise UserInputError(
            f"{name}: refusing a retention of {retention_hours} h, below "
            f"{MIN_RETENTION_HOURS} h (7 days): a vacuum deletes the files of older versions, "
            "so time travel to them breaks, and a concurrent reader or writer still using "
            "such a snapshot fails mid-read. Force it (--force) only if no reader or writer "
            "can be that old"
        )
    with _delta_errors(name, "vacuum", user_errors=("retention",)):
        files = table.vacuum(
            retention_hours=retention_hours,
            dry_run=dry_run,
            enforce_retention_duration=not force,
        )
    return VacuumResult(files=tuple(files), dry_run=dry_run, retention_hours=retention_hours)


def restore_table(uri: str, version: int, *, label: str | None = None) -> RestoreResult:
    """Make the table's content that of ``version`` again, as a new commit.

    History is kept: the versions after ``version`` stay readable (until a vacuum).

    Args:
        uri: The table's directory or URL.
        version: The version to restore; older than the current one.
        label: How messages name the table (default: ``uri``).

    Raises:
        InputDataError: No readable Delta table at ``uri``.
        UserInputError: No such version, the current version, or one whose files a
            vacuum deleted.
        LoadError: delta-rs failed; ``transient`` when a concurrent commit conflicts.
    """
    table = _open(uri, label)
    name = label or uri
    current = table.version()
    _check_version(name, version, current)
    if version == current:
        raise UserInputError(
            f"{name}: version {version} is the current version; nothing to restore"
        )
    _at_version(_open(uri, label), uri, version, label)  # its log entries still exist
    with _delta_errors(name, f"restore to version {version}", user_errors=("missing file",)):
        metrics = table.restore(version)
    return RestoreResult(
        restored_to=version,
        version=table.version(),
        files_removed=int(metrics.get("numRemovedFile") or 0),
        files_restored=int(metrics.get("numRestoredFile") or 0),
    )


# ---------------------------------------------------------------------- helpers


def _open(uri: str, label: str | None) -> DeltaTable:
    """The table's latest snapshot; a missing or unreadable table is the user's input."""
    from deltalake import DeltaTable
    from deltalake.exceptions import DeltaError, TableNotFoundError

    where = uri if label is None or label == uri else f"table {label!r} ({uri})"
    try:
        return DeltaTable(uri)
    except TableNotFoundError:
        raise InputDataError(f"{where}: no Delta table there") from None
    except (DeltaError, OSError, ValueError) as exc:
        raise InputDataError(f"{where}: not a readable Delta table: {_first_line(exc)}") from None


def _at_version(table: DeltaTable, uri: str, version: int | None, label: str | None) -> DeltaTable:
    """``table`` loaded as ``version`` (None: as it is)."""
    from deltalake.exceptions import DeltaError

    if version is None:
        return table
    name = label or uri
    _check_version(name, version, table.version())
    try:
        table.load_as_version(version)
    except DeltaError as exc:
        raise UserInputError(
            f"{name}: version {version} cannot be read any more (its log entries may have "
            f"been cleaned up): {_first_line(exc)}"
        ) from None
    return table


def _check_version(name: str, version: int, current: int) -> None:
    if not 0 <= version <= current:
        raise UserInputError(
            f"{name}: no version {version} (the table's versions are 0 to {current})"
        )


def _add_actions(table: DeltaTable) -> dict[str, list[Any]]:
    """``size_bytes`` and ``num_records`` of the snapshot's data files."""
    import pyarrow as pa

    # Through the Arrow C stream: ``pa.table()`` would import pandas (a second, for nothing).
    actions = pa.RecordBatchReader.from_stream(table.get_add_actions(flatten=True)).read_all()
    return {
        key: actions.column(key).to_pylist() if actions.num_rows else []
        for key in ("size_bytes", "num_records")
    }


def commit_metadata(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The custom commit metadata of one ``DeltaTable.history()`` entry.

    delta-rs writes custom metadata as top-level ``commitInfo`` keys; delta-spark has only
    ``userMetadata``, a string, where :mod:`lakegate.sinks.spark_delta` puts a JSON object
    of the same keys. Both are returned as one dict (top-level keys win).

    Args:
        entry: One history entry (``commitInfo`` as a dict).
    """
    found: dict[str, Any] = {}
    raw = entry.get("userMetadata")
    if isinstance(raw, str) and raw.startswith("{"):
        with contextlib.suppress(ValueError):
            parsed = json.loads(raw)
            if isinstance(parsed, dict):
                found.update(parsed)
    found.update(entry)
    return found


def _commit(entry: dict[str, Any]) -> Commit:
    """A :class:`Commit` from one ``DeltaTable.history()`` entry."""
    millis = entry.get("timestamp")
    when = (
        dt.datetime.fromtimestamp(millis / 1000, tz=dt.UTC)
        if isinstance(millis, int | float)
        else None
    )
    run_id = pipeline = None
    raw = commit_metadata(entry).get(RUN_METADATA_KEY)
    if isinstance(raw, str):
        try:
            record = json.loads(raw).get("record") or {}
        except (ValueError, AttributeError):
            record = {}
        if isinstance(record, dict):
            run_id = _text(record.get("run_id"))
            pipeline = _text(record.get("pipeline_name"))
    return Commit(
        version=int(entry.get("version", -1)),
        timestamp=when,
        operation=str(entry.get("operation") or ""),
        parameters=dict(entry.get("operationParameters") or {}),
        metrics=dict(entry.get("operationMetrics") or {}),
        run_id=run_id,
        pipeline=pipeline,
    )


@contextlib.contextmanager
def _delta_errors(name: str, what: str, user_errors: Sequence[str] = ()) -> Iterator[None]:
    """Turn the delta-rs errors of one operation into lakegate errors.

    A commit conflict is a transient :class:`LoadError`; an error whose message holds
    one of ``user_errors`` is the user's input; anything else is a :class:`LoadError`.
    """
    from deltalake.exceptions import CommitFailedError, DeltaError

    try:
        yield
    except CommitFailedError as exc:
        raise LoadError(
            f"{name}: a concurrent commit conflicts with this {what}; run it again "
            f"({_first_line(exc)})",
            transient=True,
        ) from None
    except (DeltaError, OSError) as exc:
        message = _first_line(exc)
        if any(word in message.lower() for word in user_errors):
            raise UserInputError(f"{name}: cannot {what}: {message}") from None
        raise LoadError(f"{name}: {what} failed: {message}") from None


def _type_name(delta_type: Any) -> str:
    """``long``, ``decimal(10,2)``, ``array<string>``, ... for a Delta schema type."""
    kind = type(delta_type).__name__
    if kind == "ArrayType":
        return f"array<{_type_name(delta_type.element_type)}>"
    if kind == "MapType":
        return f"map<{_type_name(delta_type.key_type)},{_type_name(delta_type.value_type)}>"
    if kind == "StructType":
        return (
            "struct<" + ",".join(f"{f.name}:{_type_name(f.type)}" for f in delta_type.fields) + ">"
        )
    primitive = getattr(delta_type, "type", None)
    if isinstance(primitive, str):
        return primitive
    return str(delta_type)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = [
    "MIN_RETENTION_HOURS",
    "SMALL_FILE_BYTES",
    "Column",
    "Commit",
    "OptimizeResult",
    "RestoreResult",
    "TableInfo",
    "VacuumResult",
    "describe_table",
    "optimize_table",
    "restore_table",
    "table_history",
]
