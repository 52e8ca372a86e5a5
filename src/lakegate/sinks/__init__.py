"""Sinks (load targets), registered by name, and what every sink is given and reports.

The load spec, commit identity, result and errors here are sink-agnostic and light
(no heavy imports), so the runner and config code use them without loading
deltalake or DuckDB; each sink's heavy imports stay in its own module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

from lakegate.errors import DataError, UserInputError
from lakegate.registry import load_plugin

if TYPE_CHECKING:
    import pyarrow as pa

# The commit metadata key under which `lakegate run` stores its run record, watermark
# and files with every load (read back for crash recovery and `lakegate table history`).
RUN_METADATA_KEY = "lakegate.run"

# name -> "module:Class"; adding a sink adds one line here.
SINKS: dict[str, str] = {
    "delta": "lakegate.sinks.delta:DeltaSink",
    "spark-delta": "lakegate.sinks.spark_delta:SparkDeltaSink",
}

Strategy = Literal["append", "merge", "overwrite", "partition_overwrite", "scd2"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)

# Keys a Delta commitInfo generates or constrains itself; user metadata may not set them.
_RESERVED_METADATA = frozenset(
    {
        "timestamp",
        "operation",
        "operationParameters",
        "operationMetrics",
        "engineInfo",
        "clientVersion",
        "readVersion",
        "isolationLevel",
        "isBlindAppend",
        "userId",
        "userName",
        "userMetadata",
        "version",
    }
)


@dataclass(frozen=True)
class Scd2Columns:
    """Names of the type-2 history columns a ``scd2`` load maintains.

    Attributes:
        valid_from: When a version became current (timestamp with time zone, UTC, microseconds).
        valid_to: When it stopped being current; NULL while current.
        is_current: True for the one current version of each key.
    """

    valid_from: str = "valid_from"
    valid_to: str = "valid_to"
    is_current: str = "is_current"

    def names(self) -> tuple[str, str, str]:
        """``(valid_from, valid_to, is_current)``."""
        return (self.valid_from, self.valid_to, self.is_current)


@dataclass(frozen=True)
class LoadSpec:
    """How a batch is loaded into its target table.

    Attributes:
        strategy: ``append`` adds rows; ``overwrite`` replaces the table's content;
            ``partition_overwrite`` replaces exactly the partitions present in the batch;
            ``merge`` upserts on ``merge_keys``; ``scd2`` keeps type-2 history per key.
        merge_keys: Key columns (``merge`` and ``scd2``). The batch must not repeat a key
            nor hold a NULL one. A ``merge`` into a partitioned table reads and rewrites
            only the partitions present in the batch, so a key must never move between
            partitions (partition by an attribute the key determines, e.g. an event date).
        partition_by: Partition columns; used when the table is created, and required by
            ``partition_overwrite``. For an existing table they must equal its partitioning
            (empty means: whatever the table has).
        scd2: History column names for ``scd2``.
        allow_schema_change: ``overwrite`` may replace the table's schema (and partitioning);
            ``append``, ``merge`` and ``partition_overwrite`` may add the batch's new columns
            (rows that lack a column read it as NULL). Off by default: a batch whose columns
            differ from the table's is refused. ``scd2`` never changes the schema.
        allow_missing_columns: Table columns the batch may lack without
            ``allow_schema_change`` (columns the source no longer has, after the change was
            accepted): ``append``/``merge`` rows then read them as NULL or keep their value.

    Raises:
        UserInputError: An unknown strategy, missing keys or partitions the strategy
            needs, or columns named twice.
    """

    strategy: Strategy
    merge_keys: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    scd2: Scd2Columns = field(default_factory=Scd2Columns)
    allow_schema_change: bool = False
    allow_missing_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise UserInputError(
                f"unknown load strategy {self.strategy!r}; expected one of {', '.join(STRATEGIES)}"
            )
        # Accept lists from config code, keep tuples (hashable, immutable).
        object.__setattr__(self, "merge_keys", tuple(self.merge_keys))
        object.__setattr__(self, "partition_by", tuple(self.partition_by))
        if self.strategy in ("merge", "scd2") and not self.merge_keys:
            raise UserInputError(f"load strategy {self.strategy} needs merge_keys")
        if self.strategy == "partition_overwrite" and not self.partition_by:
            raise UserInputError("load strategy partition_overwrite needs partition_by")
        for what, names in (
            ("merge_keys", self.merge_keys),
            ("partition_by", self.partition_by),
            ("scd2 columns", self.scd2.names()),
        ):
            if len(set(names)) != len(names):
                raise UserInputError(f"{what} names a column twice: {', '.join(names)}")
        if self.strategy == "scd2":
            clash = set(self.scd2.names()) & set(self.merge_keys + self.partition_by)
            if clash:
                raise UserInputError(
                    f"scd2 history columns cannot be keys or partitions: {', '.join(sorted(clash))}"
                )


@dataclass(frozen=True)
class CommitInfo:
    """The pipeline's identity for one write, committed atomically with the data.

    Every write carries a Delta app transaction (``txn`` action) ``(app_id, version)``;
    a write whose ``version`` is not above the table's committed version for ``app_id``
    is skipped (exactly-once under retries and crashes: DESIGN.md).

    Attributes:
        app_id: The writer's stable id, e.g. the pipeline name.
        version: A number that grows with every batch the pipeline commits (a run
            sequence, or a watermark encoded as an integer). 0 or more.
        metadata: Extra ``commitInfo`` entries (run id, watermark as text, ...).

    Raises:
        UserInputError: An empty app_id, a negative version or a reserved metadata key.
    """

    app_id: str
    version: int
    metadata: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.app_id:
            raise UserInputError("commit app_id must not be empty")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 0:
            raise UserInputError(f"commit version must be an integer >= 0, got {self.version!r}")
        reserved = sorted(set(self.metadata) & _RESERVED_METADATA)
        if reserved:
            raise UserInputError(
                f"commit metadata keys are reserved by Delta: {', '.join(reserved)}"
            )


@dataclass(frozen=True)
class LoadResult:
    """What one write did. Counts come from delta-rs's metrics; None when it reports none.

    Attributes:
        skipped: True when the table had already committed this app_id at this version
            or later (nothing was written).
        table_version: The table version after the write (the existing version when
            skipped); None if unknown.
        rows_inserted: Rows added: appended or inserted rows; new versions for ``scd2``.
        rows_updated: Target rows updated: matched rows for ``merge``, closed versions
            for ``scd2``.
        rows_deleted: Target rows removed: the replaced table or partitions for the
            overwrite strategies.
        rows_written: Rows written to new data files, including unchanged rows copied out
            of rewritten files: the physical cost of the write (DESIGN.md "Merge cost").
        files_added: Data files added by the commit.
        files_removed: Data files removed (rewritten or replaced) by the commit.
    """

    skipped: bool
    table_version: int | None
    rows_inserted: int | None = 0
    rows_updated: int | None = 0
    rows_deleted: int | None = 0
    rows_written: int | None = 0
    files_added: int | None = 0
    files_removed: int | None = 0


class Sink(Protocol):
    """Writes batches into one target table, atomically and exactly once per commit version."""

    name: str

    def write(
        self,
        data: pa.Table | pa.RecordBatchReader,
        spec: LoadSpec,
        commit: CommitInfo,
        *,
        effective_at: datetime | None = None,
    ) -> LoadResult:
        """Load ``data`` with ``spec`` in one commit carrying ``commit``."""

    def committed_version(self, app_id: str) -> int | None:
        """The last version committed for ``app_id``, or None (no table, never committed)."""


class LoadError(DataError):
    """A load failed; ``transient`` says whether running it again can succeed."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class MergeKeyError(LoadError, ValueError):
    """The batch's merge keys are unusable: repeated or NULL.

    Attributes:
        keys: The merge key columns.
        sample: One offending key value tuple.
        count: How many rows hold it.
    """

    def __init__(self, message: str, *, keys: tuple[str, ...], sample: tuple[Any, ...], count: int):
        super().__init__(message)
        self.keys = keys
        self.sample = sample
        self.count = count


