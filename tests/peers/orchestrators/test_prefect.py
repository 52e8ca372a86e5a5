"""Prefect runs the flows ``lakegate generate prefect`` writes for the demo project,
locally in ephemeral mode: the pipelines load the lake in dependency order, a failed
pipeline keeps its downstream from running (and is not retried: the failure is not
transient), a schedule's flow skips a pipeline whose upstream, run by another flow,
failed, a run that outlasts its SLA is killed, and the deployments carry the cron
schedules.

Runs only in ``.venv-orchestrators``:
``.venv-orchestrators/bin/python -m pytest -q tests/peers/orchestrators``.
"""

from __future__ import annotations

import http.server
import json
import os
import select
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
pytest.importorskip("prefect", reason="prefect is not installed (.venv-orchestrators)")

from lakegate.config.project import Project
from lakegate.generate import generate_code
from lakegate.state.store import StateStore
from tests.peers.orchestrators.test_dagster import (
    ORDER,
    demo_project,
    import_generated,
    lake_rows,
    pipeline_runs,
    upstream_with_airlines_failed,
)

# How long the slow API holds a request before it answers (seconds): far longer than
# the slow pipeline's SLA (0.1 minutes).
HOLD_SECONDS = 90.0


@pytest.fixture(scope="module", autouse=True)
def prefect_server() -> Iterator[None]:
    """One temporary Prefect server (and database) for the module, stopped before
    pytest closes its output (an ephemeral one would log to closed files at exit)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def generated(tmp_path: Path) -> Iterator[tuple[Project, ModuleType]]:
    project = demo_project(tmp_path / "demo")
    files = generate_code("prefect", project, command="lakegate generate prefect --all")
    module = import_generated(files, tmp_path / "code")
    yield project, module
    sys.modules.pop(module.__name__, None)


def test_flow_loads_the_lake_in_dependency_order(generated: tuple[Project, ModuleType]) -> None:
    project, module = generated
    summary = module.all_pipelines()
    assert list(summary) == ORDER
    assert summary["flights"]["rows_loaded"] == 336_776
    assert {t: lake_rows(project, t) for t in ("airlines", "airports", "flights")} == {
        "airlines": 16,
        "airports": 1_458,
        "flights": 336_776,
    }
    with StateStore(project.state_url) as store:
        runs = {r.pipeline_name: r for r in store.runs(limit=50)}
    assert summary["flights"]["run_id"] == runs["flights"].run_id
    for upstream in ("airlines", "airports", "planes"):
        completed = runs[upstream].completed_at
        assert completed is not None and completed <= runs["flights"].started_at

    deployments = {d.name: d for d in module.deployments()}
    assert set(deployments) == {
        "demo-cron_0_4_x_x_x",
        "demo-cron_0_4_x_x_1",
        "demo-cron_0_5_1_x_x",
        "demo-cron_0_5_x_x_x",
        "demo-all_pipelines",
    }
    (schedule,) = deployments["demo-cron_0_4_x_x_x"].schedules
    assert schedule.schedule.cron == "0 4 * * *"
    assert schedule.schedule.timezone == "UTC"
    assert deployments["demo-all_pipelines"].schedules == []


def test_a_failed_pipeline_stops_its_downstream(generated: tuple[Project, ModuleType]) -> None:
    project, module = generated
    airlines = project.root / "pipelines" / "airlines.yaml"
    text = airlines.read_text().replace("{type: row_count, min: 10}", "{type: row_count, min: 100}")
    airlines.write_text(text)  # the 16 airlines fail the post-load gate
    state = module.all_pipelines(return_state=True)
    assert state.is_failed()
    with pytest.raises(RuntimeError, match="failed or not run: airlines, flights"):
        state.result()
    with StateStore(project.state_url) as store:
        runs = store.runs(limit=50)
    assert sorted(r.pipeline_name for r in runs) == ["airlines", "airports", "planes", "weather"]
    assert [r.status for r in runs if r.pipeline_name == "airlines"] == ["failed"]  # no retry
    assert not (project.root / "lake" / "flights").exists()


def test_a_flow_skips_a_pipeline_whose_upstream_failed_in_another_flow(
    generated: tuple[Project, ModuleType],
) -> None:
    project, module = generated
    upstream_with_airlines_failed(project)  # as the 04:00 flows would leave it
    state = module.cron_0_5_x_x_x(return_state=True)  # flights, at 05:00
    assert state.is_completed()  # skipped, not failed: the failure is the airlines flow's
    (skipped,) = state.result().values()
    assert skipped["status"] == "skipped"
    assert skipped["reason"].startswith("pipeline 'flights' not run: upstream 'airlines' run")
    assert "failed in load: post-load gate failed: row_count" in skipped["reason"]
    assert pipeline_runs(project, "flights") == []  # lakegate did not run it
    assert not (project.root / "lake" / "flights").exists()


class SlowApi(http.server.ThreadingHTTPServer):
    """A JSON API on 127.0.0.1 that holds each request up to ``HOLD_SECONDS``; it notes
    when a request arrived and when its client went away before the answer."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HoldingHandler)
        self.requested = threading.Event()
        self.client_gone = threading.Event()
        self.release = threading.Event()


