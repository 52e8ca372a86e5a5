"""The default sink: Delta Lake tables written by delta-rs (the ``deltalake`` package).

Every write is one Delta commit carrying the pipeline's app transaction
(``txn``: app id and version), so the data and the pipeline's progress commit
atomically; a version the table already holds is skipped (DESIGN.md,
"Exactly-once under crashes"). delta-rs itself does not skip such a commit
(delta-rs issue 2580): the check is ours, and its conflict checker fails a
commit that races another commit of the same app id.

Batches that must be read more than once (key checks, partition values, SCD2
change detection) are staged in DuckDB, which spills to disk past its memory
limit, and streamed from there into delta-rs. The current target is read
through lakegate's DuckDB engine, never through deltalake's ``to_pyarrow_*``
readers (they can abort the process at exit: delta-rs issue 2184).

Predicates handed to delta-rs are sqlglot trees rendered with double-quoted
identifiers and ``''``-escaped literals, which delta-rs's DataFusion parser reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import (
    CommitFailedError,
    DeltaError,
    SchemaMismatchError,
    TableNotFoundError,
)
from sqlglot import exp

from lakegate.sinks import (
    CommitInfo,
    LoadError,
    LoadResult,
    LoadSpec,
    Scd2Columns,
    SchemaChangeError,
)
from lakegate.sinks.staging import (
    BATCH,
    RowsCallback,
    Scd2Plan,
    Stage,
    StagedBatch,
    check_columns,
    check_schema,
    col,
    counting,
    delta_name,
    delta_sql,
    history_schema,
    in_list,
    partitions_predicate,
)
from lakegate.sources.files import DeltaDataset

_TARGET = "__lakegate_target"
_CHANGES = "__lakegate_changes"


class DeltaSink:
    """Loads batches into one Delta table.

    Args:
        table_uri: The table's directory or object-store URL (created on first write).
        storage_options: Object-store options passed to delta-rs (credentials, endpoint).
    """

    name = "delta"

    def __init__(self, table_uri: str, storage_options: dict[str, str] | None = None) -> None:
        self.table_uri = str(table_uri)
        self.storage_options = dict(storage_options or {})

    # ------------------------------------------------------------------ public

    def committed_version(self, app_id: str) -> int | None:
        """The last version committed for ``app_id`` (Delta ``txn``), or None."""
        table = self._open()
        return None if table is None else table.transaction_version(app_id)

    def write(
        self,
        data: pa.Table | pa.RecordBatchReader | StagedBatch,
        spec: LoadSpec,
        commit: CommitInfo,
        *,
        effective_at: dt.datetime | None = None,
        on_rows: RowsCallback | None = None,
    ) -> LoadResult:
        """Load ``data`` into the table with ``spec.strategy``, in exactly one commit.

        Args:
            data: The batch; a reader is consumed once. A :class:`StagedBatch` is read
                where it is, by its own engine, with no second copy.
            spec: The load strategy, keys and partitions.
            commit: The app transaction committed with the data.
            effective_at: For ``scd2``, when the batch's changes take effect (default:
                now; a naive value is UTC). Ignored by the other strategies.
            on_rows: Called with the running total of rows handed to delta-rs, for
                progress bars (for ``scd2``: history rows, up to two per changed key).

        Returns:
            What the commit did, or ``skipped=True`` when ``commit.version`` is not above
            the table's committed version for ``commit.app_id`` (nothing is written).

        Raises:
            UserInputError: The spec names columns the batch lacks, or the batch holds
                the SCD2 history columns.
            DuplicateKeyError, NullKeyError: Merge keys repeat or are NULL in the batch.
            SchemaChangeError: The batch's columns or the partitioning differ from the
                table's and ``spec.allow_schema_change`` does not allow it.
            LoadError: delta-rs failed; ``transient`` when a concurrent commit won.
        """
        check_columns(data.schema, spec)
        table = self._open()
        if table is not None:
            done = table.transaction_version(commit.app_id)
            if done is not None and commit.version <= done:
                return LoadResult(skipped=True, table_version=table.version())
        props = CommitProperties(
            custom_metadata={"lakegate.strategy": spec.strategy, **commit.metadata},
            app_transactions=[Transaction(app_id=commit.app_id, version=commit.version)],
        )
        try:
            if spec.strategy in ("append", "overwrite") and not isinstance(data, StagedBatch):
                reader = data.to_reader() if isinstance(data, pa.Table) else data
                stream = counting(reader, on_rows) if on_rows else reader
                if spec.strategy == "append":
                    return self._append(table, stream, spec, props)
                return self._overwrite(table, stream, spec, props)
            with Stage(data, on_rows) as stage:
                if spec.strategy == "append":
                    return self._append(table, stage.reader(), spec, props)
                if spec.strategy == "overwrite":
                    return self._overwrite(table, stage.reader(), spec, props)
                if spec.strategy == "partition_overwrite":
                    return self._partition_overwrite(table, stage, spec, props)
                stage.check_keys(spec.merge_keys)
                if spec.strategy == "merge":
                    return self._merge(table, stage, spec, props)
                return self._scd2(table, stage, spec, props, _utc(effective_at))
        except CommitFailedError as exc:
            raise LoadError(
                f"{self.table_uri}: a concurrent commit conflicts with this load; run it again ({exc})",
                transient=True,
            ) from None
        except SchemaMismatchError as exc:
            raise SchemaChangeError(f"{self.table_uri}: {exc}") from None
        except DeltaError as exc:
            raise LoadError(f"{self.table_uri}: {_first_line(exc)}") from None

    def remove_keys(
        self,
        keys: pa.RecordBatchReader | pa.Table,
        key_columns: Sequence[str],
        *,
        action: Literal["delete", "soft_delete", "close"],
        soft_delete_column: str = "_deleted",
        scd2: Scd2Columns | None = None,
        closed_at: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> LoadResult:
        """Remove the rows of keys deleted at the source (a hard-delete reconciliation),
        in one commit.

        Deleting keys that are already gone changes nothing, so running it twice is safe.
        The whole table is read (no partition pruning): reconciliation is periodic.

        Args:
            keys: The deleted keys: one column per key column, of the table's types; for
                ``close`` also ``closed_at``, the time the versions end.
            key_columns: The merge keys.
            action: ``delete`` removes the rows; ``soft_delete`` sets
                ``soft_delete_column`` to true on them; ``close`` ends an SCD2 table's
                current version of each key (``valid_to`` = ``closed_at``,
                ``is_current`` false), keeping its history.
            soft_delete_column: The boolean column ``soft_delete`` sets.
            scd2: The history columns, for ``close``.
            closed_at: The column of ``keys`` holding the close time, for ``close``.
            metadata: Extra commit metadata.

        Returns:
            What the commit did (``rows_deleted`` or ``rows_updated``); ``skipped=True``
            with no commit when the table does not exist or ``keys`` is empty.

        Raises:
            LoadError: delta-rs failed; ``transient`` when a concurrent commit won.
        """
        table = self._open()
        data = keys.read_all() if isinstance(keys, pa.RecordBatchReader) else keys
        if table is None or data.num_rows == 0:
            return LoadResult(skipped=True, table_version=table.version() if table else None)
        history = scd2 or Scd2Columns()
        conditions: list[exp.Expr] = [
            exp.EQ(this=col(k, "target"), expression=col(k, "source")) for k in key_columns
        ]
        if action == "close":
            conditions.append(exp.EQ(this=col(history.is_current, "target"), expression=exp.true()))
        props = CommitProperties(
            custom_metadata={"lakegate.strategy": f"reconcile-{action}", **(metadata or {})}
        )
        try:
            merger = table.merge(
                data,
                delta_sql(exp.and_(*conditions)),
                source_alias="source",
                target_alias="target",
                commit_properties=props,
            )
            if action == "delete":
                merger = merger.when_matched_delete()
            elif action == "soft_delete":
                merger = merger.when_matched_update(
                    {delta_name(soft_delete_column): delta_sql(exp.true())}
                )
            else:
                closing = {
                    history.valid_to: col(closed_at or "closed_at", "source"),
                    history.is_current: exp.false(),
                }
                merger = merger.when_matched_update(
                    {delta_name(c): delta_sql(e) for c, e in closing.items()}
                )
            return _merged(table, merger.execute())
        except CommitFailedError as exc:
            raise LoadError(
                f"{self.table_uri}: a concurrent commit conflicts with this delete; "
                f"run it again ({exc})",
                transient=True,
            ) from None
        except DeltaError as exc:
            raise LoadError(f"{self.table_uri}: {_first_line(exc)}") from None

    # ------------------------------------------------------------------ strategies

    def _append(
        self, table: DeltaTable | None, data: Any, spec: LoadSpec, props: CommitProperties
    ) -> LoadResult:
        if table is None:
            return self._create(data, spec, props)
        differs = self._check_schema(table, data.schema, spec)
        write_deltalake(
            table,
            data,
            mode="append",
            schema_mode="merge" if differs else None,
            commit_properties=props,
        )
        return _written(table)

    def _overwrite(
        self, table: DeltaTable | None, data: Any, spec: LoadSpec, props: CommitProperties
    ) -> LoadResult:
        if table is None:
            return self._create(data, spec, props)
        differs = self._check_schema(table, data.schema, spec)
        deleted = _rows_in(table)
        write_deltalake(
            table,
            data,
            mode="overwrite",
            schema_mode="overwrite" if differs else None,
            partition_by=list(spec.partition_by) or None,
            commit_properties=props,
        )
        return _written(table, deleted=deleted)

    def _partition_overwrite(
        self, table: DeltaTable | None, stage: Stage, spec: LoadSpec, props: CommitProperties
    ) -> LoadResult:
        if table is None:
            return self._create(stage.reader(), spec, props)
        differs = self._check_schema(table, stage.schema, spec)
        parts = spec.partition_by
        values = stage.query(exp.select(*[col(p) for p in parts]).from_(BATCH).distinct())
        if not values:  # nothing to replace; still commit the app transaction
            return self._empty_commit(table, props)
        deleted = _rows_in(table, parts, values)
        write_deltalake(
            table,
            stage.reader(),
            mode="overwrite",
            predicate=delta_sql(partitions_predicate(parts, values)),
            schema_mode="merge" if differs else None,
            commit_properties=props,
        )
        return _written(table, deleted=deleted)

    def _merge(
        self, table: DeltaTable | None, stage: Stage, spec: LoadSpec, props: CommitProperties
    ) -> LoadResult:
        if table is None:
            return self._create(stage.reader(), spec, props)
        differs = self._check_schema(table, stage.schema, spec)
        if not stage.count():  # delta-rs does not commit an empty merge
            return self._empty_commit(table, props)
        conditions: list[exp.Expr] = [
            exp.EQ(this=col(k, "target"), expression=col(k, "source")) for k in spec.merge_keys
        ]
        # Prune: only the partitions the batch touches are read and rewritten (DESIGN.md
        # "Merge cost"). Assumes a key never moves between partitions.
        for part in table.metadata().partition_columns:
            present = stage.query(exp.select(col(part)).from_(BATCH).distinct())
            conditions.append(in_list(col(part, "target"), [row[0] for row in present]))
        metrics = (
            table.merge(
                stage.reader(),
                delta_sql(exp.and_(*conditions)),
                source_alias="source",
                target_alias="target",
                merge_schema=differs,
                commit_properties=props,
            )
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute()
        )
        return _merged(table, metrics)

    def _scd2(
        self,
        table: DeltaTable | None,
        stage: Stage,
        spec: LoadSpec,
        props: CommitProperties,
        at: dt.datetime,
    ) -> LoadResult:
        names = tuple(stage.schema.names)
        partitions = tuple(table.metadata().partition_columns) if table else spec.partition_by
        plan = Scd2Plan(names, spec.merge_keys, partitions, spec.scd2, at)
        if table is None:
            schema = history_schema(stage.schema, spec.scd2)
            return self._create(
                stage.reader(plan.versions(BATCH, schema.names), schema, counted=True), spec, props
            )
        self._check_schema(table, stage.schema, spec, ignore=spec.scd2.names())
        target = pa.schema(table.schema().to_arrow())
        lacking = [c for c in spec.scd2.names() if c not in target.names]
        if lacking:
            raise SchemaChangeError(
                f"{self.table_uri}: not an scd2 table: it lacks {', '.join(lacking)}",
                missing=tuple(lacking),
            )
        snapshot = DeltaDataset(self.table_uri, version=table.version(), label=self.table_uri)
        stage.register(_TARGET, snapshot)
        stage.create(_CHANGES, plan.changes(BATCH, _TARGET))
        kinds = {row[0]: row[1:] for row in stage.query(plan.summary(_CHANGES))}
        closing, latest = kinds.get(True, (0, None))
        if not closing and not kinds.get(False, (0,))[0]:  # every row unchanged
            return self._empty_commit(table, props)
        if latest is not None and latest > at:
            raise LoadError(
                f"{self.table_uri}: effective_at {at.isoformat()} is before the current "
                f"version's {spec.scd2.valid_from} {latest.isoformat()}; history must move forward"
            )
        if not closing:  # only new keys: a blind append
            rows = stage.reader(plan.versions(_CHANGES, tuple(target.names)), target, counted=True)
            write_deltalake(table, rows, mode="append", commit_properties=props)
            return _written(table)
        prune = [
            in_list(
                col(p, "target"),
                [r[0] for r in stage.query(plan.old_partition_values(_CHANGES, i))],
            )
            for i, p in enumerate(partitions)
        ]
        inserts, insert_when = plan.open()
        source = stage.reader(
            plan.merge_source(_CHANGES), plan.merge_source_schema(stage.schema), counted=True
        )
        metrics = (
            table.merge(
                source,
                delta_sql(plan.merge_predicate(prune)),
                source_alias="source",
                target_alias="target",
                commit_properties=props,
            )
            .when_matched_update({delta_name(c): delta_sql(e) for c, e in plan.close().items()})
            .when_not_matched_insert(
                {delta_name(c): delta_sql(e) for c, e in inserts.items()}, delta_sql(insert_when)
            )
            .execute()
        )
        return _merged(table, metrics)

    # ------------------------------------------------------------------ shared steps

    def _open(self) -> DeltaTable | None:
        try:
            return DeltaTable(self.table_uri, storage_options=self.storage_options or None)
        except TableNotFoundError:
            return None

    def _create(self, data: Any, spec: LoadSpec, props: CommitProperties) -> LoadResult:
        """Create the table from ``data`` (the first write of any strategy)."""
        try:
            write_deltalake(
                self.table_uri,
                data,
                mode="error",
                partition_by=list(spec.partition_by) or None,
                storage_options=self.storage_options or None,
                commit_properties=props,
            )
        except DeltaError:
            if self._open() is not None:
                raise LoadError(
                    f"{self.table_uri}: another writer created the table meanwhile; run the load again",
                    transient=True,
                ) from None
            raise
        table = self._open()
        assert table is not None
        return _written(table)

    def _check_schema(
        self, table: DeltaTable, batch: pa.Schema, spec: LoadSpec, ignore: Sequence[str] = ()
    ) -> bool:
        """:func:`check_schema` against ``table`` (without the ``ignore`` columns)."""
        columns = pa.schema(
            [f for f in pa.schema(table.schema().to_arrow()) if f.name not in ignore]
        )
        partitions = tuple(table.metadata().partition_columns)
        return check_schema(self.table_uri, columns, partitions, batch, spec)

    def _empty_commit(self, table: DeltaTable, props: CommitProperties) -> LoadResult:
        """Commit no data, only the app transaction (the batch changed nothing)."""
        empty = pa.schema(table.schema().to_arrow()).empty_table()
        write_deltalake(table, empty, mode="append", commit_properties=props)
        return LoadResult(skipped=False, table_version=table.version())


# ---------------------------------------------------------------------- helpers


def _written(table: DeltaTable, *, deleted: int | None = 0) -> LoadResult:
    """The result of a ``write_deltalake`` commit, from the table's history."""
    version = table.version()
    metrics: dict[str, Any] = {}
    for entry in table.history(limit=10):
        if entry.get("version") == version:
            metrics = entry.get("operationMetrics") or {}
            break
    added = metrics.get("num_added_rows")
    return LoadResult(
        skipped=False,
        table_version=version,
        rows_inserted=added,
        rows_updated=0,
        rows_deleted=deleted,
        rows_written=added,
        files_added=metrics.get("num_added_files"),
        files_removed=metrics.get("num_removed_files"),
    )


