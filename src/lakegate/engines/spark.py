"""Apache Spark as a query engine, through pyspark, with Delta Lake on Spark.

The checks and stages are sqlglot trees; this engine writes them in Spark SQL (sqlglot's
``spark`` dialect) and runs them on a SparkSession: ``local[*]`` on one machine, or any
cluster master (``spark://``, ``yarn``, ``k8s://``). Datasets become temporary views:
Parquet, CSV and JSON lines through Spark's readers, Delta tables through delta-spark
(``versionAsOf`` for time travel), Arrow streams through ``createDataFrame``.

The session runs in UTC (``spark.sql.session.timeZone``) with ANSI mode on (Spark 4's
default), so an expression DuckDB would answer differently fails instead of returning a
different answer. Timestamps come back as timezone-aware UTC datetimes, as DuckDB's do.

pyspark is imported only here (and in :mod:`lakegate.engines.spark_jars`, which only finds
files).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from sqlglot import exp

from lakegate.engines.spark_jars import session_jars
from lakegate.errors import ConfigError, EngineError, InputDataError
from lakegate.sources.files import ArrowDataset, Dataset, DeltaDataset

if TYPE_CHECKING:
    from lakegate.sinks import Sink

DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}
DEFAULT_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.showConsoleProgress": "false",
    # DuckDB's default too: a Parquet timestamp without a zone is read as UTC wall time.
    "spark.sql.parquet.int96RebaseModeInRead": "CORRECTED",
    "spark.sql.parquet.datetimeRebaseModeInRead": "CORRECTED",
}


@runtime_checkable
class SparkNativeDataset(Protocol):
    """A dataset Spark reads with a reader of its own (a JDBC table), not from files.

    Attributes:
        label: What the dataset is, for messages (never a secret).
    """

    label: str

    def spark_frame(self, session: Any) -> Any:
        """The dataset as a ``pyspark.sql.DataFrame`` of ``session``.

        Raises:
            InputDataError: The source cannot be read.
        """


class SparkEngine:
    """A SparkSession that registers datasets as temporary views and runs sqlglot trees.

    Args:
        master: The Spark master URL: ``local[*]`` (default), ``local[2]``,
            ``spark://host:7077``, ``yarn``, ``k8s://...``.
        app_name: The application name shown by the cluster manager.
        conf: Extra Spark configuration, passed through as given (strings).
        jars: ``"auto"``: the project's resolved jars (``make services``) on a local
            master, none on a cluster (it brings its own); a list of jar paths; or ``None``.
        session: An existing SparkSession to use (not stopped by :meth:`close`). Without
            it, the session already active in this process is used when it runs on
            ``master`` (``conf``'s runtime settings applied to it; not stopped either),
            else a new one is started (and stopped by :meth:`close`).

    Raises:
        ConfigError: pyspark is not installed, ``jars: auto`` finds no resolved jars
            for a local master, the active session runs on another master, or a
            ``conf`` setting it cannot change at runtime differs.
    """

    name = "spark"
    dialect = "spark"

    def __init__(
        self,
        master: str = "local[*]",
        *,
        app_name: str = "lakegate",
        conf: Mapping[str, str] | None = None,
        jars: str | list[str] | None = "auto",
        session: Any = None,
    ) -> None:
        if session is None:
            session = _active(master)
            self._own = session is None  # a session this engine started, stopped by close()
            if session is not None:
                _apply(session, conf or {})
        else:
            self._own = False
        self.session = session if session is not None else _build(master, app_name, conf, jars)
        self._views: set[str] = set()
        self._kept: dict[str, Any] = {}  # temporary tables: their computed DataFrames

    # ------------------------------------------------------------------ datasets

    def register(self, name: str, dataset: Dataset) -> None:
        """Make ``dataset`` queryable as the temporary view ``name`` (see ``Engine``).

        Raises:
            InputDataError: Spark cannot read the dataset.
            ConfigError: A CSV option Spark's reader cannot express (several null markers).
        """
        from pyspark.errors import PySparkException

        try:
            frame = self._frame(dataset)
            frame.createOrReplaceTempView(_identifier(name))
        except PySparkException as exc:
            raise InputDataError(
                f"{dataset.label or name}: cannot read: {_first_line(exc)}"
            ) from None
        self._views.add(name)

    def _frame(self, dataset: Dataset) -> Any:
        # A dataset only Spark reads (a JDBC source) builds its own DataFrame.
        if isinstance(dataset, SparkNativeDataset):
            return dataset.spark_frame(self.session)
        reader = self.session.read
        if isinstance(dataset, DeltaDataset):
            delta = reader.format("delta")
            if dataset.version is not None:
                delta = delta.option("versionAsOf", dataset.version)
            return delta.load(dataset.path)
        if isinstance(dataset, ArrowDataset):
            data = dataset.reader  # a RecordBatchReader, or a Table
            return self.session.createDataFrame(
                data.read_all() if hasattr(data, "read_all") else data
            )
        paths = list(dataset.paths)
        if dataset.format == "parquet":
            return reader.option("mergeSchema", len(paths) > 1).parquet(*paths)
        if dataset.format == "json":
            return reader.json(paths)
        options = dataset.csv
        if len(options.null_values) > 1:
            raise ConfigError(
                f"{dataset.label}: Spark's CSV reader takes one null marker, not "
                f"{list(options.null_values)}: pass one, or validate on the duckdb engine"
            )
        csv = reader.option("header", options.header).option("inferSchema", True)
        if options.null_values:
            csv = csv.option("nullValue", options.null_values[0])
        if options.delimiter is not None:
            csv = csv.option("sep", options.delimiter)
        return csv.csv(paths)

    def columns(self, name: str) -> dict[str, exp.DataType]:
        """``{column: type}`` of a registered view (Spark types parsed by sqlglot)."""
        schema = self.session.table(_identifier(name)).schema
        return {
            field.name: exp.DataType.build(field.dataType.simpleString(), dialect="spark", udt=True)
            for field in schema.fields
        }

    # ------------------------------------------------------------------ queries

    def query(self, expression: exp.Expr) -> list[tuple[Any, ...]]:
        """Run one query and return its rows as tuples (see ``Engine``).

        Raises:
            InputDataError: A file of a registered dataset cannot be read.
            EngineError: Spark refused or failed the query (the Spark SQL is in the message).
        """
        frame = self._sql(expression)
        try:
            rows = frame.collect()
        except Exception as exc:
            raise _error(exc, expression) from None
        types = [f.dataType for f in frame.schema.fields]
        return [tuple(_python(v, t) for v, t in zip(r, types, strict=True)) for r in rows]

    def execute(self, expression: exp.Expr) -> None:
        """Run a statement that returns nothing (CREATE VIEW/TABLE, DROP, ALTER ... RENAME).

        The runner's temporary tables live in the session, never in a catalog: ``CREATE
        TEMPORARY TABLE t AS query`` computes the query once and keeps its rows
        (``DataFrame.localCheckpoint``: on the executors, its lineage cut, so a source is
        never read twice), as the temporary view ``t``; ``CREATE VIEW`` makes a temporary
        view (computed when read); ``DROP TABLE``/``DROP VIEW`` drops such a view and
        frees its rows; ``ALTER TABLE a RENAME TO b`` renames it. Other statements run as
        Spark SQL.

        Raises:
            EngineError: Spark refused or failed the statement (a DROP without IF EXISTS
                of a view that does not exist too).
        """
        if isinstance(expression, exp.Create) and expression.kind in ("TABLE", "VIEW"):
            query = expression.expression
            if isinstance(query, exp.Query):
                frame = self._sql(query)
                if expression.kind == "TABLE":
                    try:
                        frame = frame.localCheckpoint(eager=True)
                    except Exception as exc:
                        raise _error(exc, query) from None
                self._keep(expression.this.name, frame)
                return
        if isinstance(expression, exp.Drop) and expression.kind in ("TABLE", "VIEW"):
            for table in expression.expressions:
                self._drop(table.name, exists=bool(expression.args.get("exists")))
            return
        actions = (
            (expression.args.get("actions") or []) if isinstance(expression, exp.Alter) else []
        )
        if len(actions) == 1 and isinstance(actions[0], exp.AlterRename):
            old, new = expression.this.name, actions[0].this.name
            self._keep(new, self.session.table(_identifier(old)))
            self._drop(old, exists=False)
            return
        self._sql(expression)

    def _keep(self, name: str, frame: Any) -> None:
        self._drop(name, exists=True)
        frame.createOrReplaceTempView(_identifier(name))
        self._views.add(name)
        self._kept[name] = frame

    def _drop(self, name: str, *, exists: bool) -> None:
        dropped = self.session.catalog.dropTempView(name)  # the name itself, not SQL
        if not dropped and not exists:
            raise EngineError(f"cannot drop {name!r}: no such temporary table or view")
        self._views.discard(name)
        frame = self._kept.pop(name, None)
        if frame is not None and all(f is not frame for f in self._kept.values()):
            frame.unpersist()

    def stream(self, expression: exp.Expr, rows_per_batch: int = 122_880) -> Any:
        """The query's result as a ``pyarrow.RecordBatchReader``.

        Spark's result is collected to the driver as Arrow (``DataFrame.toArrow``), then
        re-batched: memory is bounded by the result's size, not streamed as on DuckDB.
        """
        import pyarrow as pa

        frame = self._sql(expression)
        try:
            table = frame.toArrow()
        except Exception as exc:
            raise _error(exc, expression) from None
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(rows_per_batch))

    def _sql(self, expression: exp.Expr) -> Any:
        sql = expression.sql(dialect="spark")
        try:
            return self.session.sql(sql)
        except Exception as exc:
            raise _error(exc, expression) from None

    def sink(self, table_uri: str) -> Sink:
        """Delta Lake on Spark writes Spark's batches, on this session (see
        ``Engine.sink``), with the same ``txn`` actions as delta-rs."""
        from lakegate.sinks import create_sink

        return create_sink("spark-delta", table_uri, session=self.session)

    def staged(self, name: str) -> Any:
        """The temporary view ``name`` as a ``pyspark.sql.DataFrame``."""
        return self.session.table(_identifier(name))

    def describe(self) -> dict[str, str]:
        """The Spark application: ``name``, ``version``, ``master``, ``appName`` and
        ``appId`` (as the cluster manager and the Spark UI show them)."""
        context = self.session.sparkContext
        return {
            "name": self.name,
            "version": self.session.version,
            "master": context.master,
            "appName": context.appName,
            "appId": context.applicationId,
        }

    def progress(self) -> float:
        """Completed tasks of the active stages in percent, or -1 when nothing runs."""
        tracker = self.session.sparkContext.statusTracker()
        done = total = 0
        for stage_id in tracker.getActiveStageIds():
            info = tracker.getStageInfo(stage_id)
            if info is not None:
                done += info.numCompletedTasks
                total += info.numTasks
        return 100.0 * done / total if total else -1.0

    def close(self) -> None:
        """Drop the views this engine registered; stop the session when it made it."""
        for name in self._views:
            self.session.catalog.dropTempView(name)  # the name itself, not SQL
        self._views.clear()
        if self._own:
            self.session.stop()


def _active(master: str) -> Any:
    """The SparkSession already active in this process (a notebook's, an orchestrator's,
    an earlier run's), when it runs on ``master``; None when there is none.

    Raises:
        ConfigError: The active session runs on another master: lakegate cannot start a
            second one in the same process, and running elsewhere than configured would
            be a silent change.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return None
    active = SparkSession.getActiveSession()
    if active is None:
        return None
    running = active.sparkContext.master
    if running != master:
        raise ConfigError(
            f"a SparkSession on {running!r} is already active in this process, and "
            f"spark.master is {master!r}: set spark.master to {running!r}, or run "
            "lakegate in a process of its own"
        )
    return active


def _apply(session: Any, conf: Mapping[str, str]) -> None:
    """Set ``conf`` on a session already running (runtime settings only).

    Raises:
        ConfigError: A setting is fixed when a session starts (``spark.executor.memory``)
            and differs from the running session's.
    """
    for key, value in conf.items():
        if session.conf.get(key, None) == str(value):
            continue
        try:
            session.conf.set(key, str(value))
        except Exception as exc:
            raise ConfigError(
                f"spark.conf {key}: the SparkSession already active in this process has "
                f"another value, and it cannot change while it runs ({_first_line(exc)})"
            ) from None


def _build(
    master: str, app_name: str, conf: Mapping[str, str] | None, jars: str | list[str] | None
) -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(
            "engine spark needs pyspark and delta-spark: pip install 'lakegate[spark]'"
        ) from None
    builder = SparkSession.builder.master(master).appName(app_name)
    settings = {**DEFAULT_CONF, **DELTA_CONF}
    if master.startswith("local"):
        settings.update({"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"})
    # Spark's driver logs only errors (the first lines of a JVM start included).
    log4j = Path(__file__).with_name("conf") / "spark-log4j2.properties"
    # JVMs in UTC: a TIMESTAMP without a zone read by JDBC means UTC wall time, as on DuckDB.
    utc = "-Duser.timezone=UTC"
    settings["spark.driver.extraJavaOptions"] = f"-Dlog4j.configurationFile={log4j} {utc}"
    settings["spark.executor.extraJavaOptions"] = utc
    jar_paths = _jars(master, jars)
    if jar_paths:
        settings["spark.jars"] = ",".join(jar_paths)
    settings.update({k: str(v) for k, v in (conf or {}).items()})
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    # pyspark logs every failed query's Java stack trace; lakegate raises it as one line.
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    return session


def _jars(master: str, jars: str | list[str] | None) -> list[str]:
    if jars is None:
        return []
    if isinstance(jars, list):
        return [str(j) for j in jars]
    if jars != "auto":
        raise ConfigError(f"spark.jars must be 'auto', a list of paths or null, not {jars!r}")
    if not master.startswith("local"):
        return []  # a cluster brings its own Delta jars
    return [str(p) for p in session_jars()]


def _identifier(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="spark")


def _python(value: Any, data_type: Any) -> Any:
    """A value pyspark returned, as DuckDB's Python client returns the same SQL value.

    pyspark gives a TIMESTAMP as a naive local datetime (made aware UTC here; a
    TIMESTAMP_NTZ stays naive, as DuckDB's TIMESTAMP does) and a struct as a ``Row``
    (a dict here, as DuckDB's STRUCT); arrays and maps are converted element by element.

    Args:
        value: One value of a collected row.
        data_type: Its ``pyspark.sql.types.DataType`` (from the result's schema).
    """
    if value is None:
        return None
    kind = data_type.typeName()
    if kind == "timestamp":
        return value.astimezone(dt.UTC) if value.tzinfo is None else value
    if kind == "struct":
        return {f.name: _python(value[i], f.dataType) for i, f in enumerate(data_type.fields)}
    if kind == "array":
        return [_python(v, data_type.elementType) for v in value]
    if kind == "map":
        return {
            _python(k, data_type.keyType): _python(v, data_type.valueType) for k, v in value.items()
        }
    return value


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _error(exc: BaseException, expression: exp.Expr) -> Exception:
    message = _first_line(exc)
    if "FileNotFound" in message or "PATH_NOT_FOUND" in message:
        return InputDataError(f"cannot read the input: {message}")
    sql = expression.sql(dialect="spark")
    return EngineError(f"{message}\n  in Spark SQL: {sql[:2000]}")
