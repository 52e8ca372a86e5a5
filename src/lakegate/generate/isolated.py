"""Run one pipeline in a child Python process that is killed when its time is up.

An orchestrator's timeout cannot always stop a task: Prefect runs a synchronous task in
a worker thread, and a thread cannot be interrupted while it waits in C code (a DuckDB
query, a socket read); the timeout then fires only once the blocking call returns.
A process can always be stopped, so the Prefect code ``lakegate generate`` writes runs
each pipeline through :func:`run_isolated`: the child runs :func:`lakegate.api.run`
(``retries=False``: the orchestrator retries) and writes a summary of the run to a
file; when ``timeout_seconds`` pass first, the child gets ``SIGKILL``.

A killed run is a crash like any other (DESIGN.md, "Exactly-once under crashes"): its
lock is taken over at once by the next run on this host, which closes the run record
left ``running`` as failed; the watermark moved only if its data committed.

The child is ``python -m lakegate.generate.isolated REQUEST RESULT`` (two file paths).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lakegate.errors import LakegateError

# The summary of a run that the child returns (fields of the run record).
SUMMARY_FIELDS = (
    "run_id",
    "status",
    "rows_extracted",
    "rows_loaded",
    "rows_rejected",
    "quality_score",
)


class IsolatedRunError(LakegateError):
    """A pipeline run in a child process failed, or the child died without saying why.

    Attributes:
        pipeline: The pipeline's name.
        transient: True when a retry may succeed (as lakegate judged the failure, or the
            child was killed by a signal).
        run_id: The failed run's id, when a run began.
        error: The class name of the error the child raised (``RunFailed``,
            ``LockHeldError``, ``ConfigError``, ...), or None when it died.
    """

    def __init__(
        self,
        message: str,
        *,
        pipeline: str,
        transient: bool,
        run_id: str | None = None,
        error: str | None = None,
    ) -> None:
        super().__init__(message)
        self.pipeline = pipeline
        self.transient = transient
        self.run_id = run_id
        self.error = error


class RunTimedOut(IsolatedRunError):
    """The run took longer than its timeout and its process was killed. Transient: a
    retry runs it again (as Airflow retries a task that hit its ``execution_timeout``).

    Attributes:
        timeout_seconds: The timeout it exceeded (seconds).
    """

    def __init__(self, pipeline: str, timeout_seconds: float, pid: int) -> None:
        super().__init__(
            f"pipeline {pipeline!r} timed out after {timeout_seconds:g} s: its process "
            f"{pid} was killed. The run it began stays 'running' in the state store until "
            "the pipeline's next run closes it as failed.",
            pipeline=pipeline,
            transient=True,
        )
        self.timeout_seconds = timeout_seconds


def run_isolated(
    pipeline: str,
    *,
    project: str | Path = ".",
    run_date: str | None = None,
    timeout_seconds: float | None = None,
) -> dict[str, Any]:
    """Run the pipeline named ``pipeline`` once, in a child process, within a timeout.

    The child is this interpreter (``sys.executable``) with this process's environment;
    it calls ``lakegate.api.run(pipeline, project=..., run_date=..., retries=False)``
    and its output goes where this process's goes.

    Args:
        pipeline: The pipeline's name (``pipeline.name`` in its file).
        project: The project folder (holding ``lakegate.yaml``) or that file.
        run_date: The logical date (``YYYY-MM-DD``), or None.
        timeout_seconds: Seconds the child may take, from its start (interpreter start-up
            included); then it is killed with ``SIGKILL``. None waits as long as it runs.

    Returns:
        The run's summary: :data:`SUMMARY_FIELDS` of its record (``status`` is
        ``success`` or ``partial``).

    Raises:
        RunTimedOut: The timeout passed; the child was killed.
        IsolatedRunError: The run failed (``transient`` as lakegate judged it), a
            lakegate error stopped it before it ran (no such pipeline, a held lock), or
            the child died without a result.
    """
    with tempfile.TemporaryDirectory(prefix="lakegate-run-") as folder:
        request, result = Path(folder) / "request.json", Path(folder) / "result.json"
        request.write_text(
            json.dumps({"pipeline": pipeline, "project": str(project), "run_date": run_date})
        )
        child = subprocess.Popen(
            [sys.executable, "-m", "lakegate.generate.isolated", str(request), str(result)]
        )
        try:
            code = child.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            raise RunTimedOut(pipeline, timeout_seconds or 0.0, child.pid) from None
        except BaseException:  # interrupted (Ctrl-C, a cancelled task): no orphan run
            child.kill()
            child.wait()
            raise
        if not result.exists():
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            raise IsolatedRunError(
                f"pipeline {pipeline!r}: its process {how} before the run finished "
                "(its output above says why)",
                pipeline=pipeline,
                transient=code < 0,
            )
        answer = json.loads(result.read_text())
    if answer["ok"]:
        summary: dict[str, Any] = answer["summary"]
        return summary
    raise IsolatedRunError(
        answer["message"],
        pipeline=pipeline,
        transient=bool(answer["transient"]),
        run_id=answer.get("run_id"),
        error=answer["error"],
    )


def _child(request: Path, result: Path) -> None:
    """Run the requested pipeline; write ``{"ok": true, "summary": {...}}`` or, for a
    lakegate error, ``{"ok": false, "error", "message", "transient", "run_id"}``."""
    from lakegate.api import RunFailed, run
    from lakegate.checks.results import to_jsonable

    asked = json.loads(request.read_text())
    answer: dict[str, Any]
    try:
        record = run(
            asked["pipeline"], project=asked["project"], run_date=asked["run_date"], retries=False
        ).record
    except LakegateError as exc:
        run_id = exc.result.record.run_id if isinstance(exc, RunFailed) else None
        answer = {
            "ok": False,
            "error": type(exc).__name__,
            "message": str(exc),
            "transient": exc.transient,
            "run_id": run_id,
        }
    else:
        summary = {name: getattr(record, name) for name in SUMMARY_FIELDS}
        answer = {"ok": True, "summary": to_jsonable(summary)}
    partial = result.with_suffix(".tmp")
    partial.write_text(json.dumps(answer))
    os.replace(partial, result)  # the parent sees the whole answer or none


def main(argv: Sequence[str] | None = None) -> int:
    """The child's entry point: ``python -m lakegate.generate.isolated REQUEST RESULT``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m lakegate.generate.isolated REQUEST RESULT", file=sys.stderr)
        return 2
    _child(Path(args[0]), Path(args[1]))
    return 0


__all__ = ["SUMMARY_FIELDS", "IsolatedRunError", "RunTimedOut", "run_isolated"]

if __name__ == "__main__":
    sys.exit(main())
