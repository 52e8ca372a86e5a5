"""The state store, on a SQLite file and on the real PostgreSQL server (see conftest.py)."""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import socket
import subprocess
import sys
import time
import traceback
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from lakegate.errors import UserInputError
from lakegate.state import (
    LockHeldError,
    LockLostError,
    RunRecord,
    RunStart,
    StateStore,
    StateStoreError,
)
from lakegate.state.records import META, SCHEMA_VERSION, Boundary

T0 = dt.datetime(2024, 3, 1, 5, 0, tzinfo=dt.UTC)


def finished(run_id: str, started_at: dt.datetime = T0, **changes: Any) -> RunRecord:
    """A finished, balanced run record of pipeline ``flights``."""
    values: dict[str, Any] = {
        "pipeline_name": "flights",
        "run_id": run_id,
        "started_at": started_at,
        "completed_at": started_at + dt.timedelta(seconds=42),
        "status": "success",
        "stage": "finish",
        "rows_extracted": 1000,
        "rows_transformed": 990,
        "rows_loaded": 980,
        "rows_rejected": 10,
        "rows_deduplicated": 10,
        "quality_checks_passed": 7,
        "quality_checks_failed": 1,
        "duration_seconds": 42.5,
        "watermark_before": dt.datetime(2024, 2, 29, tzinfo=dt.UTC),
        "watermark_after": dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
        "target": "flights",
    }
    return RunRecord(**(values | changes))


def begin(store: StateStore, run_id: str, started_at: dt.datetime = T0) -> None:
    wm = dt.datetime(2024, 2, 29, tzinfo=dt.UTC)
    store.begin_run(RunStart("flights", run_id, started_at, wm, run_date=dt.date(2024, 3, 1)))


# -- runs -----------------------------------------------------------------------------------


def test_run_round_trip(store: StateStore) -> None:
    paris = ZoneInfo("Europe/Paris")
    running = store.begin_run(RunStart("flights", "r1", dt.datetime(2024, 3, 1, 6, tzinfo=paris)))
    assert store.runs("flights") == [running]
    assert running.status == "running" and running.stage == "begin"
    assert running.started_at == T0 and running.started_at.tzinfo == dt.UTC

    record = finished("r1", error_message="2 rows failed not_null(id)", status="partial")
    store.finish_run(record)
    assert store.runs("flights") == [record]
    assert store.runs("flights")[0].to_dict()["watermark_after"] == "2024-03-01T00:00:00+00:00"
    assert store.last_successful_run("flights") is None

    for i in (2, 3):
        begin(store, f"r{i}", T0 + dt.timedelta(hours=i))
        store.finish_run(finished(f"r{i}", T0 + dt.timedelta(hours=i)))
    store.begin_run(RunStart("weather", "w1", T0 + dt.timedelta(hours=9)))
    assert [r.run_id for r in store.runs("flights")] == ["r3", "r2", "r1"]
    assert [r.run_id for r in store.runs(limit=2)] == ["w1", "r3"]
    last = store.last_successful_run("flights")
    assert last == finished("r3", T0 + dt.timedelta(hours=3))


def test_finish_needs_a_begun_run_and_ids_are_unique(store: StateStore) -> None:
    with pytest.raises(StateStoreError, match="never begun"):
        store.finish_run(finished("nope"))
    begin(store, "r1")
    with pytest.raises(StateStoreError):
        begin(store, "r1")
    with pytest.raises(ValueError, match="run status"):
        finished("r1", status="done")


# -- watermarks and files -------------------------------------------------------------------

WATERMARK_VALUES = {
    "int": 42,
    "bigint": 2**62 + 1,
    "str": "2024-03-01/part-0007 ü",
    "float": 0.1,
    "decimal": Decimal("12345.678900"),
    "date": dt.date(2024, 2, 29),
    "naive datetime": dt.datetime(2024, 3, 1, 5, 6, 7, 891011),
    "utc datetime": dt.datetime(2024, 3, 1, 5, 6, 7, 1, tzinfo=dt.UTC),
    "offset datetime": dt.datetime(2024, 3, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=5.5))),
    "zoned datetime": dt.datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris")),
}


