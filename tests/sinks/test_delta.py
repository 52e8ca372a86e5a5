"""The Delta sink: every strategy on real Delta tables, read back through lakegate's DuckDB engine.

deltalake's ``to_pyarrow_*`` readers are never used here (delta-rs issue 2184).
"""

from __future__ import annotations

import datetime as dt
import decimal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from sqlglot import exp

from lakegate.engines import create_engine
from lakegate.errors import UserInputError
from lakegate.sinks import (
    CommitInfo,
    DuplicateKeyError,
    LoadError,
    LoadSpec,
    NullKeyError,
    SchemaChangeError,
    create_sink,
)
from lakegate.sinks.delta import DeltaSink
from lakegate.sinks.staging import StagedBatch
from lakegate.sources.files import resolve_input

UTC = dt.UTC
D1, D2, D3 = dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 1, 3)
T1 = dt.datetime(2024, 1, 1, 6, 0, tzinfo=UTC)
T2 = dt.datetime(2024, 1, 2, 6, 0, tzinfo=UTC)
T3 = dt.datetime(2024, 1, 3, 6, 0, tzinfo=UTC)

MERGE = LoadSpec("merge", merge_keys=("id",), partition_by=("day",))
SCD2 = LoadSpec("scd2", merge_keys=("id",))


def batch(ids: list[int], days: list[dt.date], values: list[str | None]) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "day": pa.array(days, pa.date32()),
            "value": pa.array(values, pa.string()),
        }
    )


BATCH_COLUMNS = ("id", "day", "value")
HISTORY = (*BATCH_COLUMNS, "valid_from", "valid_to", "is_current")


def read(
    path: Path, columns: tuple[str, ...] = BATCH_COLUMNS, order: tuple[str, ...] = ()
) -> list[tuple[Any, ...]]:
    """The table's rows (``columns``: delta-rs moves partition columns last) through
    lakegate's DuckDB engine, sorted by ``order`` (default: every column)."""
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


def commit(version: int, app_id: str = "pipe") -> CommitInfo:
    return CommitInfo(app_id, version, {"run_id": f"run-{version}"})


def versions_of(path: Path) -> int:
    return DeltaTable(str(path)).version()


@pytest.fixture
def table(tmp_path: Path) -> Path:
    return tmp_path / "target"


# ---------------------------------------------------------------------- append / overwrite


def test_append_creates_then_adds(table: Path) -> None:
    sink = DeltaSink(str(table))
    first = sink.write(batch([1, 2], [D1, D1], ["a", "b"]), LoadSpec("append"), commit(1))
    assert (first.skipped, first.table_version, first.rows_inserted) == (False, 0, 2)
    reader = pa.RecordBatchReader.from_batches(
        batch([3], [D2], ["c"]).schema, batch([3], [D2], ["c"]).to_batches()
    )
    second = sink.write(reader, LoadSpec("append"), commit(2))
    assert (second.table_version, second.rows_inserted, second.rows_written) == (1, 1, 1)
    assert read(table) == [(1, D1, "a"), (2, D1, "b"), (3, D2, "c")]
    history = DeltaTable(str(table)).history(1)[0]
    assert history["run_id"] == "run-2" and history["lakegate.strategy"] == "append"


def test_overwrite_replaces_content_and_refuses_a_schema_change(table: Path) -> None:
    sink = DeltaSink(str(table))
    sink.write(batch([1, 2], [D1, D2], ["a", "b"]), LoadSpec("overwrite"), commit(1))
    result = sink.write(batch([9], [D3], ["z"]), LoadSpec("overwrite"), commit(2))
    assert (result.rows_inserted, result.rows_deleted) == (1, 2)
    assert read(table) == [(9, D3, "z")]

    changed = pa.table({"id": pa.array([5], pa.int64()), "label": ["new"], "day": ["text"]})
    with pytest.raises(SchemaChangeError) as info:
        sink.write(changed, LoadSpec("overwrite"), commit(3))
    message = str(info.value)
    assert "missing columns: value" in message and "new columns: label" in message
    assert "day (date -> string)" in message and "allow_schema_change" in message
    assert info.value.missing == ("value",) and info.value.added == ("label",)
    assert read(table) == [(9, D3, "z")]  # nothing written
    assert sink.committed_version("pipe") == 2

    sink.write(changed, LoadSpec("overwrite", allow_schema_change=True), commit(3))
    assert read(table, ("id", "label", "day")) == [(5, "new", "text")]
    assert sink.committed_version("pipe") == 3


