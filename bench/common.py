"""Helpers shared by the benchmarks (validate_bench.py, run_bench.py).

* the TPC-H lineitem SF1 file, generated once with tpchgen-cli;
* timing a whole process: wall time from spawn to exit, peak RSS of its process
  tree (psutil polling) and its own high-water mark (``ru_maxrss`` from wait4),
  its CPU time, and the CPU time that other processes used meanwhile;
* a description of the machine and of the commit measured.

The scripts run as ``python bench/<script>.py``, so this folder is on sys.path.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DATA = BENCH / "data"
OUT = BENCH / "out"
CLEAN = DATA / "lineitem.parquet"
SF1_ROWS = 6_001_215


# ----------------------------------------------------------------------------- data


def tool(name: str) -> str:
    """An executable of the virtualenv running this script, else one on PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        sys.exit(f"{name} not found: run `make bench` (it installs the bench extra)")
    return found


def generate() -> float | None:
    """Generate SF1 lineitem unless present; returns the seconds it took, or None."""
    if CLEAN.exists():
        return None
    DATA.mkdir(parents=True, exist_ok=True)
    cmd = [tool("tpchgen-cli"), "parquet", "-s", "1", "-T", "lineitem", "-o", str(DATA)]
    print("generating:", " ".join(cmd), flush=True)
    started = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - started


# ----------------------------------------------------------------------------- measuring


@dataclass
class Run:
    seconds: float
    peak_tree_rss: int  # bytes, psutil polling of the process and its descendants
    peak_maxrss: int  # bytes, the child's own high-water mark (wait4 ru_maxrss)
    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float = 0.0  # the child's user + system time (wait4)
    other_cpu_seconds: float = 0.0  # CPU time other processes used during the run
    load_average_at_start: float = 0.0  # 1-minute load average when the run started

    @property
    def peak(self) -> int:
        return max(self.peak_tree_rss, self.peak_maxrss)


def _busy_cpu_seconds() -> float:
    """CPU time the whole machine spent busy since boot (all CPUs)."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def run_measured(cmd: list[str], poll_seconds: float = 0.01, cwd: Path = ROOT) -> Run:
    """Run ``cmd``; wall time from spawn to exit and the peak RSS of its process tree."""
    out_path, err_path = OUT / ".stdout", OUT / ".stderr"
    me = psutil.Process()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        load = os.getloadavg()[0]
        busy, own = _busy_cpu_seconds(), sum(me.cpu_times()[:2])
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err)
        peak = 0
        done = threading.Event()

        def poll() -> None:
            nonlocal peak
            try:
                parent = psutil.Process(proc.pid)
            except psutil.NoSuchProcess:
                return
            while not done.is_set():
                total = 0
                try:
                    procs = [parent, *parent.children(recursive=True)]
                except psutil.NoSuchProcess:
                    return
                for p in procs:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        total += p.memory_info().rss
                peak = max(peak, total)
                done.wait(poll_seconds)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        poller.join()
        busy = _busy_cpu_seconds() - busy
        own = sum(me.cpu_times()[:2]) - own  # this process (the RSS poller), not its children
        proc.returncode = os.waitstatus_to_exitcode(status)
    child_cpu = usage.ru_utime + usage.ru_stime
    return Run(
        seconds=seconds,
        peak_tree_rss=peak,
        peak_maxrss=usage.ru_maxrss * 1024,  # KiB on Linux
        returncode=proc.returncode,
        stdout=out_path.read_text(),
        stderr=err_path.read_text(),
        cpu_seconds=child_cpu,
        other_cpu_seconds=max(0.0, busy - child_cpu - own),
        load_average_at_start=load,
    )


def checked(run: Run, what: str, codes: tuple[int, ...]) -> Run:
    if run.returncode not in codes:
        sys.exit(f"{what} exited {run.returncode}:\n{run.stderr}")
    return run


def summary(runs: list[Run]) -> dict[str, Any]:
    times = [r.seconds for r in runs]
    return {
        "best_seconds": round(min(times), 4),
        "median_seconds": round(statistics.median(times), 4),
        "runs_seconds": [round(t, 4) for t in times],
        "peak_rss_bytes": max(r.peak for r in runs),
        "peak_rss_tree_polled_bytes": max(r.peak_tree_rss for r in runs),
        "peak_rss_maxrss_bytes": max(r.peak_maxrss for r in runs),
    }


def wait_quiet(max_seconds: float, busy_below: float = 0.15, calm_seconds: int = 3) -> float:
    """Wait until other processes leave the CPUs idle (busy below ``busy_below`` of all
    CPUs for ``calm_seconds`` seconds in a row), at most ``max_seconds``.

    Returns the seconds waited (``max_seconds`` or more when the machine stayed busy).
    """
    started = time.perf_counter()
    calm = 0
    while calm < calm_seconds and time.perf_counter() - started < max_seconds:
        busy = psutil.cpu_percent(interval=1.0) / 100
        calm = calm + 1 if busy < busy_below else 0
    return time.perf_counter() - started


# ----------------------------------------------------------------------------- machine


def machine() -> dict[str, Any]:
    import duckdb

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {
        "nproc": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "cpu": cpu,
        "memory_bytes": psutil.virtual_memory().total,
        "os": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "deltalake": installed("deltalake"),
        "pyarrow": installed("pyarrow"),
        "lakegate": version("lakegate"),
        "lakegate_commit": git_describe(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def git_describe() -> str | None:
    """The commit measured, ``-dirty`` when src/ has uncommitted changes."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "src")
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("-dirty" if dirty else "")


def gib(n: int) -> str:
    return f"{n / 1024**3:.2f} GiB"


def mib(n: int) -> str:
    return f"{n / 1024**2:,.0f} MiB"