@pytest.mark.parametrize("value", WATERMARK_VALUES.values(), ids=WATERMARK_VALUES.keys())
def test_watermark_round_trip(store: StateStore, value: Any) -> None:
    assert store.get_watermark("flights") is None
    store.set_watermark("flights", "older", 1)
    store.set_watermark("flights", value, 7)
    got = store.get_watermark("flights")
    assert got is not None
    assert type(got.value) is type(value)
    assert got.value == value
    assert repr(got.value) == repr(value)  # same tzinfo (or none), same fold, same digits
    assert got.version == 7
    assert got.updated_at.tzinfo == dt.UTC
    assert abs(dt.datetime.now(dt.UTC) - got.updated_at) < dt.timedelta(minutes=1)


def test_watermark_rejects_untyped_values(store: StateStore) -> None:
    with pytest.raises(TypeError):
        store.set_watermark("flights", None, 1)
    with pytest.raises(TypeError, match="watermark"):
        store.set_watermark("flights", object(), 1)
    assert store.get_watermark("flights") is None


def test_loaded_files(store: StateStore) -> None:
    assert store.loaded_files("flights") == {}
    store.record_loaded_files("flights", "r1", {"a.parquet": (10, 1_709_000_000_000_000_001)})
    store.record_loaded_files("flights", "r2", {"a.parquet": (12, 2), "b.parquet": (5, 3)})
    assert store.loaded_files("flights") == {"a.parquet": (12, 2), "b.parquet": (5, 3)}
    assert store.loaded_files("weather") == {}


def test_commit_run_writes_record_watermark_and_files(store: StateStore) -> None:
    begin(store, "r1")
    record = finished("r1")
    store.commit_run(record, watermark=(record.watermark_after, 3), files={"a.parquet": (1, 2)})
    assert store.runs("flights") == [record]
    watermark = store.get_watermark("flights")
    assert watermark is not None and (watermark.value, watermark.version) == (T0.replace(hour=0), 3)
    assert store.loaded_files("flights") == {"a.parquet": (1, 2)}


def test_the_boundary_rows_are_stored_with_the_watermark(store: StateStore) -> None:
    begin(store, "r1")
    record = finished("r1")
    boundary = Boundary(("id", "time_hour"), ("0" * 32, "f" * 32, "f" * 32))
    store.commit_run(record, watermark=(record.watermark_after, 3), boundary=boundary)
    watermark = store.get_watermark("flights")
    assert watermark is not None and watermark.boundary == boundary
    store.set_watermark("flights", 5, 4)  # a watermark of its own: no boundary
    assert store.get_watermark("flights").boundary is None


@pytest.mark.parametrize("failing_write", ["_write_watermark", "_write_files"])
def test_commit_run_is_atomic(
    store: StateStore, monkeypatch: pytest.MonkeyPatch, failing_write: str
) -> None:
    begin(store, "r1")
    store.set_watermark("flights", 100, 1)
    real = getattr(StateStore, failing_write)

    def write_then_crash(self: StateStore, *args: Any) -> None:
        real(self, *args)  # the write happens, then the process "dies" before the commit
        raise RuntimeError("crash inside commit_run")

    monkeypatch.setattr(StateStore, failing_write, write_then_crash)
    with pytest.raises(RuntimeError, match="crash"):
        store.commit_run(finished("r1"), watermark=(200, 2), files={"a.parquet": (1, 2)})

    [run] = store.runs("flights")
    assert (run.status, run.stage, run.completed_at, run.rows_loaded) == (
        "running",
        "begin",
        None,
        0,
    )
    watermark = store.get_watermark("flights")
    assert watermark is not None and (watermark.value, watermark.version) == (100, 1)
    assert store.loaded_files("flights") == {}