def test_merge_may_add_columns_only_when_allowed(table: Path) -> None:
    sink = DeltaSink(str(table))
    sink.write(batch([1], [D1], ["a"]), MERGE, commit(1))
    wider = batch([2], [D1], ["b"]).append_column("extra", pa.array([7], pa.int32()))
    with pytest.raises(SchemaChangeError, match="new columns: extra"):
        sink.write(wider, MERGE, commit(2))
    spec = LoadSpec("merge", merge_keys=("id",), allow_schema_change=True)
    sink.write(wider, spec, commit(2))
    assert read(table, (*BATCH_COLUMNS, "extra")) == [(1, D1, "a", None), (2, D1, "b", 7)]


# ---------------------------------------------------------------------- merge


def test_merge_updates_and_inserts_with_exact_counts(table: Path) -> None:
    sink = DeltaSink(str(table))
    first = sink.write(batch([1, 2, 3], [D1, D1, D2], ["a", "b", "c"]), MERGE, commit(1))
    assert (first.table_version, first.rows_inserted) == (0, 3)
    result = sink.write(batch([2, 3, 4], [D1, D2, D2], ["B", "C", "d"]), MERGE, commit(2))
    assert (result.rows_inserted, result.rows_updated, result.rows_deleted) == (1, 2, 0)
    assert result.table_version == 1
    assert read(table) == [(1, D1, "a"), (2, D1, "B"), (3, D2, "C"), (4, D2, "d")]


def test_merge_keeps_types_through_the_staging(table: Path) -> None:
    rows = pa.table(
        {
            "k": pa.array(["x", "y"], pa.large_string()),
            "at": pa.array([T1, T2], pa.timestamp("us", tz="UTC")),
            "amount": pa.array([decimal.Decimal("1.50"), None], pa.decimal128(10, 2)),
            "flag": pa.array([True, None]),
            "tags": pa.array([["a"], []], pa.list_(pa.string())),
        }
    )
    sink = DeltaSink(str(table))
    spec = LoadSpec("merge", merge_keys=("k",))
    sink.write(rows.slice(0, 1), spec, commit(1))
    reader = pa.RecordBatchReader.from_batches(rows.schema, rows.to_batches())
    result = sink.write(reader, spec, commit(2))
    assert (result.rows_updated, result.rows_inserted) == (1, 1)
    assert read(table, tuple(rows.column_names), ("k",)) == [
        ("x", T1, decimal.Decimal("1.50"), True, ["a"]),
        ("y", T2, None, None, []),
    ]


def test_merge_prunes_untouched_partitions(table: Path) -> None:
    sink = DeltaSink(str(table))
    sink.write(batch([1, 2, 3], [D1, D2, D3], ["a", "b", "c"]), MERGE, commit(1))
    before = set(DeltaTable(str(table)).file_uris())
    result = sink.write(batch([2, 5], [D2, D2], ["B", "e"]), MERGE, commit(2))
    after = set(DeltaTable(str(table)).file_uris())
    untouched = {u for u in before if "day=2024-01-02" not in u}
    assert len(untouched) == 2 and untouched <= after  # D1 and D3 files kept as they were
    assert (result.files_removed, result.files_added) == (1, 1)
    assert (result.rows_written, result.rows_updated, result.rows_inserted) == (2, 1, 1)
    assert read(table) == [(1, D1, "a"), (2, D2, "B"), (3, D3, "c"), (5, D2, "e")]


