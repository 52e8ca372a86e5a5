"""A run killed with SIGKILL (the out-of-memory death) is closed as failed by the next run
that takes its lock over: in the run history and run log, as an OpenLineage FAIL event,
in ``pipeline_runs_total{status="failed"}`` and in ``lakegate status``; and a killed run
that lingers as a zombie does not block that next run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lakegate.config.project import load_project
from lakegate.runner import KILL_ENV
from lakegate.state.store import StateStore
from tests.conftest import lakegate, lakegate_killed_at
from tests.test_runner import cap_dep_delay, pipeline_yaml, run
from tests.test_runner import project as project  # a fixture

PIPELINE = "flights_daily"


def _killed_run_command(path: Path) -> list[str]:
    return [sys.executable, "-m", "lakegate", "run", str(path)]


def _runs(root: Path) -> dict[str, Any]:
    with StateStore(load_project(root).state_url) as state:
        return {r.run_id: r for r in state.runs(PIPELINE)}


def _events(root: Path) -> list[dict[str, Any]]:
    lines = (root / ".lakegate" / "lineage.jsonl").read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_a_killed_run_is_closed_as_failed_everywhere(project) -> None:
    root, write = project
    cap_dep_delay(root)
    path = write(pipeline_yaml())
    lakegate_killed_at("after_gate", "run", str(path), cwd=root)  # as the OOM killer would
    (killed,) = _runs(root).values()
    assert killed.status == "running"

    rerun = run(root, path)
    assert rerun.ok, rerun.record.error_message
    runs = _runs(root)
    dead = runs[killed.run_id]
    assert dead.status == "failed" and dead.completed_at is not None
    assert "lost" in dead.error_message and "killed" in dead.error_message
    assert f"run {rerun.record.run_id} took over its lock" in dead.error_message
    assert dead.watermark_after == dead.watermark_before
    assert runs[rerun.record.run_id].status == "success"

    # The run log has its line.
    log = [
        json.loads(line) for line in (root / ".lakegate" / "runs.jsonl").read_text().splitlines()
    ]
    assert [(e["run_id"], e["status"]) for e in log] == [
        (killed.run_id, "failed"),
        (rerun.record.run_id, "success"),
    ]

    # OpenLineage: its START is followed by a FAIL of the same run, with the error.
    mine = [
        e
        for e in _events(root)
        if e["run"]["facets"].get("lakegate", {}).get("runId") == killed.run_id
    ]
    assert [e["eventType"] for e in mine] == ["START", "FAIL"]
    assert mine[0]["run"]["runId"] == mine[1]["run"]["runId"]
    assert "killed" in mine[1]["run"]["facets"]["errorMessage"]["message"]

    # Prometheus: counted as a failed run.
    metrics = (root / ".lakegate" / "metrics.prom").read_text()
    assert f'pipeline_runs_total{{pipeline_name="{PIPELINE}",status="failed"}} 1.0' in metrics
    assert f'pipeline_runs_total{{pipeline_name="{PIPELINE}",status="success"}} 1.0' in metrics

    # lakegate status: one failed run in the last 24 h, and its alert.
    proc = lakegate("status", "--format", "json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    (table,) = json.loads(proc.stdout)["tables"]
    assert (table["failed_last_24h"], table["finished_runs"]) == (1, 2)
    assert "1 failed run(s) in the last 24 h" in table["alerts"]
    proc = lakegate("runs", "--format", "json", cwd=root)
    shown = {r["run_id"]: r for r in json.loads(proc.stdout)}
    assert shown[killed.run_id]["status"] == "failed"


def _process_state(pid: int) -> str | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 1 :].split()[0]


def test_a_killed_run_left_as_a_zombie_does_not_block_the_rerun(project) -> None:
    """As after ``timeout -s KILL lakegate run ...``: the killed process is a zombie until
    its parent reaps it; its pid still exists, but it holds no lock."""
    root, write = project
    path = write(pipeline_yaml())
    child = subprocess.Popen(
        _killed_run_command(path),
        cwd=root,
        env={**os.environ, KILL_ENV: "after_extract"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while _process_state(child.pid) != "Z":  # killed itself; we have not reaped it
            assert time.monotonic() < deadline, "the run was not killed"
            time.sleep(0.05)
        with StateStore(load_project(root).state_url) as state:
            held = state.lock_info(PIPELINE)
        assert held is not None and held.pid == child.pid
        first = run(root, path)
        assert first.ok, first.record.error_message
        second = run(root, path)  # and again at once: the lock is free
        assert second.ok, second.record.error_message
    finally:
        child.wait()
    assert child.returncode == -9
    statuses = sorted(r.status for r in _runs(root).values())
    assert statuses == ["failed", "success", "success"]