# -- check results --------------------------------------------------------------------------


def test_check_results_round_trip(store: StateStore) -> None:
    results = [
        {"id": "id_not_null", "type": "not_null", "severity": "critical", "passed": False,
         "observed": 3, "failing_rows": 3, "samples": [None]},
        {"id": "freshness", "type": "freshness", "severity": "warning", "passed": True,
         "observed": {"max": T0, "age_hours": Decimal("1.5")}, "failing_rows": None},
    ]  # fmt: skip
    store.record_check_results("r1", "flights", "flights", results)
    store.record_check_results("r2", "flights", "flights", results[:1])
    got = store.check_results("r1")
    assert [(c.id, c.type, c.severity, c.passed, c.failing_rows) for c in got] == [
        ("id_not_null", "not_null", "critical", False, 3),
        ("freshness", "freshness", "warning", True, None),
    ]
    assert got[1].observed == {"max": "2024-03-01 05:00:00+00:00", "age_hours": "1.5"}
    assert {(c.run_id, c.pipeline, c.table) for c in got} == {("r1", "flights", "flights")}
    assert store.check_results("r3") == []
    with pytest.raises(ValueError, match="passed"):
        store.record_check_results(
            "r1", "flights", "t", [{"id": "x", "type": "t", "severity": "info"}]
        )


# -- locks ----------------------------------------------------------------------------------


def test_lock_is_refused_while_held_with_a_clear_message(store: StateStore) -> None:
    lock = store.acquire_lock("flights", "run-a")
    with pytest.raises(LockHeldError) as refused:
        store.acquire_lock("flights", "run-b")
    message = str(refused.value)
    holder = lock.info
    for part in ("'flights'", "run-a", f"host {holder.host}", f"pid {holder.pid}", "since 20"):
        assert part in message
    assert "break_lock('flights')" in message and "600 s" in message
    assert refused.value.transient and refused.value.holder == store.lock_info("flights")

    assert store.acquire_lock("flights", "run-a").run_id == "run-a"  # the holder gets it again
    assert store.acquire_lock("weather", "run-b").pipeline == "weather"  # one lock per pipeline
    assert lock.release() is True
    with store.acquire_lock("flights", "run-b") as lock_b:
        assert store.lock_info("flights") == lock_b.info
    assert store.lock_info("flights") is None


def test_release_only_by_owner(store: StateStore) -> None:
    lock_a = store.acquire_lock("flights", "run-a")
    assert store.break_lock("flights") == lock_a.info
    assert store.break_lock("flights") is None
    lock_b = store.acquire_lock("flights", "run-b")
    assert lock_a.release() is False
    with pytest.raises(LockLostError, match="run-a lost the lock"):
        lock_a.heartbeat()
    assert store.lock_info("flights") == lock_b.info
    assert lock_b.heartbeat() >= lock_b.info.heartbeat_at
    assert lock_b.release() is True