class DuplicateKeyError(MergeKeyError):
    """Two or more rows of the batch share a merge key (the runner deduplicates first)."""


class NullKeyError(MergeKeyError):
    """A merge key column is NULL in the batch (such a row can never match)."""


def merge_key_error(keys: tuple[str, ...], sample: tuple[Any, ...], count: int) -> MergeKeyError:
    """The error for a merge key value the batch holds ``count`` times (> 1), or holds NULL.

    Args:
        keys: The merge key columns.
        sample: One offending key value tuple, in ``keys``' order.
        count: How many rows of the batch hold it.
    """
    shown = ", ".join(f"{k}={v!r}" for k, v in zip(keys, sample, strict=True))
    if any(v is None for v in sample):
        return NullKeyError(
            f"the batch has a NULL merge key ({shown}, {count} row(s)); merge keys must be set",
            keys=keys,
            sample=sample,
            count=count,
        )
    return DuplicateKeyError(
        f"the batch has duplicate merge keys: ({shown}) appears {count} times; "
        "deduplicate before loading (load.order_by picks the winner)",
        keys=keys,
        sample=sample,
        count=count,
    )


class SchemaChangeError(LoadError, ValueError):
    """The batch's columns or partitioning differ from the target table's.

    Attributes:
        missing: Table columns the batch lacks.
        added: Batch columns the table lacks.
        changed: ``{column: (table type, batch type)}`` for incompatible types.
    """

    def __init__(
        self,
        message: str,
        *,
        missing: tuple[str, ...] = (),
        added: tuple[str, ...] = (),
        changed: dict[str, tuple[str, str]] | None = None,
    ):
        super().__init__(message)
        self.missing = missing
        self.added = added
        self.changed = dict(changed or {})


def create_sink(name: str, table_uri: str, **options: Any) -> Sink:
    """Create the sink registered as ``name``, writing to ``table_uri``.

    Args:
        name: A key of :data:`SINKS` (``delta``).
        table_uri: The target table's path or URL.
        **options: The sink's own options (e.g. ``storage_options``).

    Raises:
        UserInputError: No sink has that name.
    """
    sink: Sink = load_plugin(SINKS, name, "sink")(table_uri, **options)
    return sink


__all__ = [
    "RUN_METADATA_KEY",
    "SINKS",
    "STRATEGIES",
    "CommitInfo",
    "DuplicateKeyError",
    "LoadError",
    "LoadResult",
    "LoadSpec",
    "MergeKeyError",
    "NullKeyError",
    "Scd2Columns",
    "SchemaChangeError",
    "Sink",
    "Strategy",
    "create_sink",
    "merge_key_error",
]
