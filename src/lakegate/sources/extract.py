"""Plan what a run extracts: which files, and which rows (the watermark filter)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any, cast

from sqlglot import exp

from lakegate.config.pipeline import FileSource, Pipeline, RestSource, SqlSource
from lakegate.config.project import Project
from lakegate.sources.files import ArrowDataset, CsvOptions, Dataset, FileDataset, resolve_input

FileStamp = tuple[str, int, int]  # path, size in bytes, mtime in nanoseconds


@dataclass(frozen=True)
class ExtractPlan:
    """What to read.

    Attributes:
        dataset: The input, or None when there is nothing new to read.
        key: The incremental key column, or None.
        lower_bound: Rows with ``key >= lower_bound`` are read (watermark - lookback), or
            None. Inclusive: rows stamped with the watermark's value after the last run
            are read; the runner drops those already loaded (:mod:`lakegate.boundary`).
        files: The files read, with size and mtime, for the new-files mode.
        pushed_down: The source applied the ``key >= lower_bound`` filter itself (SQL, REST).
    """

    dataset: Dataset | None
    key: str | None = None
    lower_bound: Any = None
    files: tuple[FileStamp, ...] = ()
    pushed_down: bool = False

    def filter(self) -> exp.Expr | None:
        """The row filter for the extract, or None (also when the source applied it)."""
        if self.key is None or self.lower_bound is None or self.pushed_down:
            return None
        return exp.GTE(this=exp.column(self.key, quoted=True), expression=literal(self.lower_bound))


def literal(value: Any) -> exp.Expr:
    """A SQL literal for a watermark value (aware datetimes as TIMESTAMPTZ)."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return exp.cast(exp.Literal.string(aware.isoformat()), exp.DataType.build("TIMESTAMPTZ"))
    return exp.convert(value)


def _stamp(path: str) -> FileStamp:
    st = os.stat(path)
    return (path, st.st_size, st.st_mtime_ns)


def plan_extract(
    project: Project,
    pipeline: Pipeline,
    *,
    watermark: Any,
    run_date: dt.date | None,
    loaded_files: dict[str, tuple[int, int]],
    schema: Any = None,
    engine: str = "duckdb",
) -> ExtractPlan:
    """Decide what a run reads.

    Args:
        project: The project (paths are relative to its root).
        pipeline: The pipeline.
        watermark: The stored watermark (None on a first run or a full refresh).
        run_date: Fills ``{run_date}`` in the source path (ISO date).
        loaded_files: ``{path: (size, mtime_ns)}`` already loaded (new-files mode).
        schema: The contract's columns as a ``pyarrow.Schema`` (types REST records), or None.
        engine: The engine's name (``duckdb``, ``spark``). On ``spark`` a SQL source is a
            :class:`~lakegate.sources.spark_jdbc.JdbcDataset`, read by Spark's JDBC reader
            on the executors; on any other engine the driver process reads it as Arrow.

    Raises:
        ConfigError: ``{run_date}`` is in the path but no run date was given,
            a lookback is used with a non-temporal watermark, or a SQL source sets a
            Spark-only key (``partition_column``, ...) on another engine.
        InputDataError: The input cannot be found.
    """
    extract = pipeline.extract
    source = extract.source
    if not isinstance(source, FileSource):
        return _plan_reader(pipeline, watermark, schema, engine)
    path = source.path
    if "{run_date}" in path:
        if run_date is None:
            raise pipeline.error(
                "the source path has {run_date}: pass --run-date", ("extract", "source", "path")
            )
        path = path.replace("{run_date}", run_date.isoformat())
    csv = CsvOptions(source.csv.delimiter, source.csv.header, tuple(source.csv.null_values))
    dataset = resolve_input(project.path(path), csv=csv, format=source.format)
    if extract.strategy == "new_files":
        if not isinstance(dataset, FileDataset):
            raise pipeline.error(
                "new_files needs files, not a Delta table", ("extract", "strategy")
            )
        stamps = [_stamp(p) for p in dataset.paths]
        new = tuple(s for s in stamps if loaded_files.get(s[0]) != (s[1], s[2]))
        if not new:
            return ExtractPlan(dataset=None, files=())
        return ExtractPlan(
            dataset=FileDataset(
                tuple(s[0] for s in new), dataset.format, dataset.csv, dataset.label
            ),
            files=new,
        )
    if extract.strategy == "incremental":
        lower = _lower_bound(pipeline, watermark)
        return ExtractPlan(dataset=dataset, key=extract.incremental_key, lower_bound=lower)
    return ExtractPlan(dataset=dataset)


def _lower_bound(pipeline: Pipeline, watermark: Any) -> Any:
    """The watermark minus the lookback: rows with ``key >=`` this are read."""
    lookback = pipeline.extract.lookback_seconds
    if watermark is None or not lookback:
        return watermark
    if not isinstance(watermark, dt.date):
        raise pipeline.error(
            "lookback needs a date or timestamp incremental_key", ("extract", "lookback")
        )
    return watermark - dt.timedelta(seconds=lookback)


def _plan_reader(pipeline: Pipeline, watermark: Any, schema: Any, engine: str) -> ExtractPlan:
    """SQL and REST sources: the watermark filter goes to the source (a bound parameter;
    on Spark's JDBC reader a pushed-down filter)."""
    extract = pipeline.extract
    source = extract.source
    if extract.strategy == "new_files":
        raise pipeline.error(
            f"new_files needs a file source, not {source.type}", ("extract", "strategy")
        )
    incremental = extract.strategy == "incremental"
    key = extract.incremental_key if incremental else None
    lower = _lower_bound(pipeline, watermark) if incremental else None
    dataset: Dataset
    if isinstance(source, SqlSource) and engine == "spark":
        from lakegate.sources.spark_jdbc import JdbcDataset

        # A SparkNativeDataset: SparkEngine.register builds its frame (not in Dataset's
        # union, which names the datasets every engine reads).
        dataset = cast(Dataset, JdbcDataset.from_source(source, key=key, lower_bound=lower))
    elif isinstance(source, SqlSource):
        if source.partitioning_keys:
            name = source.partitioning_keys[0]
            raise pipeline.error(
                f"{name} splits a read on the spark engine only; this project's engine is "
                f"{engine}: remove {', '.join(source.partitioning_keys)}, or run on spark",
                ("extract", "source", name),
            )
        from lakegate.sources.sql import read_sql

        read = read_sql(source, key=key, lower_bound=lower)
        dataset = ArrowDataset(read.reader, read.label)
    else:
        from lakegate.sources.rest import fetch_records

        assert isinstance(source, RestSource)
        table = fetch_records(source, schema=schema, watermark=lower)
        dataset = ArrowDataset(table, source.url.split("?")[0])
    return ExtractPlan(dataset=dataset, key=key, lower_bound=lower, pushed_down=True)
