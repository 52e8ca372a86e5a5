"""Who is a live lock holder (zombies, reused pids), and closing the runs dead holders
left ``running``; on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from lakegate.state import LockHeldError, RunStart, StateStore
from lakegate.state.process import own_start_token, start_token
from lakegate.state.records import LOCKS, RunRecord

T0 = dt.datetime(2024, 3, 1, 5, 0, tzinfo=dt.UTC)
TAKE_LOCK = (
    "import sys; from lakegate.state import StateStore; "
    "StateStore(sys.argv[1]).acquire_lock(sys.argv[2], sys.argv[3])"
)


def _state(pid: int) -> str | None:
    """The state letter of ``/proc/<pid>/stat`` (``Z`` for a zombie), None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 1 :].split()[0]


@pytest.fixture
def zombie(state_url: str) -> Iterator[subprocess.Popen[bytes]]:
    """A child process that took the ``flights`` lock as run ``zombie-run`` and exited,
    not yet reaped by us (its parent): a zombie, as after ``timeout -s KILL``."""
    child = subprocess.Popen([sys.executable, "-c", TAKE_LOCK, state_url, "flights", "zombie-run"])
    deadline = time.monotonic() + 60
    while _state(child.pid) != "Z":
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.05)
    yield child
    child.wait()


def test_a_zombie_holds_no_lock(store: StateStore, zombie: subprocess.Popen[bytes]) -> None:
    held = store.lock_info("flights")
    assert held is not None and (held.run_id, held.pid) == ("zombie-run", zombie.pid)
    os.kill(zombie.pid, 0)  # the pid still answers: only its state says it is dead
    lock = store.acquire_lock("flights", "rerun", ttl_seconds=3600)
    assert lock.taken_over == held
    assert store.lock_info("flights") == lock.info


@pytest.fixture
def start_sleeper() -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Starts a live process that is not lakegate (stopped after the test)."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        time.sleep(0.05)  # start times count in clock ticks (10 ms): a later tick
        started.append(subprocess.Popen(["sleep", "120"]))
        return started[-1]

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def _hand_lock_to(state_url: str, pid: int, token: str | None) -> None:
    """Rewrite the ``flights`` lock as held by ``pid`` with start token ``token``."""
    engine = sa.create_engine(state_url)
    with engine.begin() as conn:
        conn.execute(
            LOCKS.update().where(LOCKS.c.pipeline == "flights").values(pid=pid, pid_started=token)
        )
    engine.dispose()


def test_a_reused_pid_is_not_the_holder(
    store: StateStore, state_url: str, start_sleeper: Callable[[], subprocess.Popen[bytes]]
) -> None:
    subprocess.run([sys.executable, "-c", TAKE_LOCK, state_url, "flights", "dead-run"], check=True)
    dead = store.lock_info("flights")
    assert dead is not None and dead.pid_started is not None
    # The pid now belongs to a live process that started at its own, later, moment.
    sleeper = start_sleeper()
    assert start_token(sleeper.pid) not in (None, dead.pid_started)
    _hand_lock_to(state_url, sleeper.pid, dead.pid_started)
    lock = store.acquire_lock("flights", "rerun", ttl_seconds=3600)
    assert lock.taken_over is not None and lock.taken_over.run_id == "dead-run"
    assert lock.release()

    # The same live process, recorded with its own start: a live holder, refused.
    subprocess.run([sys.executable, "-c", TAKE_LOCK, state_url, "flights", "live-run"], check=True)
    _hand_lock_to(state_url, sleeper.pid, start_token(sleeper.pid))
    with pytest.raises(LockHeldError, match="live-run"):
        store.acquire_lock("flights", "rerun", ttl_seconds=3600)

    # A lakegate restarted with the pid of the one that died (containers): not this process.
    _hand_lock_to(state_url, os.getpid(), dead.pid_started)
    assert own_start_token() != dead.pid_started
    lock = store.acquire_lock("flights", "rerun", ttl_seconds=3600)
    assert lock.taken_over is not None and lock.taken_over.run_id == "live-run"


