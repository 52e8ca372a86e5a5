"""The Spark engine's sink: Delta Lake tables written by delta-spark.

The same contract as the delta-rs sink (:class:`lakegate.sinks.delta.DeltaSink`), so a
table moves between engines: every strategy, the same refusals, the same SCD2 columns
and semantics (:class:`lakegate.sinks.staging.Scd2Plan`, rendered in Spark SQL), and the
same exactly-once record. Every write is one Delta commit carrying the pipeline's app
transaction (``txn``: app id and version), the action delta-rs writes too:

* inserts (create, append, overwrite, partition replacement) pass the writer options
  ``txnAppId``/``txnVersion``;
* MERGE runs under the session confs ``spark.databricks.delta.write.txnAppId`` /
  ``txnVersion``, set for the one statement and unset after it.

A version not above the table's committed version for the app id is skipped, checked
before writing (:meth:`SparkDeltaSink.committed_version`) and by Delta itself (a write it
deduplicates commits nothing, and the result says ``skipped``). The commit metadata
(``lakegate.strategy`` and :attr:`CommitInfo.metadata`) is the commit's ``userMetadata``,
a JSON object; :func:`lakegate.sinks.maintenance.commit_metadata` reads it back as delta-rs
commits' top-level keys are read.

Timestamps are written as Parquet ``TIMESTAMP_MICROS`` (UTC-adjusted, as delta-rs writes
them), not Spark's default INT96, so DuckDB reads the files as timestamps with time zone.
The session confs a write sets are session-wide: one write at a time per SparkSession.

Predicates and merge expressions are sqlglot trees written in Spark SQL (backtick-quoted
identifiers); partition values go through Spark as text and come back as typed
``CAST('text' AS type)`` literals, so no value is rendered by Python's own formatting.
Delta on Spark refuses column names holding `` ,;{}()=`` (and tabs, newlines) unless the
table uses column mapping, which this sink does not enable (delta-rs and DuckDB read
such tables differently); such a batch fails with Delta's message, as a LoadError.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import pyarrow as pa
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema
from sqlglot import exp

from lakegate.sinks import (
    CommitInfo,
    LoadError,
    LoadResult,
    LoadSpec,
    Scd2Columns,
    SchemaChangeError,
    merge_key_error,
)
from lakegate.sinks.staging import (
    MATCHED,
    OLD,
    RowsCallback,
    Scd2Plan,
    check_columns,
    check_schema,
    col,
)

SPARK = "spark"  # sqlglot's dialect for every tree this sink runs
TXN_APP_CONF = "spark.databricks.delta.write.txnAppId"
TXN_VERSION_CONF = "spark.databricks.delta.write.txnVersion"
USER_METADATA_CONF = "spark.databricks.delta.commitInfo.userMetadata"
_WRITE_CONF = {"spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS"}
_HISTORY = 20  # commits read back to find this write's own (newest first)


class SparkDeltaSink:
    """Loads batches into one Delta table with delta-spark.

    Args:
        table_uri: The table's directory or a URL Spark's file systems read (created on
            first write).
        session: A ``pyspark.sql.SparkSession`` with the Delta extensions
            (``spark.sql.extensions`` and the Delta catalog; see
            :class:`lakegate.engines.spark.SparkEngine`).
        storage_options: Object-store options for delta-rs, which
            :meth:`committed_version` reads the log with.
    """

    name = "spark-delta"

    def __init__(
        self,
        table_uri: str,
        *,
        session: SparkSession,
        storage_options: dict[str, str] | None = None,
    ) -> None:
        self.table_uri = str(table_uri)
        self.session = session
        self.storage_options = dict(storage_options or {})

    # ------------------------------------------------------------------ public

    def committed_version(self, app_id: str) -> int | None:
        """The last version committed for ``app_id`` (Delta ``txn``, by either writer), or None.

        Read from the log by delta-rs (``DeltaTable.transaction_version``), without Spark.
        """
        from deltalake import DeltaTable as RustTable
        from deltalake.exceptions import TableNotFoundError

        try:
            table = RustTable(self.table_uri, storage_options=self.storage_options or None)
        except TableNotFoundError:
            return None
        return table.transaction_version(app_id)

    def write(
        self,
        data: str | DataFrame | pa.Table | pa.RecordBatchReader,
        spec: LoadSpec,
        commit: CommitInfo,
        *,
        effective_at: dt.datetime | None = None,
        on_rows: RowsCallback | None = None,
    ) -> LoadResult:
        """Load ``data`` into the table with ``spec.strategy``, in exactly one commit.

        Args:
            data: The batch: the name of a Spark temporary view, a Spark ``DataFrame``, or
                an Arrow table or reader (collected and handed to ``createDataFrame``). A
                view or frame is read more than once (key checks, partition values, the
                write): its source must not change meanwhile.
            spec: The load strategy, keys and partitions.
            commit: The app transaction committed with the data.
            effective_at: For ``scd2``, when the batch's changes take effect (default:
                now; a naive value is UTC). Ignored by the other strategies.
            on_rows: Called once after the commit with the rows it inserted (Spark
                writes in its executors, not through this process).

        Returns:
            What the commit did, from its ``operationMetrics``, or ``skipped=True`` when
            ``commit.version`` is not above the table's committed version for
            ``commit.app_id`` (nothing is written).

        Raises:
            UserInputError: The spec names columns the batch lacks, or the batch holds
                the SCD2 history columns.
            DuplicateKeyError, NullKeyError: Merge keys repeat or are NULL in the batch.
            SchemaChangeError: The batch's columns or the partitioning differ from the
                table's and ``spec.allow_schema_change`` does not allow it.
            LoadError: Spark or Delta failed; ``transient`` when a concurrent commit won.
        """
        frame = self._frame(data)
        check_columns(_arrow(frame), spec)
        table = self._open()
        if table is not None:
            done = self.committed_version(commit.app_id)
            if done is not None and commit.version <= done:
                return LoadResult(skipped=True, table_version=_latest(table))
        txn = _Txn(
            commit.app_id,
            commit.version,
            json.dumps({"lakegate.strategy": spec.strategy, **commit.metadata}, sort_keys=True),
        )
        try:
            with _session_conf(self.session, _WRITE_CONF):
                result = self._dispatch(table, frame, spec, txn, effective_at)
        except LoadError:
            raise
        except Exception as exc:
            raise self._error(exc) from None
        if on_rows is not None and result.rows_inserted:
            on_rows(result.rows_inserted)
        return result

    def remove_keys(
        self,
        keys: str | DataFrame | pa.RecordBatchReader | pa.Table,
        key_columns: Sequence[str],
        *,
        action: Literal["delete", "soft_delete", "close"],
        soft_delete_column: str = "_deleted",
        scd2: Scd2Columns | None = None,
        closed_at: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> LoadResult:
        """Remove the rows of keys deleted at the source (a hard-delete reconciliation),
        in one commit (a MERGE).

        Deleting keys that are already gone changes nothing, so running it twice is safe.
        The whole table is read (no partition pruning): reconciliation is periodic.

        Args:
            keys: The deleted keys (a temporary view's name, a DataFrame, or Arrow): one
                column per key column, of the table's types; for ``close`` also
                ``closed_at``, the time the versions end.
            key_columns: The merge keys.
            action: ``delete`` removes the rows; ``soft_delete`` sets
                ``soft_delete_column`` to true on them; ``close`` ends an SCD2 table's
                current version of each key (``valid_to`` = ``closed_at``,
                ``is_current`` false), keeping its history.
            soft_delete_column: The boolean column ``soft_delete`` sets.
            scd2: The history columns, for ``close``.
            closed_at: The column of ``keys`` holding the close time, for ``close``.
            metadata: Extra commit metadata (the commit's ``userMetadata``).

        Returns:
            What the commit did (``rows_deleted`` or ``rows_updated``); ``skipped=True``
            with no commit when the table does not exist or ``keys`` is empty.

        Raises:
            LoadError: Spark or Delta failed; ``transient`` when a concurrent commit won.
        """
        table = self._open()
        if table is None:
            return LoadResult(skipped=True, table_version=None)
        if isinstance(keys, pa.RecordBatchReader | pa.Table) and not _arrow_rows(keys):
            return LoadResult(skipped=True, table_version=_latest(table))
        source = self._frame(keys)
        if source.isEmpty():
            return LoadResult(skipped=True, table_version=_latest(table))
        history = scd2 or Scd2Columns()
        conditions: list[exp.Expr] = [
            exp.EQ(this=col(k, "target"), expression=col(k, "source")) for k in key_columns
        ]
        if action == "close":
            conditions.append(exp.EQ(this=col(history.is_current, "target"), expression=exp.true()))
        user = json.dumps({"lakegate.strategy": f"reconcile-{action}", **(metadata or {})})
        before = _latest(table)
        try:
            merger = table.alias("target").merge(
                source.alias("source"), _sql(exp.and_(*conditions))
            )
            if action == "delete":
                merger = merger.whenMatchedDelete()
            elif action == "soft_delete":
                merger = merger.whenMatchedUpdate(set={_name(soft_delete_column): "true"})
            else:
                closing = {
                    history.valid_to: col(closed_at or "closed_at", "source"),
                    history.is_current: exp.false(),
                }
                merger = merger.whenMatchedUpdate(
                    set={_name(c): _sql(e) for c, e in closing.items()}
                )
            with _session_conf(self.session, {**_WRITE_CONF, USER_METADATA_CONF: user}):
                merger.execute()
            return self._result(table, before, user)
        except Exception as exc:
            raise self._error(exc) from None

    # ------------------------------------------------------------------ strategies

    def _dispatch(
        self,
        table: DeltaTable | None,
        frame: DataFrame,
        spec: LoadSpec,
        txn: _Txn,
        effective_at: dt.datetime | None,
    ) -> LoadResult:
        if spec.strategy in ("merge", "scd2"):
            self._check_keys(frame, spec.merge_keys)
        if spec.strategy == "scd2":
            return self._scd2(table, frame, spec, txn, _utc(effective_at))
        if table is None:
            return self._create(frame, spec, txn)
        before = _latest(table)
        differs = self._check_schema(table, frame, spec)
        if not differs or spec.strategy != "overwrite":
            frame = _align(frame, table.toDF().schema)
        if spec.strategy == "append":
            writer = frame.write.format("delta").mode("append")
            if differs:
                writer = writer.option("mergeSchema", "true")
            return self._save(table, writer, txn, before)
        if spec.strategy == "overwrite":
            deleted = table.toDF().count()  # Delta answers it from the log's statistics
            writer = frame.write.format("delta").mode("overwrite")
            if differs:
                writer = writer.option("overwriteSchema", "true")
            if spec.partition_by:
                writer = writer.partitionBy(*spec.partition_by)
            return self._save(table, writer, txn, before, deleted=deleted)
        if spec.strategy == "partition_overwrite":
            return self._partition_overwrite(table, frame, spec, txn, before, differs)
        return self._merge(table, frame, spec.merge_keys, txn, before, differs)

    def _partition_overwrite(
        self,
        table: DeltaTable,
        frame: DataFrame,
        spec: LoadSpec,
        txn: _Txn,
        before: int,
        differs: bool,
    ) -> LoadResult:
        types = _types(table.toDF().schema)
        rows = _texts(frame, spec.partition_by)
        if not rows:  # nothing to replace; still commit the app transaction
            return self._empty_commit(table, txn, before)
        predicate = _partitions(spec.partition_by, rows, types)
        writer = (
            frame.write.format("delta").mode("overwrite").option("replaceWhere", _sql(predicate))
        )
        if differs:
            writer = writer.option("mergeSchema", "true")
        return self._save(table, writer, txn, before)

    def _merge(
        self,
        table: DeltaTable,
        frame: DataFrame,
        keys: tuple[str, ...],
        txn: _Txn,
        before: int,
        differs: bool,
    ) -> LoadResult:
        conditions: list[exp.Expr] = [
            exp.EQ(this=col(k, "target"), expression=col(k, "source")) for k in keys
        ]
        # Prune: only the partitions the batch touches are read and rewritten (DESIGN.md
        # "Merge cost"). Assumes a key never moves between partitions.
        types = _types(table.toDF().schema)
        for part in _partition_columns(table):
            values = [row[0] for row in _texts(frame, (part,))]
            if values:
                conditions.append(_in_list(col(part, "target"), values, types[part]))
        merger = (
            table.alias("target")
            .merge(frame.alias("source"), _sql(exp.and_(*conditions)))
            .whenMatchedUpdateAll()
            .whenNotMatchedInsertAll()
        )
        if differs:
            merger = merger.withSchemaEvolution()
        with _session_conf(self.session, txn.confs()):
            merger.execute()  # an empty batch still commits the app transaction
        return self._result(table, before, txn.metadata)

    def _scd2(
        self,
        table: DeltaTable | None,
        frame: DataFrame,
        spec: LoadSpec,
        txn: _Txn,
        at: dt.datetime,
    ) -> LoadResult:
        history = spec.scd2
        names = tuple(frame.columns)
        partitions = _partition_columns(table) if table is not None else spec.partition_by
        plan = Scd2Plan(names, spec.merge_keys, partitions, history, at)
        stamp = F.lit(at).cast("timestamp")
        if table is None:
            versions = frame.select(
                *[_ref(n) for n in names],
                stamp.alias(history.valid_from),
                F.lit(None).cast("timestamp").alias(history.valid_to),
                F.lit(True).alias(history.is_current),
            )
            return self._create(versions, spec, txn)
        before = _latest(table)
        target = table.toDF()
        self._check_schema(table, frame, spec, ignore=history.names())
        lacking = [c for c in history.names() if c not in target.columns]
        if lacking:
            raise SchemaChangeError(
                f"{self.table_uri}: not an scd2 table: it lacks {', '.join(lacking)}",
                missing=tuple(lacking),
            )
        views = _Views(self.session)
        try:
            batch_view = views.add(_align(frame, target.schema))
            target_view = views.add(target)
            changes = self.session.sql(_sql(plan.changes(batch_view, target_view)))
            changes_view = views.add(changes.localCheckpoint(eager=True), keep=True)
            kinds = {r[0]: tuple(r[1:]) for r in self._rows(plan.summary(changes_view))}
            closing, latest = kinds.get(True, (0, None))
            if not closing and not kinds.get(False, (0,))[0]:  # every row unchanged
                return self._empty_commit(table, txn, before)
            if latest is not None and _as_utc(latest) > at:
                raise LoadError(
                    f"{self.table_uri}: effective_at {at.isoformat()} is before the current "
                    f"version's {history.valid_from} {_as_utc(latest).isoformat()}; "
                    "history must move forward"
                )
            if not closing:  # only new keys: a blind append
                rows = self.session.sql(_sql(plan.versions(changes_view, tuple(target.columns))))
                writer = _align(rows, target.schema).write.format("delta").mode("append")
                return self._save(table, writer, txn, before)
            types = _types(target.schema)
            prune = [
                _in_list(col(p, "target"), values, types[p])
                for i, p in enumerate(partitions)
                if (values := self._old_partitions(changes_view, i))
            ]
            inserts, insert_when = plan.open()
            source = self.session.sql(_sql(plan.merge_source(changes_view)))
            merger = (
                table.alias("target")
                .merge(source.alias("source"), _sql(plan.merge_predicate(prune)))
                .whenMatchedUpdate(set={_name(c): _sql(e) for c, e in plan.close().items()})
                .whenNotMatchedInsert(
                    condition=_sql(insert_when),
                    values={_name(c): _sql(e) for c, e in inserts.items()},
                )
            )
            with _session_conf(self.session, txn.confs()):
                merger.execute()
            return self._result(table, before, txn.metadata)
        finally:
            views.drop()

    # ------------------------------------------------------------------ shared steps

    def _frame(self, data: str | DataFrame | pa.Table | pa.RecordBatchReader) -> DataFrame:
        if isinstance(data, str):
            return self.session.table(_name(data))
        if isinstance(data, pa.RecordBatchReader):
            data = data.read_all()
        if isinstance(data, pa.Table):
            return self.session.createDataFrame(data)
        return data

    def _open(self) -> DeltaTable | None:
        if not DeltaTable.isDeltaTable(self.session, self.table_uri):
            return None
        return DeltaTable.forPath(self.session, self.table_uri)

    def _rows(self, select: exp.Expr) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.session.sql(_sql(select)).collect()]

    def _old_partitions(self, changes: str, index: int) -> list[str | None]:
        """The distinct values, as text, of partition ``index`` among the versions to close."""
        old = col(f"{OLD}{index}")
        select = (
            exp.select(exp.cast(old, "STRING"))
            .distinct()
            .from_(exp.to_table(changes, quoted=True))
            .where(col(MATCHED))
        )
        return [r[0] for r in self._rows(select)]

    def _check_keys(self, frame: DataFrame, keys: tuple[str, ...]) -> None:
        """Raise when a merge key repeats or is NULL in the batch (one aggregation)."""
        count = "__lakegate_rows"
        bad = F.col(count) > 1
        for key in keys:
            bad = bad | _ref(key).isNull()
        rows = (
            frame.groupBy(*[_ref(k) for k in keys])
            .agg(F.count(F.lit(1)).alias(count))
            .where(bad)
            .limit(1)
            .collect()
        )
        if not rows:
            return
        *sample, n = tuple(rows[0])
        raise merge_key_error(keys, tuple(sample), n)

    def _check_schema(
        self, table: DeltaTable, frame: DataFrame, spec: LoadSpec, ignore: Sequence[str] = ()
    ) -> bool:
        """:func:`check_schema` against ``table`` (without the ``ignore`` columns)."""
        columns = pa.schema([f for f in _arrow(table.toDF()) if f.name not in ignore])
        partitions = _partition_columns(table)
        return check_schema(self.table_uri, columns, partitions, _arrow(frame), spec)

    def _create(self, frame: DataFrame, spec: LoadSpec, txn: _Txn) -> LoadResult:
        """Create the table from ``frame`` (the first write of any strategy)."""
        writer = frame.write.format("delta").mode("errorifexists")
        if spec.partition_by:
            writer = writer.partitionBy(*spec.partition_by)
        try:
            txn.options(writer).save(self.table_uri)
        except Exception:
            if self._open() is not None:
                raise LoadError(
                    f"{self.table_uri}: another writer created the table meanwhile; run the load again",
                    transient=True,
                ) from None
            raise
        table = self._open()
        assert table is not None
        return self._result(table, -1, txn.metadata)

    def _save(
        self, table: DeltaTable, writer: Any, txn: _Txn, before: int, deleted: int | None = None
    ) -> LoadResult:
        txn.options(writer).save(self.table_uri)
        return self._result(table, before, txn.metadata, deleted=deleted)

    def _empty_commit(self, table: DeltaTable, txn: _Txn, before: int) -> LoadResult:
        """Commit no data, only the app transaction (the batch changed nothing)."""
        empty = self.session.createDataFrame([], table.toDF().schema)
        self._save(table, empty.write.format("delta").mode("append"), txn, before)
        return LoadResult(skipped=False, table_version=_latest(table))

    def _result(
        self, table: DeltaTable, before: int, metadata: str, *, deleted: int | None = None
    ) -> LoadResult:
        """This write's result, from its commit's ``operationMetrics``; ``skipped`` when no
        commit after ``before`` carries its metadata (Delta deduplicated the txn)."""
        entries = table.history(_HISTORY).collect()
        ours = [e for e in entries if e["version"] > before and e["userMetadata"] == metadata]
        if not ours:
            return LoadResult(skipped=True, table_version=max(e["version"] for e in entries))
        entry = max(ours, key=lambda e: e["version"])
        return _from_metrics(entry["version"], dict(entry["operationMetrics"] or {}), deleted)

    def _error(self, exc: Exception) -> LoadError:
        """A LoadError for what Spark or Delta raised (transient for a lost commit race)."""
        kind = type(exc).__name__
        text = _first_line(exc)
        if "Concurrent" in kind or "Concurrent" in text or "MetadataChanged" in kind:
            return LoadError(
                f"{self.table_uri}: a concurrent commit conflicts with this load; "
                f"run it again ({text})",
                transient=True,
            )
        if "DELTA_FAILED_TO_MERGE_FIELDS" in str(exc) or "schema mismatch" in str(exc).lower():
            return SchemaChangeError(f"{self.table_uri}: {text}")
        return LoadError(f"{self.table_uri}: {text}")


# ---------------------------------------------------------------------- helpers


class _Txn:
    """One write's app transaction and commit metadata, as writer options or session confs."""

    def __init__(self, app_id: str, version: int, metadata: str) -> None:
        self.app_id = app_id
        self.version = version
        self.metadata = metadata

    def options(self, writer: Any) -> Any:
        """``writer`` with the idempotent-write options and the commit's ``userMetadata``."""
        return (
            writer.option("txnAppId", self.app_id)
            .option("txnVersion", str(self.version))
            .option("userMetadata", self.metadata)
        )

    def confs(self) -> dict[str, str]:
        """The session confs that give a MERGE the same ``txn`` action and metadata."""
        return {
            TXN_APP_CONF: self.app_id,
            TXN_VERSION_CONF: str(self.version),
            USER_METADATA_CONF: self.metadata,
        }


class _Views:
    """Temporary views with unique names, dropped (and their checkpoints freed) at the end."""

    def __init__(self, session: SparkSession) -> None:
        self.session = session
        self._names: list[str] = []
        self._kept: list[DataFrame] = []

    def add(self, frame: DataFrame, *, keep: bool = False) -> str:
        name = f"__lakegate_{uuid.uuid4().hex}"
        frame.createOrReplaceTempView(name)
        self._names.append(name)
        if keep:
            self._kept.append(frame)
        return name

    def drop(self) -> None:
        for name in self._names:
            self.session.catalog.dropTempView(name)
        for frame in self._kept:
            frame.unpersist()


@contextmanager
def _session_conf(session: SparkSession, values: Mapping[str, str]) -> Iterator[None]:
    """Set session confs for a block, then restore what they were (unset when unset)."""
    previous = {key: session.conf.get(key, None) for key in values}
    for key, value in values.items():
        session.conf.set(key, value)
    try:
        yield
    finally:
        for key, old in previous.items():
            if old is None:
                session.conf.unset(key)
            else:
                session.conf.set(key, old)


def _from_metrics(version: int, metrics: dict[str, str], deleted: int | None) -> LoadResult:
    """A LoadResult from a commit's Delta ``operationMetrics`` (values are text)."""

    def number(key: str, default: int | None = None) -> int | None:
        value = metrics.get(key)
        return default if value is None else int(value)

    if "numTargetRowsInserted" in metrics:  # MERGE
        return LoadResult(
            skipped=False,
            table_version=version,
            rows_inserted=number("numTargetRowsInserted"),
            rows_updated=number("numTargetRowsUpdated"),
            rows_deleted=number("numTargetRowsDeleted"),
            rows_written=number("numOutputRows"),
            files_added=number("numTargetFilesAdded"),
            files_removed=number("numTargetFilesRemoved"),
        )
    added = number("numOutputRows")
    return LoadResult(  # WRITE (append, overwrite, replaceWhere, create)
        skipped=False,
        table_version=version,
        rows_inserted=added,
        rows_updated=0,
        rows_deleted=number("numDeletedRows", deleted if deleted is not None else 0),
        rows_written=added,
        files_added=number("numFiles"),
        files_removed=number("numRemovedFiles", 0),
    )


def _latest(table: DeltaTable) -> int:
    """The table's latest version (from its log)."""
    return int(table.history(1).collect()[0]["version"])


def _partition_columns(table: DeltaTable) -> tuple[str, ...]:
    return tuple(table.detail().collect()[0]["partitionColumns"])


def _arrow(frame: DataFrame) -> pa.Schema:
    """A frame's schema as Arrow (Spark timestamps as UTC microseconds)."""
    return to_arrow_schema(frame.schema, timestamp_utc=True)


def _arrow_rows(data: pa.Table | pa.RecordBatchReader) -> int:
    return data.num_rows if isinstance(data, pa.Table) else 1  # a reader: assume rows


def _align(frame: DataFrame, target: Any) -> DataFrame:
    """``frame`` with the columns the table also has cast to the table's types (the
    widenings :func:`check_schema` accepts, and NULL-typed columns), as delta-rs does."""
    types = {f.name: f.dataType for f in target.fields}
    columns = [
        _ref(f.name).cast(types[f.name]).alias(f.name)
        if f.name in types and f.dataType != types[f.name]
        else _ref(f.name)
        for f in frame.schema.fields
    ]
    return frame.select(*columns)


def _types(schema: Any) -> dict[str, exp.DataType]:
    """``{column: type}`` of a Spark schema, as sqlglot types."""
    return {
        f.name: exp.DataType.build(f.dataType.simpleString(), dialect=SPARK, udt=True)
        for f in schema.fields
    }


def _texts(frame: DataFrame, columns: Sequence[str]) -> list[tuple[str | None, ...]]:
    """The distinct value tuples of ``columns`` in ``frame``, each value as Spark's text."""
    rows = frame.select(*[_ref(c).cast("string").alias(c) for c in columns]).distinct().collect()
    return [tuple(r) for r in rows]


def _literal(text: str, kind: exp.DataType) -> exp.Expr:
    """The value Spark wrote as ``text``, back as a literal of the column's type."""
    value = exp.Literal.string(text)
    return (
        value if kind.is_type(exp.DataType.Type.TEXT, "varchar", "char") else exp.cast(value, kind)
    )


def _in_list(column: exp.Column, values: Sequence[str | None], kind: exp.DataType) -> exp.Expr:
    """``column IN (values)``, with ``OR column IS NULL`` when None is among them."""
    present = [v for v in values if v is not None]
    terms: list[exp.Expr] = [column.isin(*[_literal(v, kind) for v in present])] if present else []
    if len(present) < len(values):
        terms.append(column.is_(exp.null()))
    return exp.or_(*terms) if len(terms) > 1 else terms[0]


def _partitions(
    parts: Sequence[str], rows: Sequence[tuple[str | None, ...]], types: dict[str, exp.DataType]
) -> exp.Expr:
    """Exactly the partitions ``rows`` (text value tuples of ``parts``)."""
    if len(parts) == 1:
        return _in_list(col(parts[0]), [row[0] for row in rows], types[parts[0]])

    def equals(part: str, value: str | None) -> exp.Expr:
        if value is None:
            return col(part).is_(exp.null())
        return exp.EQ(this=col(part), expression=_literal(value, types[part]))

    return exp.or_(
        *[exp.and_(*[equals(p, v) for p, v in zip(parts, row, strict=True)]) for row in rows]
    )


def _ref(name: str) -> Any:
    """A column of a DataFrame by its exact name (dots and backticks quoted)."""
    return F.col(_name(name))


def _name(name: str) -> str:
    """A backtick-quoted Spark identifier."""
    return exp.to_identifier(name, quoted=True).sql(dialect=SPARK)


def _sql(expression: exp.Expr) -> str:
    return expression.sql(dialect=SPARK)


def _utc(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return dt.datetime.now(dt.UTC)
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def _as_utc(value: dt.datetime) -> dt.datetime:
    """A timestamp pyspark collected (naive, in this process's local time) as UTC."""
    return value.astimezone(dt.UTC)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = ["SparkDeltaSink"]
