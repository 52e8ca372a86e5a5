"""lakegate's Python API for orchestrators: run a project's pipeline by name.

What ``lakegate run`` does, callable from an Airflow, Prefect or Dagster task (the
code ``lakegate generate`` writes calls :func:`run`). lakegate never schedules by
itself; the orchestrator decides when, and retries per its own settings. The run's
lineage events name the orchestrator's run: its nominal (schedule) time and parent run,
given as arguments or read from the environment (:mod:`lakegate.observe.orchestration`:
``OPENLINEAGE_PARENT_ID``, Airflow's ``AIRFLOW_CTX_LOGICAL_DATE``, ...).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from lakegate.errors import ConfigError, DataError

if TYPE_CHECKING:
    from lakegate.runner import RunResult


class RunFailed(DataError):
    """A pipeline run failed; ``result`` holds its record and gate reports.

    Attributes:
        result: The run's :class:`~lakegate.runner.RunResult`.
    """

    def __init__(self, result: RunResult) -> None:
        record = result.record
        super().__init__(
            f"pipeline {record.pipeline_name} run {record.run_id} failed in {record.stage}: "
            f"{record.error_message}"
        )
        self.result = result
        self.transient = result.transient


def run(
    pipeline: str,
    *,
    project: str | Path = ".",
    run_date: str | dt.date | None = None,
    full_refresh: bool = False,
    retries: bool = True,
    nominal_time: str | dt.datetime | None = None,
    parent_run: str | None = None,
    root_run: str | None = None,
) -> RunResult:
    """Run the pipeline named ``pipeline`` of the project at ``project`` once.

    Args:
        pipeline: The pipeline's name (``pipeline.name`` in its file), looked up in the
            project's ``pipelines`` folder.
        project: The project folder (holding ``lakegate.yaml``) or that file.
        run_date: The logical date (``YYYY-MM-DD`` or a date; Airflow's ``{{ ds }}``):
            fills ``{run_date}`` in source paths, so an orchestrator's backfill of a
            date is a lakegate backfill of that date.
        full_refresh: Ignore the watermark and reload everything.
        retries: Retry transient failures as the pipeline's ``error_handling`` says. The
            code ``lakegate generate`` writes passes False: the orchestrator retries
            (``RunFailed.transient`` tells it whether to), so a failure is not retried
            inside each of its attempts too.
        nominal_time: The time the orchestrator scheduled the run for (ISO 8601 text,
            naive means UTC, or a datetime; Airflow's ``{{ logical_date }}``), emitted as
            the ``nominalTime`` lineage facet. Default: ``OPENLINEAGE_NOMINAL_START_TIME``,
            else Airflow's ``AIRFLOW_CTX_LOGICAL_DATE`` (``AIRFLOW_CTX_EXECUTION_DATE``).
        parent_run: The orchestrator's OpenLineage run that started this one, as
            ``<namespace>/<job name>/<run id UUID>`` (the Airflow OpenLineage provider's
            ``lineage_parent_id`` macro), emitted as the ``parent`` facet. Default:
            ``OPENLINEAGE_PARENT_ID`` (or its ``_JOB_NAMESPACE``/``_JOB_NAME``/``_RUN_ID``
            parts).
        root_run: The root of that run's hierarchy (the DAG run), in the same form.
            Default: ``OPENLINEAGE_ROOT_PARENT_ID``.

    Returns:
        The run's result (``status`` success or partial).

    Raises:
        RunFailed: The run failed (``transient`` when a retry may succeed).
        ConfigError: No such pipeline, or an invalid project or pipeline file.
        UserInputError: ``nominal_time``, ``parent_run`` or ``root_run`` cannot be read.
        LockHeldError: Another run of the pipeline holds its lock.
    """
    from lakegate.config.pipeline import project_pipelines
    from lakegate.config.project import load_project
    from lakegate.observe.orchestration import Orchestration
    from lakegate.runner import RunOptions, run_pipeline

    orchestration = Orchestration.given(
        nominal_time=nominal_time, parent_run=parent_run, root_run=root_run
    )
    proj = load_project(project)
    found = [p for p in project_pipelines(proj) if p.name == pipeline]
    if not found:
        names = ", ".join(sorted(p.name for p in project_pipelines(proj))) or "none"
        raise ConfigError(f"{proj.root}: no pipeline named {pipeline!r} (pipelines: {names})")
    date = dt.date.fromisoformat(run_date) if isinstance(run_date, str) else run_date
    options = RunOptions(
        run_date=date, full_refresh=full_refresh, retries=retries, orchestration=orchestration
    )
    result = run_pipeline(proj, found[0], options)
    if not result.ok:
        raise RunFailed(result)
    return result