def test_merge_predicate_quotes_names_and_values(table: Path) -> None:
    odd = pa.table({"my id": [1, 2, 3], "part'x": ["it's", "a\\b", None], "v": ["1", "2", "3"]})
    spec = LoadSpec("merge", merge_keys=("my id",), partition_by=("part'x",))
    sink = DeltaSink(str(table))
    sink.write(odd, spec, commit(1))
    before = set(DeltaTable(str(table)).file_uris())
    update = pa.table({"my id": [1, 3], "part'x": ["it's", None], "v": ["one", "three"]})
    result = sink.write(update, spec, commit(2))
    assert (result.rows_updated, result.rows_inserted, result.files_removed) == (2, 0, 2)
    assert len(before & set(DeltaTable(str(table)).file_uris())) == 1  # a\b untouched
    assert read(table, ("my id", "part'x", "v"), ("my id",)) == [
        (1, "it's", "one"),
        (2, "a\\b", "2"),
        (3, None, "three"),
    ]


@pytest.mark.parametrize("spec", [MERGE, LoadSpec("scd2", merge_keys=("id",))])
def test_duplicate_and_null_merge_keys_are_rejected(table: Path, spec: LoadSpec) -> None:
    sink = DeltaSink(str(table))
    sink.write(batch([1], [D1], ["a"]), spec, commit(1), effective_at=T1)
    with pytest.raises(DuplicateKeyError) as info:
        sink.write(batch([2, 7, 7], [D1, D1, D2], ["b", "x", "y"]), spec, commit(2))
    assert isinstance(info.value, ValueError)
    assert "id=7" in str(info.value) and info.value.sample == (7,) and info.value.count == 2
    with pytest.raises(NullKeyError, match="NULL merge key"):
        sink.write(batch([None, 3], [D1, D1], ["n", "c"]), spec, commit(2))  # type: ignore[list-item]
    assert versions_of(table) == 0 and sink.committed_version("pipe") == 1


def test_empty_merge_still_commits_the_app_transaction(table: Path) -> None:
    sink = DeltaSink(str(table))
    sink.write(batch([1], [D1], ["a"]), MERGE, commit(1))
    result = sink.write(batch([], [], []), MERGE, commit(2))
    assert (result.skipped, result.table_version) == (False, 1)
    assert sink.committed_version("pipe") == 2
    assert read(table) == [(1, D1, "a")]


# ---------------------------------------------------------------------- exactly once


@pytest.mark.parametrize(
    "spec",
    [LoadSpec("append"), MERGE, LoadSpec("partition_overwrite", partition_by=("day",)), SCD2],
    ids=lambda s: s.strategy,
)
def test_the_same_commit_version_twice_is_skipped(table: Path, spec: LoadSpec) -> None:
    sink = DeltaSink(str(table))
    assert sink.committed_version("pipe") is None
    sink.write(batch([1], [D1], ["a"]), spec, commit(1), effective_at=T1)
    first = sink.write(batch([1, 2], [D1, D2], ["A", "b"]), spec, commit(2), effective_at=T2)
    content, version = read(table), versions_of(table)
    again = sink.write(batch([1, 2], [D1, D2], ["A", "b"]), spec, commit(2), effective_at=T3)
    assert first.skipped is False and again.skipped is True
    assert again.table_version == version == first.table_version
    assert (read(table), versions_of(table)) == (content, version)
    older = sink.write(batch([9], [D3], ["z"]), spec, commit(1), effective_at=T3)
    assert older.skipped and read(table) == content
    assert sink.committed_version("pipe") == 2 and sink.committed_version("other") is None