def _lock_then_die(url: str, pipeline: str) -> int:
    """Take the lock in a child process that exits without releasing it; its pid."""
    code = (
        "import os, sys; from lakegate.state import StateStore;"
        "StateStore(sys.argv[1]).acquire_lock(sys.argv[2], 'dead-run'); print(os.getpid())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, url, pipeline], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def test_lock_of_a_dead_process_is_taken_over(
    store: StateStore, state_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    dead_pid = _lock_then_die(state_url, "flights")
    held = store.lock_info("flights")
    assert held is not None and (held.run_id, held.pid) == ("dead-run", dead_pid)

    with caplog.at_level(logging.WARNING, logger="lakegate.state"):
        lock = store.acquire_lock("flights", "run-b", ttl_seconds=3600)
    assert store.lock_info("flights") == lock.info
    assert "took over the stale lock of pipeline 'flights' from run dead-run" in caplog.text


def test_lock_without_heartbeat_expires_after_its_ttl(store: StateStore) -> None:
    lock_a = store.acquire_lock("flights", "run-a")  # this process: alive, only the ttl can expire
    time.sleep(0.3)
    lock_a.heartbeat()
    with pytest.raises(LockHeldError):
        store.acquire_lock("flights", "run-b", ttl_seconds=0.25)
    time.sleep(0.3)
    lock_b = store.acquire_lock("flights", "run-b", ttl_seconds=0.25)
    assert store.lock_info("flights") == lock_b.info
    with pytest.raises(LockLostError):
        lock_a.heartbeat()


RACERS = 6
RACES = ("free", "dead")  # pipelines whose lock is free / held by a dead process


def _race_for_locks(url: str, racer: int, barrier: Any, results: Any) -> None:
    """One racing process: connect, then try each race's lock once, all racers at once."""
    with StateStore(url) as store:
        store.lock_info("free")  # connected and tables created: each race is the lock alone
        for pipeline in RACES:
            barrier.wait(timeout=60)
            try:
                lock = store.acquire_lock(pipeline, f"racer-{racer}", ttl_seconds=3600)
                results.put((pipeline, "won", lock.run_id))
            except LockHeldError as exc:
                results.put((pipeline, "held", exc.holder.run_id))
            except Exception as exc:
                results.put((pipeline, "error", repr(exc)))
        barrier.wait(timeout=60)  # winners stay alive until everyone has tried


def test_exactly_one_of_racing_processes_gets_the_lock(state_url: str) -> None:
    _lock_then_die(state_url, "dead")
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(RACERS), ctx.Queue()
    racers = [
        ctx.Process(target=_race_for_locks, args=(state_url, i, barrier, results))
        for i in range(RACERS)
    ]
    for p in racers:
        p.start()
    outcomes = [results.get(timeout=60) for _ in range(RACERS * len(RACES))]
    for p in racers:
        p.join(timeout=60)
        assert p.exitcode == 0

    assert not [o for o in outcomes if o[1] == "error"], outcomes
    for pipeline in RACES:
        race = [(outcome, run_id) for name, outcome, run_id in outcomes if name == pipeline]
        winners = [run_id for outcome, run_id in race if outcome == "won"]
        assert len(winners) == 1, race
        assert sorted(race) == [("held", winners[0])] * (RACERS - 1) + [("won", winners[0])]


# -- the URL, the schema --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_password_is_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    secret = "S3cr3t-p4ss"
    url = f"postgresql://lakegate:{secret}@127.0.0.1:{_free_port()}/state"
    with caplog.at_level(logging.DEBUG), StateStore(url) as store:
        assert secret not in repr(store) and "***" in store.url
        with pytest.raises(StateStoreError) as failed:
            store.runs()
    error = failed.value
    shown = "".join(traceback.format_exception(error))
    assert secret not in shown and secret not in caplog.text
    assert "lakegate:***@127.0.0.1" in str(error) and error.transient

    for bad in (f"postgresql://u:{secret}@host:notaport/db", f"mysql://u:{secret}@host/db"):
        with pytest.raises(UserInputError) as refused:
            StateStore(bad)
        assert secret not in "".join(traceback.format_exception(refused.value))


def test_default_url_creates_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with StateStore() as store:
        assert store.runs() == []
    assert (tmp_path / ".lakegate" / "state.db").is_file()


def test_schema_version_is_recorded_and_checked(store: StateStore, state_url: str) -> None:
    assert store.runs() == []
    engine = sa.create_engine(state_url)
    with engine.begin() as conn:
        version = sa.select(META.c.value).where(META.c.key == "schema_version")
        assert conn.execute(version).scalar_one() == str(SCHEMA_VERSION)
        conn.execute(META.update().values(value=str(SCHEMA_VERSION + 1)))
    engine.dispose()
    with StateStore(state_url) as newer, pytest.raises(StateStoreError, match="upgrade lakegate"):
        newer.runs()