class _HoldingHandler(http.server.BaseHTTPRequestHandler):
    server: SlowApi

    def do_GET(self) -> None:
        self.server.requested.set()
        deadline = time.monotonic() + HOLD_SECONDS
        while time.monotonic() < deadline and not self.server.release.is_set():
            readable, _, _ = select.select([self.connection], [], [], 0.2)
            if readable and self.connection.recv(1, socket.MSG_PEEK) == b"":
                self.server.client_gone.set()  # the client's process closed the socket
                return
        body = json.dumps([{"id": 1}]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def slow_api() -> Iterator[SlowApi]:
    server = SlowApi()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def test_a_run_past_its_sla_is_killed(tmp_path: Path, slow_api: SlowApi) -> None:
    project = demo_project(tmp_path / "demo")
    url = f"http://127.0.0.1:{slow_api.server_address[1]}/records"
    (project.root / "pipelines" / "slow_api.yaml").write_text(
        "pipeline: {name: slow_api, owner: data-platform@example.com, sla_minutes: 0.1}\n"
        "extract:\n"
        f"  source: {{type: rest, url: {json.dumps(url)}, timeout_seconds: 300, max_retries: 0}}\n"
        "load: {target: slow_api, strategy: overwrite}\n"
        "quality_gates: {pre_load: none}\n"
        "error_handling: {strategy: fail-fast, max_retries: 0}\n"
    )
    files = generate_code("prefect", project, ["slow_api"], command="lakegate generate prefect")
    module = import_generated(files, tmp_path / "code")
    try:
        started = time.monotonic()
        state = module.manual(return_state=True)  # the task runs in a worker thread
        elapsed = time.monotonic() - started
    finally:
        sys.modules.pop(module.__name__, None)

    assert slow_api.requested.is_set()
    assert state.is_failed()
    with pytest.raises(RuntimeError, match="failed or not run: slow_api"):
        state.result()
    # The SLA (6 s) stopped the run, long before the API answered (HOLD_SECONDS) ...
    assert elapsed < HOLD_SECONDS / 3, elapsed
    # ... by killing its process: the API saw its connection close.
    assert slow_api.client_gone.wait(10)
    (failure,) = task_failures("slow_api")  # one attempt: fail-fast, no retries
    assert "RunTimedOut: pipeline 'slow_api' timed out after 6 s: its process" in failure
    assert pipeline_runs(project, "slow_api") == ["running"]  # closed by its next run


def task_failures(task: str) -> list[str]:
    """The state messages of the failed runs of the Prefect task ``task``."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs()
    return [
        run.state.message or ""
        for run in runs
        if run.name.startswith(f"{task}-") and run.state is not None and run.state.is_failed()
    ]
