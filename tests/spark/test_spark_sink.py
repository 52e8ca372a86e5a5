"""The delta-spark sink against the delta-rs sink: the same input gives the same table and
counts, exactly once across both writers; every table Spark writes is read back through
DuckDB and delta-rs (never deltalake's ``to_pyarrow_*`` readers: delta-rs issue 2184)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from sqlglot import exp

from lakegate.engines import create_engine
from lakegate.sinks import (
    RUN_METADATA_KEY,
    CommitInfo,
    DuplicateKeyError,
    LoadError,
    LoadResult,
    LoadSpec,
    NullKeyError,
    SchemaChangeError,
    create_sink,
)
from lakegate.sinks.delta import DeltaSink
from lakegate.sinks.maintenance import commit_metadata, table_history
from lakegate.sources.files import resolve_input

pytest.importorskip("delta", reason="delta-spark is not installed: make services")

from lakegate.sinks.spark_delta import TXN_APP_CONF, USER_METADATA_CONF, SparkDeltaSink

UTC = dt.UTC
D1, D2, D3 = dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 1, 3)
T1 = dt.datetime(2024, 1, 1, 6, 0, tzinfo=UTC)
T2 = dt.datetime(2024, 1, 2, 6, 0, tzinfo=UTC)
T3 = dt.datetime(2024, 1, 3, 6, 0, tzinfo=UTC)

COLUMNS = ("id", "day", "value")
HISTORY = (*COLUMNS, "valid_from", "valid_to", "is_current")
MERGE = LoadSpec("merge", merge_keys=("id",), partition_by=("day",))
SCD2 = LoadSpec("scd2", merge_keys=("id",))


@pytest.fixture(scope="module")
def session(spark: Any) -> Iterator[Any]:
    """The one Spark session of this module, with Delta's log replay on few partitions
    (its default, 50, costs seconds per commit on a small machine)."""
    spark.conf.set("spark.databricks.delta.snapshotPartitions", "2")
    yield spark
    spark.conf.unset("spark.databricks.delta.snapshotPartitions")


def batch(ids: list[Any], days: list[dt.date], values: list[str | None]) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "day": pa.array(days, pa.date32()),
            "value": pa.array(values, pa.string()),
        }
    )


def commit(version: int, app_id: str = "pipe") -> CommitInfo:
    run = {"version": version, "record": {"run_id": f"run-{version}", "pipeline_name": app_id}}
    return CommitInfo(app_id, version, {RUN_METADATA_KEY: json.dumps(run)})


def read(
    path: Path, columns: tuple[str, ...] = COLUMNS, order: tuple[str, ...] = ()
) -> list[tuple[Any, ...]]:
    """The table's rows through lakegate's DuckDB engine (read_parquet of the files
    delta-rs lists), sorted by ``order`` (default: every column)."""
    engine = create_engine()
    try:
        engine.register("t", resolve_input(path))
        select = exp.select(*[exp.column(c, quoted=True) for c in columns]).from_("t")
        keys = [exp.column(c, quoted=True) for c in order or columns]
        return engine.query(
            select.order_by(*[exp.Ordered(this=k, nulls_first=False) for k in keys])
        )
    finally:
        engine.close()


def counts(result: LoadResult) -> tuple[Any, ...]:
    return (result.skipped, result.rows_inserted, result.rows_updated, result.rows_deleted)


def both(
    session: Any,
    tmp_path: Path,
    steps: list[tuple[pa.Table, LoadSpec, dt.datetime | None]],
    columns: tuple[str, ...] = COLUMNS,
) -> tuple[Path, list[LoadResult]]:
    """Run ``steps`` through delta-rs and Spark into two tables; assert the same counts
    and content; return the Spark table and its results."""
    rust, spark = (
        DeltaSink(str(tmp_path / "rs")),
        SparkDeltaSink(str(tmp_path / "sp"), session=session),
    )
    results = []
    for version, (rows, spec, at) in enumerate(steps, start=1):
        expected = rust.write(rows, spec, commit(version), effective_at=at)
        got = spark.write(session.createDataFrame(rows), spec, commit(version), effective_at=at)
        assert counts(got) == counts(expected), (spec.strategy, version)
        results.append(got)
    assert read(tmp_path / "sp", columns) == read(tmp_path / "rs", columns)
    assert spark.committed_version("pipe") == len(steps)
    return tmp_path / "sp", results


# ---------------------------------------------------------------------- strategies


def test_append_and_overwrite_match_delta_rs(session: Any, tmp_path: Path) -> None:
    path, results = both(
        session,
        tmp_path,
        [
            (batch([1, 2], [D1, D1], ["a", "b"]), LoadSpec("append"), None),
            (batch([3], [D2], ["c"]), LoadSpec("append"), None),
            (batch([9], [D3], ["z"]), LoadSpec("overwrite"), None),
        ],
    )
    assert [counts(r) for r in results] == [(False, 2, 0, 0), (False, 1, 0, 0), (False, 1, 0, 3)]
    assert [r.table_version for r in results] == [0, 1, 2]
    assert read(path) == [(9, D3, "z")]
    entry = DeltaTable(str(path)).history(1)[0]  # delta-rs reads what Spark committed
    assert commit_metadata(entry)["lakegate.strategy"] == "overwrite"


def test_merge_matches_delta_rs_and_prunes_partitions(session: Any, tmp_path: Path) -> None:
    path, results = both(
        session,
        tmp_path,
        [
            (batch([1, 2, 3], [D1, D2, D3], ["a", "b", "c"]), MERGE, None),
            (batch([2, 5], [D2, D2], ["B", "e"]), MERGE, None),
            (batch([], [], []), MERGE, None),  # empty: commits only the app transaction
        ],
    )
    assert counts(results[1]) == (False, 1, 1, 0)
    assert (results[1].files_removed, results[1].rows_written) == (1, 2)  # only day D2
    assert results[2].table_version == 2 and not results[2].skipped
    assert read(path) == [(1, D1, "a"), (2, D2, "B"), (3, D3, "c"), (5, D2, "e")]
    assert session.conf.get(TXN_APP_CONF, None) is None  # the session confs are unset again
    assert session.conf.get(USER_METADATA_CONF, None) is None


def test_partition_overwrite_over_odd_values_matches_delta_rs(session: Any, tmp_path: Path) -> None:
    spec = LoadSpec("partition_overwrite", partition_by=("region", "day"))
    first = pa.table(
        {
            "region": ["eu", "eu", "us", "it's", None],
            "day": pa.array([D1, D2, D1, D1, D1]),
            "n": pa.array([1, 2, 3, 4, 5], pa.int64()),
        }
    )
    replace = pa.table(
        {"region": ["eu", "it's", None], "day": pa.array([D2, D1, D1]), "n": [20, 40, 50]}
    )
    path, results = both(
        session, tmp_path, [(first, spec, None), (replace, spec, None)], ("region", "day", "n")
    )
    assert counts(results[1]) == (False, 3, 0, 3)
    assert sorted(r[2] for r in read(path, ("region", "day", "n"))) == [1, 3, 20, 40, 50]


def test_scd2_history_matches_delta_rs(session: Any, tmp_path: Path) -> None:
    path, results = both(
        session,
        tmp_path,
        [
            (batch([1, 2, 3], [D1, D1, D1], ["a", "b", None]), SCD2, T1),
            (batch([3, 2, 1], [D1, D1, D1], [None, "b", "a"]), SCD2, T2),  # unchanged
            (batch([1, 3, 4], [D1, D1, D2], ["A", "c", "d"]), SCD2, T3),
            (batch([5], [D3], ["e"]), SCD2, T3),  # a new key only: a blind append
        ],
        HISTORY,
    )
    assert [counts(r) for r in results] == [
        (False, 3, 0, 0),
        (False, 0, 0, 0),
        (False, 3, 2, 0),
        (False, 1, 0, 0),
    ]
    assert [r.table_version for r in results] == [0, 1, 2, 3]  # one commit each
    assert read(path, HISTORY, ("id", "valid_from")) == [
        (1, D1, "a", T1, T3, False),
        (1, D1, "A", T3, None, True),
        (2, D1, "b", T1, None, True),
        (3, D1, None, T1, T3, False),
        (3, D1, "c", T3, None, True),
        (4, D2, "d", T3, None, True),
        (5, D3, "e", T3, None, True),
    ]
    sink = SparkDeltaSink(str(path), session=session)
    with pytest.raises(LoadError, match="history must move forward"):
        sink.write(
            session.createDataFrame(batch([1], [D1], ["x"])), SCD2, commit(5), effective_at=T2
        )


# ---------------------------------------------------------------------- exactly once


@pytest.mark.parametrize("spec", [LoadSpec("append"), MERGE], ids=lambda s: s.strategy)
def test_the_same_commit_version_twice_is_skipped(
    session: Any, tmp_path: Path, spec: LoadSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t"
    sink = SparkDeltaSink(str(path), session=session)
    assert sink.committed_version("pipe") is None
    session.createDataFrame(batch([1, 2], [D1, D2], ["a", "b"])).createOrReplaceTempView("held")
    first = sink.write("held", spec, commit(1))  # a temporary view's name
    content = read(path)
    again = sink.write("held", spec, commit(1))
    assert again.skipped and again.table_version == first.table_version == 0
    # Delta's own txn check, when ours is bypassed (a racing writer read the old version):
    monkeypatch.setattr(sink, "committed_version", lambda app_id: None)
    raced = sink.write("held", spec, commit(1))
    assert raced.skipped and raced.table_version == 0
    assert read(path) == content and DeltaTable(str(path)).version() == 0
    session.catalog.dropTempView("held")


def test_a_table_moves_between_writers_exactly_once(session: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "shared")
    rust, spark = DeltaSink(path), SparkDeltaSink(path, session=session)
    rust.write(batch([1, 2], [D1, D1], ["a", "b"]), MERGE, commit(1))  # delta-rs creates
    on_spark = spark.write(
        session.createDataFrame(batch([2, 3], [D1, D2], ["B", "c"])), MERGE, commit(2)
    )
    assert counts(on_spark) == (False, 1, 1, 0) and on_spark.table_version == 1
    # each writer skips a version the other committed
    assert rust.write(batch([9], [D3], ["z"]), MERGE, commit(2)).skipped
    assert rust.committed_version("pipe") == spark.committed_version("pipe") == 2
    back = rust.write(batch([4], [D2], ["d"]), LoadSpec("append"), commit(3))
    assert (back.skipped, back.table_version) == (False, 2)
    late = spark.write(
        session.createDataFrame(batch([9], [D3], ["z"])), LoadSpec("append"), commit(3)
    )
    assert late.skipped and late.table_version == 2
    expected = [(1, D1, "a"), (2, D1, "B"), (3, D2, "c"), (4, D2, "d")]
    assert read(tmp_path / "shared") == expected
    table = DeltaTable(path)  # delta-rs reads the Spark commits' log, files and stats
    assert table.metadata().partition_columns == ["day"] and len(table.file_uris()) >= 2
    assert sorted(r[0] for r in session.read.format("delta").load(path).collect()) == [1, 2, 3, 4]


# ---------------------------------------------------------------------- refusals


def test_merge_key_and_schema_refusals(session: Any, tmp_path: Path) -> None:
    path = tmp_path / "t"
    sink = SparkDeltaSink(str(path), session=session)
    sink.write(session.createDataFrame(batch([1], [D1], ["a"])), MERGE, commit(1))
    duplicated = session.createDataFrame(batch([2, 7, 7], [D1, D1, D2], ["b", "x", "y"]))
    with pytest.raises(DuplicateKeyError) as info:
        sink.write(duplicated, MERGE, commit(2))
    assert "id=7" in str(info.value) and info.value.sample == (7,) and info.value.count == 2
    with pytest.raises(NullKeyError, match="NULL merge key"):
        sink.write(
            session.createDataFrame(batch([None, 3], [D1, D1], ["n", "c"])), MERGE, commit(2)
        )
    wider = batch([2], [D1], ["b"]).append_column("extra", pa.array([7], pa.int32()))
    with pytest.raises(SchemaChangeError, match="new columns: extra"):
        sink.write(session.createDataFrame(wider), MERGE, commit(2))
    with pytest.raises(SchemaChangeError, match="partitioned by"):
        sink.write(wider, LoadSpec("partition_overwrite", partition_by=("value",)), commit(2))
    assert DeltaTable(str(path)).version() == 0 and sink.committed_version("pipe") == 1
    evolve = LoadSpec("merge", merge_keys=("id",), allow_schema_change=True)
    sink.write(session.createDataFrame(wider), evolve, commit(2))
    assert read(path, (*COLUMNS, "extra")) == [(1, D1, "a", None), (2, D1, "b", 7)]
    narrow = pa.table(
        {"id": pa.array([1], pa.int64()), "day": pa.array([D1]), "extra": pa.array([8], pa.int32())}
    )
    with pytest.raises(SchemaChangeError, match="missing columns: value"):
        sink.write(narrow, MERGE, commit(3))
    lacking = LoadSpec("merge", merge_keys=("id",), allow_missing_columns=("value",))
    sink.write(narrow, lacking, commit(3))  # the table keeps the missing column's value
    assert read(path, (*COLUMNS, "extra")) == [(1, D1, "a", 8), (2, D1, "b", 7)]


# ---------------------------------------------------------------------- readers, reconcile


def test_the_commit_metadata_reaches_the_history_readers(session: Any, tmp_path: Path) -> None:
    path = tmp_path / "t"
    sink = SparkDeltaSink(str(path), session=session)
    sink.write(session.createDataFrame(batch([1], [D1], ["a"])), MERGE, commit(1))
    sink.write(session.createDataFrame(batch([1], [D1], ["b"])), MERGE, commit(2))
    newest = table_history(str(path))
    assert [(c.version, c.run_id, c.pipeline, c.operation) for c in newest] == [
        (1, "run-2", "pipe", "MERGE"),
        (0, "run-1", "pipe", "WRITE"),
    ]
    # what crash recovery reads: the payload of the committed version, from delta-rs history
    found = [commit_metadata(e).get(RUN_METADATA_KEY) for e in DeltaTable(str(path)).history()]
    assert [json.loads(raw)["version"] for raw in found if raw] == [2, 1]
    assert newest[0].metrics["numTargetRowsUpdated"] == "1"


def test_remove_keys_matches_delta_rs(session: Any, tmp_path: Path) -> None:
    rust, spark = (
        DeltaSink(str(tmp_path / "rs")),
        SparkDeltaSink(str(tmp_path / "sp"), session=session),
    )
    rows = batch([1, 2, 3], [D1, D1, D2], ["a", "b", "c"])
    for sink in (rust, spark):
        sink.write(rows, SCD2, commit(1), effective_at=T1)
    deleted = pa.table({"id": pa.array([2, 9], pa.int64()), "closed_at": pa.array([T2, T2])})
    for action in ("close", "delete"):
        keys = deleted if action == "close" else deleted.select(["id"])
        expected = rust.remove_keys(keys, ("id",), action=action, closed_at="closed_at")
        got = spark.remove_keys(keys, ("id",), action=action, closed_at="closed_at")
        assert counts(got) == counts(expected), action
    assert read(tmp_path / "sp", HISTORY) == read(tmp_path / "rs", HISTORY)
    assert [r[0] for r in read(tmp_path / "sp", HISTORY)] == [1, 3]
    empty = spark.remove_keys(deleted.slice(0, 0), ("id",), action="delete")
    assert empty.skipped and empty.table_version == 2
    assert isinstance(
        create_sink("spark-delta", str(tmp_path / "x"), session=session), SparkDeltaSink
    )


def test_merge_quotes_odd_names_and_values_as_delta_rs_does(session: Any, tmp_path: Path) -> None:
    """Quotes in names and values. (Delta on Spark refuses `` ,;{}()=`` in column names
    without column mapping; DuckDB's hive reading of a Spark table misses a partition
    column whose name Spark escapes in its paths, e.g. ``part'x``.)"""
    spec = LoadSpec("merge", merge_keys=("my'id",), partition_by=("part",))
    odd = pa.table({"my'id": [1, 2, 3], "part": ["it's", "a\\b", None], "v": ["1", "2", "3"]})
    update = pa.table({"my'id": [1, 3], "part": ["it's", None], "v": ["one", "three"]})
    path, results = both(
        session, tmp_path, [(odd, spec, None), (update, spec, None)], ("my'id", "part", "v")
    )
    assert counts(results[1]) == (False, 0, 2, 0) and results[1].files_removed == 2
    assert read(path, ("my'id", "part", "v"), ("my'id",)) == [
        (1, "it's", "one"),
        (2, "a\\b", "2"),
        (3, None, "three"),
    ]