def _merged(table: DeltaTable, metrics: dict[str, Any]) -> LoadResult:
    """The result of a merge commit, from delta-rs's merge metrics."""
    return LoadResult(
        skipped=False,
        table_version=table.version(),
        rows_inserted=metrics.get("num_target_rows_inserted"),
        rows_updated=metrics.get("num_target_rows_updated"),
        rows_deleted=metrics.get("num_target_rows_deleted"),
        rows_written=metrics.get("num_output_rows"),
        files_added=metrics.get("num_target_files_added"),
        files_removed=metrics.get("num_target_files_removed"),
    )


def _rows_in(
    table: DeltaTable, parts: Sequence[str] = (), values: Sequence[tuple[Any, ...]] = ()
) -> int | None:
    """Rows of the snapshot (in the partitions ``values`` of ``parts``), from file stats."""
    actions = pa.table(table.get_add_actions(flatten=True))
    if not actions.num_rows:
        return 0
    counts = actions.column("num_records").to_pylist()
    if parts:
        wanted = set(values)
        keys = zip(*[actions.column(f"partition.{p}").to_pylist() for p in parts], strict=True)
        counts = [n for n, key in zip(counts, keys, strict=True) if key in wanted]
    return None if any(n is None for n in counts) else sum(counts)


def _utc(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return dt.datetime.now(dt.UTC)
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = ["DeltaSink"]
