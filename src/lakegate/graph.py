"""The project's dependency graph: a pipeline that reads ``lake.X`` depends on the
pipeline that writes X.

A pipeline reads a lake table through its transform stages (``FROM lake.airlines``),
through its contract's and gates' checks (``relationships``/``reconciliation`` with
``to: lake.X``), or through a file source whose path lies inside the lake. It writes
its ``load.target``. Reads of tables no pipeline writes (loaded by something else)
are kept as external inputs. lakegate never schedules by itself: orchestrators use
this graph (``lakegate generate``), and ``lakegate run --all`` runs it once in order.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lakegate.errors import ConfigError

if TYPE_CHECKING:
    from lakegate.config.pipeline import Pipeline
    from lakegate.config.project import Project


@dataclass(frozen=True)
class Node:
    """One pipeline in the graph.

    Attributes:
        name: The pipeline's name.
        target: The lake table it writes.
        reads: The lake tables it reads, sorted.
        upstream: The pipelines writing those tables, sorted.
        path: The pipeline file, when known.
    """

    name: str
    target: str
    reads: tuple[str, ...]
    upstream: tuple[str, ...]
    path: Path | None = None


@dataclass(frozen=True)
class ProjectGraph:
    """The pipelines and their dependencies.

    Attributes:
        nodes: By pipeline name.
        order: Every pipeline once, each after the pipelines it depends on (ties by name).
        external: Lake tables read but written by no pipeline of the project, sorted.
    """

    nodes: dict[str, Node]
    order: tuple[str, ...]
    external: tuple[str, ...] = field(default=())

    def downstream(self, name: str) -> set[str]:
        """Every pipeline that depends on ``name``, directly or not."""
        found: set[str] = set()
        frontier = [name]
        while frontier:
            current = frontier.pop()
            for node in self.nodes.values():
                if current in node.upstream and node.name not in found:
                    found.add(node.name)
                    frontier.append(node.name)
        return found

    def upstream_of(self, name: str) -> set[str]:
        """Every pipeline ``name`` depends on, directly or not."""
        found: set[str] = set()
        frontier = [name]
        while frontier:
            for parent in self.nodes[frontier.pop()].upstream:
                if parent not in found:
                    found.add(parent)
                    frontier.append(parent)
        return found

    def select(self, selectors: Iterable[str]) -> tuple[str, ...]:
        """The pipelines picked by dbt-style selectors, in run order: ``NAME``, ``NAME+``
        (and everything downstream), ``+NAME`` (and everything upstream), ``+NAME+``.

        Raises:
            ConfigError: A selector names no pipeline.
        """
        picked: set[str] = set()
        for raw in selectors:
            name = raw.strip().strip("+")
            if name not in self.nodes:
                known = ", ".join(sorted(self.nodes)) or "none"
                raise ConfigError(f"--select {raw!r}: no pipeline {name!r} (pipelines: {known})")
            picked.add(name)
            if raw.strip().endswith("+"):
                picked |= self.downstream(name)
            if raw.strip().startswith("+"):
                picked |= self.upstream_of(name)
        return tuple(n for n in self.order if n in picked)

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly: nodes with reads and upstream, the order, external tables."""
        return {
            "order": list(self.order),
            "external": list(self.external),
            "pipelines": {
                n.name: {
                    "target": n.target,
                    "reads": list(n.reads),
                    "upstream": list(n.upstream),
                    "path": str(n.path) if n.path else None,
                }
                for n in (self.nodes[name] for name in self.order)
            },
        }

    def to_dot(self) -> str:
        """Graphviz DOT: an edge from each pipeline to the pipelines reading its table."""
        lines = ["digraph lakegate {", "  rankdir=LR;", "  node [shape=box];"]
        for name in self.order:
            node = self.nodes[name]
            lines.append(f'  "{name}" [label="{name}\\n→ {node.target}"];')
        for table in self.external:
            lines.append(f'  "lake.{table}" [shape=cylinder];')
        for name in self.order:
            for parent in self.nodes[name].upstream:
                lines.append(f'  "{parent}" -> "{name}";')
            for table in self.nodes[name].reads:
                if table in self.external:
                    lines.append(f'  "lake.{table}" -> "{name}";')
        lines.append("}")
        return "\n".join(lines) + "\n"


def pipeline_reads(project: Project, pipeline: Pipeline) -> set[str]:
    """The lake tables ``pipeline`` reads (see the module docstring), without its own
    target (a merge reading its own table is no dependency).

    Raises:
        ConfigError: A stage's SQL or the contract does not load.
    """
    from lakegate.checks.gate import gate_checks
    from lakegate.config.contract import load_contract
    from lakegate.config.pipeline import FileSource
    from lakegate.contracts.compile import contract_checks
    from lakegate.transform import lake_tables, parse_stage

    stages = [
        parse_stage(s.name, s.sql, pipeline.resolve, "duckdb") for s in pipeline.transform.stages
    ]
    reads = set(lake_tables(stages))
    checks = gate_checks(pipeline, pipeline.quality_gates.post_load, "post_load")
    if isinstance(pipeline.quality_gates.pre_load, list):
        checks += gate_checks(pipeline, pipeline.quality_gates.pre_load, "pre_load")
    if pipeline.contract:
        checks += contract_checks(load_contract(pipeline.resolve(pipeline.contract)))
    for check in checks:
        if check.ref and check.ref.startswith("lake."):
            reads.add(check.ref.removeprefix("lake."))
    source = pipeline.extract.source
    if isinstance(source, FileSource) and "://" not in project.lake_uri:
        lake = Path(project.lake_uri).resolve()
        path = project.path(source.path).resolve()
        if path.is_relative_to(lake) and path != lake:
            reads.add(path.relative_to(lake).parts[0])
    reads.discard(pipeline.load.target)
    return reads


def project_graph(project: Project, pipelines: Sequence[Pipeline] | None = None) -> ProjectGraph:
    """The dependency graph of ``pipelines`` (default: every pipeline of the project).

    Raises:
        ConfigError: Two pipelines write the same table, a pipeline file or contract
            does not load, or the dependencies form a cycle (the error names it).
    """
    from lakegate.config.pipeline import project_pipelines

    found = list(pipelines) if pipelines is not None else project_pipelines(project)
    writers: dict[str, str] = {}
    for p in found:
        if p.load.target in writers:
            raise ConfigError(
                f"pipelines {writers[p.load.target]!r} and {p.name!r} both write lake table "
                f"{p.load.target!r}: one writer per table"
            )
        writers[p.load.target] = p.name
    reads = {p.name: pipeline_reads(project, p) for p in found}
    nodes = {
        p.name: Node(
            name=p.name,
            target=p.load.target,
            reads=tuple(sorted(reads[p.name])),
            upstream=tuple(sorted({writers[t] for t in reads[p.name] if t in writers})),
            path=p.path,
        )
        for p in found
    }
    sorter = graphlib.TopologicalSorter({n.name: set(n.upstream) for n in nodes.values()})
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = list(exc.args[1])
        raise ConfigError(
            "the pipelines depend on each other in a cycle: "
            + " -> ".join(cycle)
            + " (each reads the table the one before it writes)"
        ) from None
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order += ready
        sorter.done(*ready)
    external = sorted({t for r in reads.values() for t in r if t not in writers})
    return ProjectGraph(nodes=nodes, order=tuple(order), external=tuple(external))
