"""Dagster code for a project: ``lakegate generate dagster``.

Writes ``<project>_dagster.py`` holding a ``defs = Definitions(...)``:

- one asset per target table (key = the table, group = the project), its deps the
  lake tables the pipeline reads (from :mod:`lakegate.graph`); its compute calls
  :func:`lakegate.api.run` and yields a ``MaterializeResult`` with the run's row
  counts (``rows_loaded`` is the batch's; ``dagster/row_count`` is the table's, from
  its Delta log: :func:`lakegate.generate.runtime.table_row_count`), run id and
  quality score;
- before it runs, the compute asks :func:`lakegate.generate.runtime.check_upstream`
  whether the newest run of every pipeline it depends on (in this job or another)
  loaded; when one did not, it logs why and yields nothing, so the asset is skipped
  (not materialized) like the assets downstream of it, as ``lakegate run --all`` skips
  them. The asset is a ``multi_asset`` with one ``skippable`` spec and ``can_subset``:
  the form in which Dagster lets an asset with checks not materialize;
- one asset check per lakegate check (the contract's, or the pre-load gate's, and the
  post-load gate's), reporting the result lakegate stored for that run (severity
  ERROR for critical checks, WARN otherwise);
- a ``RetryPolicy`` from :func:`lakegate.generate.retry_policy` (the same for Airflow
  and Prefect; only transient failures are retried); owners, tags and description
  from the pipeline file;
- one job per cron schedule and a ``ScheduleDefinition`` for it (UTC), and a
  ``manual`` job for unscheduled pipelines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lakegate.generate import (
    depends_on,
    gate_checks_of,
    pipelines_by_name,
    render,
    retry_policy,
    schedule_groups,
)

if TYPE_CHECKING:
    from lakegate.config.pipeline import Pipeline
    from lakegate.config.project import Project
    from lakegate.graph import ProjectGraph

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,7}")
_TAG = re.compile(r"[A-Za-z0-9_.-]{1,63}")


def generate(project: Project, graph: ProjectGraph, names: Sequence[str]) -> dict[str, str]:
    """Dagster definitions for the pipelines ``names`` (in run order) of ``project``.

    Args:
        project: The loaded project (its root is written as an absolute path).
        graph: The dependency graph of the pipelines.
        names: The pipelines to generate, each after its upstream.

    Returns:
        ``{"<project>_dagster.py": source}`` (unformatted).

    Raises:
        ConfigError: A contract or gate check does not compile.
    """
    pipelines = pipelines_by_name(project, names)
    group = safe_name(project.name)
    assets = [_asset(pipelines[name], graph) for name in names]
    groups = [
        {
            "name": g.name,
            "job": f"{g.name}_job",
            "cron": g.cron,
            "targets": [pipelines[n].load.target for n in g.pipelines],
        }
        for g in schedule_groups(pipelines, names)
    ]
    source = render(
        "dagster_definitions.py.j2",
        project_name=project.name,
        project_root=str(project.root.resolve()),
        group=group,
        assets=assets,
        groups=groups,
    )
    return {f"{group}_dagster.py": source}


def _asset(pipeline: Pipeline, graph: ProjectGraph) -> dict[str, Any]:
    meta = pipeline.pipeline
    node = graph.nodes[pipeline.name]
    target = pipeline.load.target
    metadata: dict[str, Any] = {"lakegate/pipeline": pipeline.name}
    if pipeline.path is not None:
        metadata["lakegate/pipeline_file"] = str(pipeline.path.resolve())
    if meta.schedule:
        metadata["lakegate/schedule"] = meta.schedule
    if meta.sla_minutes is not None:
        metadata["lakegate/sla_minutes"] = meta.sla_minutes
    if meta.tier is not None:
        metadata["lakegate/tier"] = meta.tier
    if meta.tags:
        metadata["lakegate/tags"] = list(meta.tags)
    tags = {tag: "" for tag in meta.tags if _TAG.fullmatch(tag)}
    if meta.tier is not None:
        tags["lakegate/tier"] = str(meta.tier)
    owners = []
    if meta.owner:
        owners.append(meta.owner if _EMAIL.fullmatch(meta.owner) else f"team:{meta.owner}")
    retry = retry_policy(pipeline)
    return {
        "pipeline": pipeline.name,
        "target": target,
        "op": safe_name(target),
        "function": f"{target}_asset",
        "upstream": depends_on(graph, pipeline.name),
        "checks_name": f"{target}_checks",
        "deps": list(node.reads),
        "description": meta.description,
        "owners": owners,
        "tags": tags,
        "metadata": metadata,
        "max_retries": retry.retries,
        "retry_delay": retry.delay_seconds,
        "checks": _checks(pipeline),
    }


def _checks(pipeline: Pipeline) -> list[dict[str, str]]:
    """Each check once, with a Dagster check name (letters, digits, underscores) unique
    within the asset: ``carrier.not_null`` -> ``carrier_not_null``; post-load checks
    whose name a pre-load check already took get a ``post_load_`` prefix."""
    found: list[dict[str, str]] = []
    taken: set[str] = set()
    for gate, checks in gate_checks_of(pipeline).items():
        for check in checks:
            base = safe_name(check.id)
            name = base if base not in taken else f"{gate}_{base}"
            suffix = 2
            while name in taken:
                name, suffix = f"{gate}_{base}_{suffix}", suffix + 1
            taken.add(name)
            found.append(
                {"name": name, "gate": gate, "id": check.id, "severity": check.severity.value}
            )
    return found


def safe_name(text: str) -> str:
    """``text`` with every run of characters other than letters, digits and ``_``
    replaced by ``_`` (Dagster's names), never starting with a digit."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "x"
    return f"_{name}" if name[0].isdigit() else name