def test_a_lock_without_a_start_token_falls_back_to_the_pid(
    store: StateStore, state_url: str, start_sleeper: Callable[[], subprocess.Popen[bytes]]
) -> None:
    """Locks taken by an older lakegate (schema version 5) record no start token."""
    sleeper = start_sleeper()
    store.acquire_lock("flights", "old-run")
    _hand_lock_to(state_url, sleeper.pid, None)
    with pytest.raises(LockHeldError, match="old-run"):
        store.acquire_lock("flights", "rerun", ttl_seconds=3600)
    sleeper.kill()
    sleeper.wait()
    assert store.acquire_lock("flights", "rerun", ttl_seconds=3600).taken_over is not None


def _begin(store: StateStore, run_id: str, watermark: object = None) -> None:
    store.begin_run(RunStart("flights", run_id, T0, watermark))


def test_the_runs_of_dead_holders_are_closed_as_failed(
    store: StateStore, zombie: subprocess.Popen[bytes]
) -> None:
    _begin(store, "zombie-run", watermark=41)  # what the killed run had recorded
    _begin(store, "older-lost-run")  # left running by a process whose lock was broken
    store.begin_run(RunStart("weather", "other-pipeline", T0))
    assert store.close_lost_runs("flights", "rerun") == []  # rerun does not hold the lock
    lock = store.acquire_lock("flights", "rerun", ttl_seconds=3600)
    _begin(store, "rerun")
    closed = {r.run_id: r for r in store.close_lost_runs("flights", "rerun", lock.taken_over)}
    assert set(closed) == {"zombie-run", "older-lost-run"}
    dead = closed["zombie-run"]
    assert (dead.status, dead.watermark_before, dead.watermark_after) == ("failed", 41, 41)
    assert dead.completed_at is not None and dead.completed_at >= T0
    assert dead.duration_seconds is None  # unknown: the process died unseen
    message = dead.error_message or ""
    for part in ("lost", "killed", "SIGKILL", f"pid {zombie.pid}", "took over its lock"):
        assert part in message, message
    assert "no longer held the pipeline's lock" in (closed["older-lost-run"].error_message or "")
    runs = {r.run_id: r for r in store.runs()}
    assert runs["zombie-run"] == dead
    assert (runs["rerun"].status, runs["other-pipeline"].status) == ("running", "running")
    assert store.close_lost_runs("flights", "rerun", lock.taken_over) == []  # once
    failed = [t for t in store.run_totals() if t.status == "failed"]
    assert [(t.pipeline, t.runs) for t in failed] == [("flights", 2)]


def test_a_finished_run_is_never_closed(store: StateStore, state_url: str) -> None:
    _begin(store, "done")
    store.commit_run(
        RunRecord(pipeline_name="flights", run_id="done", started_at=T0, status="success")
    )
    subprocess.run([sys.executable, "-c", TAKE_LOCK, state_url, "flights", "done"], check=True)
    lock = store.acquire_lock("flights", "rerun", ttl_seconds=3600)
    assert lock.taken_over is not None
    assert store.close_lost_runs("flights", "rerun", lock.taken_over) == []
    assert store.runs("flights")[0].status == "success"


def test_a_kept_alive_lock_outlives_its_ttl(store: StateStore) -> None:
    with store.acquire_lock("flights", "long-run", ttl_seconds=0.6) as lock:
        with lock.kept_alive(every_seconds=0.1):
            time.sleep(1.5)  # longer than the ttl: only the heartbeats keep it
            with pytest.raises(LockHeldError, match="long-run"):
                store.acquire_lock("flights", "rerun", ttl_seconds=0.6)
        held = store.lock_info("flights")
        assert held is not None and held.heartbeat_at > lock.info.heartbeat_at
