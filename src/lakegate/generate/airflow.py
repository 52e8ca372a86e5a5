"""``lakegate generate airflow``: Airflow 3 DAG files (TaskFlow API) for a project.

One DAG per schedule group: the pipelines sharing a cron expression (after macros such
as ``@daily`` are expanded) share a DAG; the unscheduled ones share one manual DAG
(``schedule=None``). One task per pipeline calls :func:`lakegate.api.run` with the
task's logical date (``ds``) as ``run_date``, so an Airflow backfill of a date is a
lakegate backfill of that date.

Dependencies come from :func:`lakegate.graph.project_graph`. Between two pipelines of
the same DAG they are task edges. A dependency on a pipeline of another DAG (or on a
table loaded by something not generated) cannot be an edge: Airflow orders only tasks
of one DAG run. It is declared instead: every task has its lake table as an outlet
:class:`airflow.sdk.Asset` (``lakegate://<project>/<table>``) and the tables it reads
from outside its DAG as inlets, so Airflow's asset graph shows the lineage across DAGs,
and the ``doc_md`` names the DAG that loads each such table. And it is enforced as
``lakegate run --all`` enforces it: before it runs, each task asks
:func:`lakegate.generate.runtime.check_upstream` whether the newest run of every
pipeline it depends on (directly or not, in any DAG) loaded, and raises
``AirflowSkipException`` with the reason when one did not (failed, still running, or
never ran). The schedules themselves are left as written (an asset schedule would also
run the DAG on every upstream load), so the cron times must order them.

Task settings come from the pipeline file: ``retries``/``retry_delay`` from
:func:`lakegate.generate.retry_policy` (the same for Prefect and Dagster; a failure
lakegate marks terminal fails at once through ``AirflowFailException``),
``execution_timeout`` from ``pipeline.sla_minutes`` (Airflow 3 removed the ``sla``
parameter: it is accepted and ignored with a warning), ``owner`` per task (the DAG's
``default_args`` owner is the group's owners), tags as the DAG's tags. Every DAG has
``max_active_runs=1`` (one writer per table) and ``catchup=False``.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakegate.generate import (
    ScheduleGroup,
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

TEMPLATE = "airflow_dag.py.j2"


@dataclass(frozen=True)
class _Task:
    """What the template needs to write one pipeline's task."""

    name: str
    function: str
    var: str
    target: str
    owner: str
    retries: int
    retry_delay_seconds: float
    sla_minutes: float | None
    doc_md: str
    inlets: tuple[str, ...]
    upstream: tuple[str, ...]


def generate(project: Project, graph: ProjectGraph, names: Sequence[str]) -> dict[str, str]:
    """The DAG files for the pipelines ``names`` of ``project``.

    Args:
        project: The loaded project; its root becomes the DAG files' default
            ``LAKEGATE_PROJECT`` (the environment variable of that name overrides it
            when the DAGs are parsed).
        graph: The dependency graph of the pipelines generated
            (:func:`lakegate.graph.project_graph`); a table they read that no pipeline
            of the graph writes is an external input.
        names: The pipelines to generate, in run order; each must be in ``graph``.

    Returns:
        File name (``lakegate_<project>_<group>.py``, relative) -> Python source, one
        file per schedule group (:func:`lakegate.generate.schedule_groups`).

    Raises:
        ConfigError: A pipeline file does not load.
    """
    pipelines = pipelines_by_name(project, names)
    order = [n for n in graph.order if n in pipelines]
    groups = schedule_groups(pipelines, order)
    dag_ids = {g.name: f"lakegate_{_slug(project.name)}_{g.name}" for g in groups}
    dag_of = {name: dag_ids[g.name] for g in groups for name in g.pipelines}
    files = {}
    for group in groups:
        context = _dag_context(project, graph, pipelines, group, dag_of)
        files[f"{dag_ids[group.name]}.py"] = render(TEMPLATE, **context)
    return files


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_").lower() or "project"


def _var(name: str) -> str:
    return f"{name}_" if keyword.iskeyword(name) else name


def _dag_context(
    project: Project,
    graph: ProjectGraph,
    pipelines: dict[str, Pipeline],
    group: ScheduleGroup,
    dag_of: dict[str, str],
) -> dict[str, Any]:
    schedule, members = group.cron, group.pipelines
    dag_id = dag_of[members[0]]
    in_dag = {graph.nodes[m].target for m in members}  # tables loaded by this DAG's tasks
    tasks = []
    doc = [
        f"# {dag_id}",
        "",
        f"lakegate project `{project.name}` (`{project.root}`), "
        + (f"schedule `{schedule}` (UTC)." if schedule else "no schedule: triggered by hand."),
        "",
    ]
    for name in members:
        p = pipelines[name]
        meta = p.pipeline
        node = graph.nodes[name]
        lines = [f"## {name}", "", meta.description or "(no description)", ""]
        lines.append(f"- writes `lake.{node.target}`")
        if meta.owner:
            lines.append(f"- owner: {meta.owner}")
        if meta.tier is not None:
            lines.append(f"- tier: {meta.tier}")
        if meta.sla_minutes is not None:
            lines.append(f"- SLA: {meta.sla_minutes:g} minutes (the task's execution timeout)")
        inlets = tuple(t for t in node.reads if t not in in_dag)
        for table in inlets:
            writer = next((u for u in node.upstream if graph.nodes[u].target == table), None)
            where = (
                f"loaded by `{writer}` in DAG `{dag_of[writer]}`"
                if writer in dag_of
                else "loaded outside these DAGs"
            )
            lines.append(
                f"- reads `lake.{table}`, {where}: not a task edge; the task is skipped "
                "unless its newest run loaded"
            )
        doc += [*lines, ""]
        retry = retry_policy(p)
        tasks.append(
            _Task(
                name=name,
                function=f"run_{name}",
                var=_var(name),
                target=node.target,
                owner=meta.owner or "lakegate",
                retries=retry.retries,
                retry_delay_seconds=retry.delay_seconds,
                sla_minutes=meta.sla_minutes,
                doc_md="\n".join(lines),
                inlets=inlets,
                upstream=tuple(_var(u) for u in node.upstream if u in members),
            )
        )
    owners = sorted({t.owner for t in tasks})
    tags = sorted({"lakegate", *(tag for n in members for tag in pipelines[n].pipeline.tags)})
    # Pipeline names are identifiers and DAG ids are slugs: safe in a docstring.
    summary = f"lakegate DAG {dag_id}: pipelines {', '.join(members)}."
    linked = {u for t in tasks for u in t.upstream} | {t.var for t in tasks if t.upstream}
    depends = {m: depends_on(graph, m) for m in members}
    return {
        "summary": summary,
        "description": summary,
        "linked": linked,
        "project_root": str(Path(project.root).resolve()),
        "doc_md": "\n".join(doc).rstrip() + "\n",
        "asset_prefix": f"lakegate.{project.name}.",
        "asset_uri": f"lakegate://{project.name}/",
        "dag_id": dag_id,
        "schedule": schedule,
        "tags": tags,
        "owner": ", ".join(owners),
        "function": dag_id,
        "tasks": tasks,
        "depends": depends,
    }