def test_a_concurrent_commit_of_the_same_app_fails_the_loser(
    table: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = DeltaSink(str(table))
    sink.write(batch([1], [D1], ["a"]), LoadSpec("append"), commit(1))
    stale = DeltaTable(str(table))  # what a second writer read before the winner committed
    winner = CommitProperties(app_transactions=[Transaction(app_id="pipe", version=2)])
    write_deltalake(str(table), batch([2], [D1], ["b"]), mode="append", commit_properties=winner)
    monkeypatch.setattr(sink, "_open", lambda: stale)
    with pytest.raises(LoadError) as info:
        sink.write(batch([2], [D1], ["b"]), LoadSpec("append"), commit(2))
    assert info.value.transient
    assert read(table) == [(1, D1, "a"), (2, D1, "b")]  # no duplicate


# ---------------------------------------------------------------------- partition overwrite


def test_partition_overwrite_replaces_only_the_batch_partitions(table: Path) -> None:
    sink = DeltaSink(str(table))
    spec = LoadSpec("partition_overwrite", partition_by=("day",))
    sink.write(batch([1, 2, 3, 4], [D1, D2, D2, D3], ["a", "b", "c", "d"]), spec, commit(1))
    kept = {u for u in DeltaTable(str(table)).file_uris() if "day=2024-01-02" not in u}
    result = sink.write(batch([7, 8], [D2, D2], ["x", "y"]), spec, commit(2))
    assert (result.rows_inserted, result.rows_deleted, result.files_removed) == (2, 2, 1)
    expected = [(1, D1, "a"), (4, D3, "d"), (7, D2, "x"), (8, D2, "y")]
    assert read(table) == expected
    assert kept <= set(DeltaTable(str(table)).file_uris())
    rerun = sink.write(batch([7, 8], [D2, D2], ["x", "y"]), spec, commit(3))  # same partition again
    assert rerun.table_version == 2 and read(table) == expected


def test_partition_overwrite_over_two_columns_with_odd_values(table: Path) -> None:
    rows = pa.table(
        {
            "region": ["eu", "eu", "us", "it's", None],
            "day": pa.array([D1, D2, D1, D1, D1]),
            "n": [1, 2, 3, 4, 5],
        }
    )
    sink = DeltaSink(str(table))
    spec = LoadSpec("partition_overwrite", partition_by=("region", "day"))
    sink.write(rows, spec, commit(1))
    replace = pa.table(
        {"region": ["eu", "it's", None], "day": pa.array([D2, D1, D1]), "n": [20, 40, 50]}
    )
    result = sink.write(replace, spec, commit(2))
    assert result.rows_deleted == 3
    assert read(table, ("region", "day", "n"), ("n",)) == [
        ("eu", D1, 1),
        ("us", D1, 3),
        ("eu", D2, 20),
        ("it's", D1, 40),
        (None, D1, 50),
    ]


def test_partition_overwrite_by_timestamp(table: Path) -> None:
    spec = LoadSpec("partition_overwrite", partition_by=("hour",))
    hours = pa.array([T1, T1, T2, T3], pa.timestamp("us", tz="UTC"))
    sink = DeltaSink(str(table))
    sink.write(pa.table({"hour": hours, "n": [1, 2, 3, 4]}), spec, commit(1))  # creates
    paris = pa.array([T1], pa.timestamp("us", tz="Europe/Paris"))  # the same instant
    result = sink.write(pa.table({"hour": paris, "n": [10]}), spec, commit(2))
    assert (result.rows_deleted, result.files_removed, result.rows_inserted) == (2, 1, 1)
    assert read(table, ("hour", "n"), ("n",)) == [(T2, 3), (T3, 4), (T1, 10)]


def test_partition_overwrite_needs_the_table_partitioning(table: Path) -> None:
    sink = DeltaSink(str(table))
    sink.write(batch([1], [D1], ["a"]), LoadSpec("append"), commit(1))  # unpartitioned
    with pytest.raises(SchemaChangeError, match="partitioned by"):
        sink.write(
            batch([1], [D1], ["a"]),
            LoadSpec("partition_overwrite", partition_by=("day",)),
            commit(2),
        )


# ---------------------------------------------------------------------- scd2


def test_scd2_history(table: Path) -> None:
    sink = DeltaSink(str(table))
    first = sink.write(
        batch([1, 2, 3], [D1, D1, D1], ["a", "b", None]), SCD2, commit(1), effective_at=T1
    )
    assert (first.table_version, first.rows_inserted) == (0, 3)
    loaded = [
        (1, D1, "a", T1, None, True),
        (2, D1, "b", T1, None, True),
        (3, D1, None, T1, None, True),
    ]
    assert read(table, HISTORY) == loaded

    # unchanged (NULL equals NULL): no new version; the commit holds only the app transaction
    same = sink.write(
        batch([3, 2, 1], [D1, D1, D1], [None, "b", "a"]), SCD2, commit(2), effective_at=T2
    )
    assert (same.table_version, same.rows_inserted, same.rows_updated) == (1, 0, 0)
    assert read(table, HISTORY) == loaded and sink.committed_version("pipe") == 2
    assert DeltaTable(str(table)).history(1)[0]["operationMetrics"]["num_added_files"] == 0

    # 1 changes, 3 goes from NULL to a value, 4 is new, 2 is absent (stays current)
    changes = batch([1, 3, 4], [D1, D1, D2], ["A", "c", "d"])
    result = sink.write(changes, SCD2, commit(3), effective_at=T3)
    assert versions_of(table) == 2  # one commit
    assert (result.rows_updated, result.rows_inserted, result.rows_deleted) == (2, 3, 0)
    assert read(table, HISTORY, ("id", "valid_from")) == [
        (1, D1, "a", T1, T3, False),
        (1, D1, "A", T3, None, True),
        (2, D1, "b", T1, None, True),
        (3, D1, None, T1, T3, False),
        (3, D1, "c", T3, None, True),
        (4, D2, "d", T3, None, True),
    ]
    assert DeltaTable(str(table)).history(1)[0]["operation"] == "MERGE"


def test_scd2_partitioned_new_keys_only_and_defaults(table: Path) -> None:
    spec = LoadSpec("scd2", merge_keys=("id",), partition_by=("day",))
    sink = DeltaSink(str(table))
    sink.write(batch([1, 2], [D1, D2], ["a", "b"]), spec, commit(1), effective_at=T1)
    d1_files = {u for u in DeltaTable(str(table)).file_uris() if "day=2024-01-01" in u}
    added = sink.write(batch([3], [D3], ["c"]), spec, commit(2))  # effective_at: now
    assert (added.rows_inserted, added.rows_updated, added.files_removed) == (1, 0, 0)
    changed = sink.write(batch([2], [D2], ["B"]), spec, commit(3))
    assert (changed.rows_updated, changed.rows_inserted) == (1, 1)
    assert d1_files <= set(DeltaTable(str(table)).file_uris())  # D1 never rewritten
    current = [r for r in read(table, HISTORY, ("id", "valid_from")) if r[5]]
    assert [(r[0], r[2]) for r in current] == [(1, "a"), (2, "B"), (3, "c")]
    now = dt.datetime.now(UTC)
    assert all(now - dt.timedelta(minutes=5) < r[3] <= now for r in current[1:])


def test_scd2_refuses_history_going_backwards_and_its_own_columns(table: Path) -> None:
    sink = DeltaSink(str(table))
    sink.write(batch([1], [D1], ["a"]), SCD2, commit(1), effective_at=T2)
    with pytest.raises(LoadError, match="history must move forward"):
        sink.write(batch([1], [D1], ["b"]), SCD2, commit(2), effective_at=T1)
    with_history = batch([1], [D1], ["b"]).append_column("is_current", pa.array([True]))
    with pytest.raises(UserInputError, match="is_current"):
        sink.write(with_history, SCD2, commit(2), effective_at=T3)
    assert versions_of(table) == 0


# ---------------------------------------------------------------------- spec and registry


@pytest.mark.parametrize("spec", [LoadSpec("append"), MERGE, SCD2, LoadSpec("overwrite")])
def test_a_staged_batch_loads_in_place_and_leaves_its_engine_clean(
    table: Path, spec: LoadSpec
) -> None:
    """A batch held by the caller's engine is read there (no copy); the sink's own
    views and tables are gone afterwards, and the row callback sees every row once."""
    engine = create_engine()
    try:
        engine.connection.register("rows", batch([1, 2, 3], [D1, D1, D2], ["a", "b", "c"]))
        engine.connection.sql('CREATE TEMPORARY TABLE "held" AS SELECT * FROM "rows"')
        engine.connection.unregister("rows")
        before = sorted(
            r[0] for r in engine.connection.sql("SELECT name FROM (SHOW ALL TABLES)").fetchall()
        )
        seen: list[int] = []
        sink = DeltaSink(str(table))
        sink.write(
            StagedBatch(engine, "held"), spec, commit(1), effective_at=T1, on_rows=seen.append
        )
        assert read(table) == [(1, D1, "a"), (2, D1, "b"), (3, D2, "c")]
        assert seen and seen[-1] == 3 and seen == sorted(seen)
        engine.connection.sql("UPDATE held SET value = 'z' WHERE id = 3")
        sink.write(StagedBatch(engine, "held"), spec, commit(2), effective_at=T2)
        after = sorted(
            r[0] for r in engine.connection.sql("SELECT name FROM (SHOW ALL TABLES)").fetchall()
        )
        assert after == before == ["held"]
        if spec.strategy == "scd2":
            assert read(table, (*HISTORY[:3], "is_current"), order=("id", "is_current")) == [
                (1, D1, "a", True),
                (2, D1, "b", True),
                (3, D2, "c", False),
                (3, D2, "z", True),
            ]
        elif spec.strategy == "append":
            assert len(read(table)) == 6
        else:
            assert read(table) == [(1, D1, "a"), (2, D1, "b"), (3, D2, "z")]
    finally:
        engine.close()


def test_spec_and_commit_validation(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="needs merge_keys"):
        LoadSpec("merge")
    with pytest.raises(UserInputError, match="needs partition_by"):
        LoadSpec("partition_overwrite")
    with pytest.raises(UserInputError, match="unknown load strategy"):
        LoadSpec("upsert")  # type: ignore[arg-type]
    with pytest.raises(UserInputError, match="reserved"):
        CommitInfo("p", 1, {"operation": "x"})
    with pytest.raises(UserInputError, match=">= 0"):
        CommitInfo("p", -1)
    assert LoadSpec("merge", merge_keys=["id"]).merge_keys == ("id",)  # type: ignore[arg-type]
    assert isinstance(create_sink("delta", str(tmp_path / "t")), DeltaSink)
    clock = pa.table({"id": [1], "at": pa.array([dt.time(1, 2)])})
    with pytest.raises(LoadError, match=r"at \(time64"):
        DeltaSink(str(tmp_path / "t")).write(clock, LoadSpec("append"), commit(1))
    assert not (tmp_path / "t").exists()
    with pytest.raises(UserInputError, match="unknown sink"):
        create_sink("nope", str(tmp_path / "t"))


def test_a_process_that_writes_and_reads_exits_cleanly(tmp_path: Path) -> None:
    """The delta-rs 2184 guard: no abort at interpreter exit after sink writes and reads."""
    script = textwrap.dedent(
        f"""
        import datetime as dt
        import pyarrow as pa
        from sqlglot import exp
        from lakegate.engines import create_engine
        from lakegate.sinks import CommitInfo, LoadSpec
        from lakegate.sinks.delta import DeltaSink
        from lakegate.sources.files import resolve_input

        path = {str(tmp_path / "t")!r}
        sink = DeltaSink(path)
        rows = pa.table({{"id": [1, 2], "day": [dt.date(2024, 1, 1)] * 2, "v": ["a", "b"]}})
        spec = LoadSpec("merge", merge_keys=("id",), partition_by=("day",))
        sink.write(rows, spec, CommitInfo("p", 1))
        sink.write(rows, spec, CommitInfo("p", 2))
        DeltaSink(path + "_history").write(rows, LoadSpec("scd2", merge_keys=("id",)), CommitInfo("p", 1))
        engine = create_engine()
        engine.register("t", resolve_input(path))
        print(engine.query(exp.select(exp.Count(this=exp.Star())).from_("t"))[0][0])
        """
    )
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip() == "2"
