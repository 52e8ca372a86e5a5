"""Prefect code for a project: ``lakegate generate prefect``.

Writes ``<project>_prefect.py`` holding:

- one task per pipeline running it through :func:`lakegate.generate.isolated.run_isolated`
  (a child process, killed when ``sla_minutes`` pass: Prefect's own ``timeout_seconds``
  cannot interrupt a synchronous task in its worker thread); retries and their delay
  from :func:`lakegate.generate.retry_policy` (the same for Airflow and Dagster),
  retried only when the failure is transient; tags from the pipeline file. Before it
  runs, the task asks :func:`lakegate.generate.runtime.check_upstream` whether the
  newest run of every pipeline it depends on (in this flow or another) loaded, and ends
  in a ``Skipped`` state (type ``COMPLETED``, the reason as its message) when one did
  not, as ``lakegate run --all`` skips it;
- one flow per cron schedule holding the pipelines sharing it, a ``manual`` flow for
  unscheduled ones, and ``all_pipelines`` running every pipeline; in each, tasks are
  submitted in dependency order with ``wait_for`` their upstream futures, so a
  pipeline runs only after its upstream finished;
- ``deployments()``: a deployment per flow (``flow.to_deployment``), the scheduled
  ones with their cron (UTC), served by ``python <file>`` (``prefect.serve``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lakegate.generate import (
    depends_on,
    pipelines_by_name,
    render,
    retry_policy,
    schedule_groups,
)

if TYPE_CHECKING:
    from lakegate.config.pipeline import Pipeline
    from lakegate.config.project import Project
    from lakegate.graph import ProjectGraph

ALL_FLOW = "all_pipelines"


def generate(project: Project, graph: ProjectGraph, names: Sequence[str]) -> dict[str, str]:
    """Prefect flows for the pipelines ``names`` (in run order) of ``project``.

    Args:
        project: The loaded project (its root is written as an absolute path).
        graph: The dependency graph of the pipelines.
        names: The pipelines to generate, each after its upstream.

    Returns:
        ``{"<project>_prefect.py": source}`` (unformatted).
    """
    pipelines = pipelines_by_name(project, names)
    flows = [
        _flow(project, graph, g.name, g.cron, g.pipelines)
        for g in schedule_groups(pipelines, names)
    ]
    flows.append(_flow(project, graph, ALL_FLOW, None, tuple(names)))
    source = render(
        "prefect_flows.py.j2",
        project_name=project.name,
        project_root=str(project.root.resolve()),
        tasks=[_task(pipelines[name], depends_on(graph, name)) for name in names],
        flows=flows,
        any_cron=any(f["cron"] for f in flows),
    )
    file = "".join(c if c.isalnum() else "_" for c in project.name)
    return {f"{file}_prefect.py": source}


def _task(pipeline: Pipeline, upstream: tuple[str, ...]) -> dict[str, Any]:
    meta = pipeline.pipeline
    retry = retry_policy(pipeline)
    return {
        "pipeline": pipeline.name,
        "function": f"{pipeline.name}_task",
        "description": meta.description,
        "tags": ["lakegate", *meta.tags],
        "retries": retry.retries,
        "retry_delay": retry.delay_seconds,
        "timeout": meta.sla_minutes * 60 if meta.sla_minutes is not None else None,
        "upstream": upstream,
    }


def _flow(
    project: Project,
    graph: ProjectGraph,
    name: str,
    cron: str | None,
    members: Sequence[str],
) -> dict[str, Any]:
    inside = set(members)
    steps = [
        {
            "pipeline": member,
            "task": f"{member}_task",
            "future": f"{member}_future",
            "wait_for": [f"{u}_future" for u in graph.nodes[member].upstream if u in inside],
            "outside": [u for u in graph.nodes[member].upstream if u not in inside],
        }
        for member in members
    ]
    if cron is not None:
        description = f"lakegate pipelines scheduled {cron!r} (UTC): {', '.join(members)}"
    elif name == ALL_FLOW:
        description = f"Every lakegate pipeline, in dependency order: {', '.join(members)}"
    else:
        description = f"lakegate pipelines without a schedule: {', '.join(members)}"
    return {
        "function": name,
        "flow_name": f"{project.name}-{name}",
        "cron": cron,
        "description": description,
        "steps": steps,
    }
