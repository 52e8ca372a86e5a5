"""Run a project's pipelines once, in dependency order (``lakegate run --all``).

The order comes from :func:`lakegate.graph.project_graph`: a pipeline runs after
every pipeline that writes a lake table it reads. When a pipeline fails, every
pipeline downstream of it is skipped (its inputs did not refresh, and a gate may
check them against a stale or missing table); pipelines that do not depend on it
still run. lakegate schedules nothing: this runs the graph once, like ``dbt run``;
orchestrators run the same graph through ``lakegate generate``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from lakegate.errors import LakegateError, UserInputError
from lakegate.graph import ProjectGraph, project_graph

if TYPE_CHECKING:
    from lakegate.config.pipeline import Pipeline
    from lakegate.config.project import Project
    from lakegate.runner import RunOptions, RunResult

PipelineStatus = Literal["ran", "failed", "skipped"]


def _ignore(*_: Any) -> None:
    return None


@dataclass(frozen=True)
class PipelineOutcome:
    """What happened to one pipeline of a project run.

    Attributes:
        name: The pipeline's name.
        status: ``ran`` (the run succeeded, or was ``partial``: loaded with rows
            quarantined), ``failed`` (the run failed, or raised before it could run,
            e.g. its lock was held), or ``skipped`` (an upstream pipeline failed).
        result: The run's result; None when skipped or when the run raised.
        reason: Why it failed or was skipped; for a ``partial`` run, its alert; else None.
    """

    name: str
    status: PipelineStatus
    result: RunResult | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly (values may still need :func:`~lakegate.checks.results.to_jsonable`):
        ``pipeline``, ``status``, ``reason`` and ``run`` (the run record, or None)."""
        return {
            "pipeline": self.name,
            "status": self.status,
            "reason": self.reason,
            "run": self.result.record.to_dict() if self.result is not None else None,
        }


@dataclass(frozen=True)
class ProjectRunResult:
    """The outcome of :func:`run_project`.

    Attributes:
        graph: The project's dependency graph (every pipeline, selected or not).
        outcomes: One per selected pipeline, in the order they were considered (run order).
    """

    graph: ProjectGraph
    outcomes: tuple[PipelineOutcome, ...]

    @property
    def ok(self) -> bool:
        """True when no pipeline failed (and so none was skipped)."""
        return all(o.status == "ran" for o in self.outcomes)

    def outcome(self, name: str) -> PipelineOutcome:
        """The outcome of pipeline ``name``.

        Raises:
            KeyError: ``name`` was not selected.
        """
        for o in self.outcomes:
            if o.name == name:
                return o
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: ``status`` (success or failed), ``order`` and ``pipelines``."""
        return {
            "status": "success" if self.ok else "failed",
            "order": [o.name for o in self.outcomes],
            "pipelines": [o.to_dict() for o in self.outcomes],
        }


@dataclass(frozen=True)
class ProjectProgress:
    """What :func:`run_project` tells its caller while it goes; every callback is optional.

    Attributes:
        started: Called with a pipeline's name before it runs (not for skipped ones).
        step: Called with a pipeline's name and each step's name as it starts
            (see :class:`lakegate.runner.RunProgress`).
        finished: Called with each pipeline's outcome, skipped ones included.
    """

    started: Callable[[str], None] = _ignore
    step: Callable[[str, str], None] = _ignore
    finished: Callable[[PipelineOutcome], None] = _ignore


def run_project(
    project: Project,
    select: Iterable[str] | None = None,
    options: RunOptions | None = None,
    *,
    progress: ProjectProgress | None = None,
) -> ProjectRunResult:
    """Run the project's pipelines once, each after the pipelines it depends on.

    Every pipeline file of the project is loaded and the graph built first, so a
    broken file, two writers of one table or a dependency cycle stop everything
    before anything runs. Pipelines then run one at a time in the graph's order
    (ties by name) with the same ``options``. A failed pipeline skips every pipeline
    downstream of it (the reason names the failed upstream pipelines); independent
    pipelines still run.

    Args:
        project: The project (its ``pipelines`` folder, lake and state store).
        select: dbt-style selectors (``NAME``, ``NAME+`` with everything downstream,
            ``+NAME`` with everything upstream, ``+NAME+``); None runs every pipeline.
            Unselected upstream pipelines are not run: their tables are read as they are.
        options: Run options for every pipeline (:class:`lakegate.runner.RunOptions`;
            ``replay`` and ``reconcile`` are for single pipelines and are refused).
        progress: Callbacks while it goes (see :class:`ProjectProgress`).

    Returns:
        One outcome per selected pipeline; ``result.ok`` is False when any failed.

    Raises:
        ConfigError: A pipeline file, contract or stage does not load, two pipelines
            write one table, the dependencies form a cycle, or a selector names no
            pipeline.
        UserInputError: The project has no pipelines, or ``options`` asks for a
            replay or a reconciliation.
    """
    from lakegate.config.pipeline import project_pipelines
    from lakegate.runner import RunOptions, RunProgress, run_pipeline

    options = options or RunOptions()
    if options.replay is not None or options.reconcile:
        raise UserInputError("a replay or a forced reconciliation runs one pipeline, not a project")
    monitor = progress or ProjectProgress()
    pipelines = {p.name: p for p in project_pipelines(project)}
    if not pipelines:
        raise UserInputError(f"no pipeline files in {project.path(project.pipelines)}")
    graph = project_graph(project, list(pipelines.values()))
    names = graph.select(select) if select is not None else graph.order

    failed: set[str] = set()
    outcomes: list[PipelineOutcome] = []
    for name in names:
        broken = sorted(graph.upstream_of(name) & failed)
        if broken:
            outcome = PipelineOutcome(
                name,
                "skipped",
                reason="upstream " + ", ".join(repr(b) for b in broken) + " failed",
            )
        else:
            monitor.started(name)
            step = RunProgress(step=functools.partial(monitor.step, name))
            outcome = _run_one(pipelines[name], project, options, step, run_pipeline)
            if outcome.status == "failed":
                failed.add(name)
        outcomes.append(outcome)
        monitor.finished(outcome)
    return ProjectRunResult(graph=graph, outcomes=tuple(outcomes))


def _run_one(
    pipeline: Pipeline,
    project: Project,
    options: RunOptions,
    progress: Any,
    run: Callable[..., RunResult],
) -> PipelineOutcome:
    """Run one pipeline; a lakegate error (a held lock, a bad stage) is its failure."""
    try:
        result = run(project, pipeline, options, progress=progress)
    except LakegateError as exc:
        return PipelineOutcome(pipeline.name, "failed", reason=str(exc))
    if result.ok:  # a partial run loaded: its alert is the reason, nothing is skipped
        partial = result.record.error_message if result.record.status == "partial" else None
        return PipelineOutcome(pipeline.name, "ran", result=result, reason=partial)
    record = result.record
    reason = f"{record.status} at {record.stage}: {record.error_message or 'no message'}"
    return PipelineOutcome(pipeline.name, "failed", result=result, reason=reason)


__all__ = [
    "PipelineOutcome",
    "PipelineStatus",
    "ProjectProgress",
    "ProjectRunResult",
    "run_project",
]
