"""Run the analyzer's rules over SQL sources and collect the findings.

A rule is a function from a :class:`Context` (one parsed statement, the lake
catalog, the options) to findings, registered with :func:`register`. Rules work
on sqlglot's AST; none looks at the text with regular expressions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from lakegate.analyze.catalog import Catalog, LakeTable
from lakegate.analyze.model import Finding, Rule, Severity
from lakegate.analyze.scans import TableScan, table_scans
from lakegate.analyze.sources import SqlSource, Statement, collect_sources, parse_source
from lakegate.transform import LAKE_SCHEMA

PARSE_ERROR = Rule(
    id="LG000",
    name="parse-error",
    severity=Severity.ERROR,
    summary="The statement does not parse in the chosen dialect.",
    fix="Correct the SQL, or pass the dialect it is written in with --dialect.",
    impact="Nothing else can be checked in it.",
)

Check = Callable[["Context"], Iterable[Finding]]


@dataclass(frozen=True)
class Registered:
    """A rule and the function that finds it; ``dialects`` limits where it runs (empty:
    every dialect)."""

    rule: Rule
    check: Check
    dialects: tuple[str, ...] = ()


REGISTRY: dict[str, Registered] = {}


def register(rule: Rule, *, dialects: Sequence[str] = ()) -> Callable[[Check], Check]:
    """Decorator: register ``check`` as the finder of ``rule``.

    Raises:
        ValueError: Another check is registered under the same id or name.
    """

    def decorate(check: Check) -> Check:
        if rule.id in REGISTRY or any(r.rule.name == rule.name for r in REGISTRY.values()):
            raise ValueError(f"rule {rule.id} {rule.name} is registered twice")
        REGISTRY[rule.id] = Registered(rule, check, tuple(dialects))
        return check

    return decorate


def list_rules() -> list[Rule]:
    """Every registered rule (the built-in ones loaded), by id."""
    _load_builtin()
    return [REGISTRY[k].rule for k in sorted(REGISTRY)] + [PARSE_ERROR]


@dataclass
class Context:
    """What a rule sees: one statement and the means to report on it.

    Attributes:
        statement: The parsed statement (the tree as written; do not mutate it, copy).
        catalog: The lake tables a query may read (empty when there is no project).
        recommend: Whether findings should carry rewritten SQL.
    """

    statement: Statement
    catalog: Catalog
    recommend: bool = False

    @property
    def tree(self) -> exp.Expr:
        return self.statement.tree

    @property
    def dialect(self) -> str:
        return self.statement.source.dialect

    @cached_property
    def _nodes(self) -> dict[type, list[exp.Expr]]:
        """Every node of the statement by its class, from one walk of the tree."""
        index: dict[type, list[exp.Expr]] = {}
        for node in self.tree.walk():
            index.setdefault(type(node), []).append(node)
        return index

    def find_all(self, *kinds: type) -> list[Any]:
        """The statement's nodes that are instances of ``kinds`` (like sqlglot's
        ``find_all``, from one shared walk instead of one walk per rule)."""
        return [
            node for cls, nodes in self._nodes.items() if issubclass(cls, kinds) for node in nodes
        ]

    @cached_property
    def scope_of(self) -> dict[int, Scope]:
        """``{id(select): scope}`` for the statement's SELECTs."""
        return {id(scope.expression): scope for scope in self.scopes}

    @cached_property
    def scopes(self) -> list[Scope]:
        """sqlglot's scopes of the statement (empty for DDL or when they cannot be built)."""
        from lakegate.analyze.syntax import scopes

        return scopes(self.tree)

    @cached_property
    def scans(self) -> list[TableScan]:
        """The statement's reads of lake tables (see :func:`table_scans`)."""
        return table_scans(self.statement, self.catalog)

    def lake_table(self, ref: exp.Table) -> LakeTable | None:
        """The lake table ``ref`` names (in a pipeline stage, only ``lake.<table>``)."""
        if self.statement.source.pipeline_stage and ref.db != LAKE_SCHEMA:
            return None
        return self.catalog.resolve(ref)

    def sql(self, tree: exp.Expr) -> str:
        """``tree`` as SQL in the statement's dialect, pretty-printed, without the
        comments (a file's header comment would repeat in every rewrite)."""
        return tree.sql(dialect=self.dialect, pretty=True, comments=False)

    def finding(
        self,
        rule: Rule,
        node: exp.Expr | None,
        message: str,
        *,
        rewrite: exp.Expr | str | None = None,
        details: dict[str, Any] | None = None,
        severity: Severity | None = None,
        fix: str | None = None,
    ) -> Finding:
        """A finding of ``rule`` at ``node`` (its first token; the statement's when None).

        ``rewrite`` is kept only when :attr:`recommend` is set.
        """
        line, column = self.statement.position(node)
        text: str | None = None
        if self.recommend and rewrite is not None:
            text = rewrite if isinstance(rewrite, str) else self.sql(rewrite)
        source = self.statement.source
        return Finding(
            rule=rule.id,
            name=rule.name,
            severity=severity or rule.severity,
            path=str(source.path),
            line=line,
            column=column,
            message=message,
            fix=fix or rule.fix,
            impact=rule.impact,
            origin=source.origin,
            statement=self.statement.index,
            rewrite=text,
            details=details or {},
        )


@dataclass
class Report:
    """What an analysis found.

    Attributes:
        findings: Every finding, sorted by file, line, column and rule.
        sources: SQL texts read (files and inline stages).
        statements: Statements parsed.
        seconds: Wall time of the analysis (seconds).
    """

    findings: list[Finding] = field(default_factory=list)
    sources: int = 0
    statements: int = 0
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        """``{severity: findings}`` for every severity."""
        return {s.value: sum(1 for f in self.findings if f.severity is s) for s in Severity}


def analyze_paths(
    paths: Iterable[str | Path],
    *,
    dialect: str | None = None,
    catalog: Catalog | None = None,
    recommend: bool = False,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    progress: Callable[[int, int], None] | None = None,
    jobs: int = 1,
) -> Report:
    """Analyze the SQL under ``paths`` (files, folders, pipeline files).

    Args:
        paths: Where the SQL is (see :func:`~lakegate.analyze.sources.collect_sources`).
        dialect: sqlglot dialect for every text; None: duckdb for ``.sql`` files and
            the project engine's for pipeline stages.
        catalog: The lake tables queries may read; None: no lake (rules that need table
            statistics stay silent).
        recommend: Attach rewritten SQL to findings where one can be produced.
        select: Only these rules (ids or names); empty for all.
        ignore: Skip these rules (ids or names).
        progress: Called with ``(sources done, sources)`` after each source.
        jobs: Worker processes; above 1, sources are analyzed in parallel (parsing is
            CPU-bound pure Python, so threads would not help). Worth it from about a
            hundred sources; the findings are the same.

    Raises:
        UserInputError: A path does not exist, or a rule in ``select``/``ignore`` is unknown.
        ConfigError: A pipeline file is invalid.
    """
    from lakegate.errors import UserInputError

    started = time.perf_counter()
    _load_builtin()
    known = {r.rule.id.lower(): r for r in REGISTRY.values()} | {
        r.rule.name: r for r in REGISTRY.values()
    }
    for name in (*select, *ignore):
        if name.lower() not in known and name not in (PARSE_ERROR.id, PARSE_ERROR.name):
            raise UserInputError(f"unknown rule {name!r} (see `lakegate analyze --list-rules`)")
    chosen = {known[n.lower()].rule.id for n in select if n.lower() in known}
    skipped = {known[n.lower()].rule.id for n in ignore if n.lower() in known}
    active = [
        r
        for r in REGISTRY.values()
        if (not chosen or r.rule.id in chosen) and r.rule.id not in skipped
    ]
    catalog = catalog or Catalog(None)
    sources = collect_sources(paths, dialect)
    report = Report(sources=len(sources))
    ids = [r.rule.id for r in active]
    if jobs > 1 and len(sources) > jobs:
        _analyze_parallel(report, sources, catalog, recommend, ids, jobs, progress)
    else:
        for done, source in enumerate(sources, start=1):
            statements, findings = _analyze_source(source, catalog, recommend, active)
            report.statements += statements
            report.findings.extend(findings)
            if progress is not None:
                progress(done, len(sources))
    report.findings.sort(key=Finding.sort_key)
    report.seconds = time.perf_counter() - started
    return report


def _analyze_source(
    source: SqlSource, catalog: Catalog, recommend: bool, active: Sequence[Registered]
) -> tuple[int, list[Finding]]:
    """``(statements parsed, findings)`` of one source."""
    statements, failures = parse_source(source)
    findings = [
        Finding(
            rule=PARSE_ERROR.id,
            name=PARSE_ERROR.name,
            severity=PARSE_ERROR.severity,
            path=str(source.path),
            line=failure.line,
            column=failure.column,
            message=f"cannot parse as {source.dialect}: {failure.message}",
            fix=PARSE_ERROR.fix,
            impact=PARSE_ERROR.impact,
            origin=source.origin,
        )
        for failure in failures
    ]
    for statement in statements:
        findings.extend(_check(statement, catalog, recommend, active))
    return len(statements), findings


def _analyze_parallel(
    report: Report,
    sources: Sequence[SqlSource],
    catalog: Catalog,
    recommend: bool,
    rule_ids: Sequence[str],
    jobs: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Analyze ``sources`` in ``jobs`` processes, in chunks, into ``report``."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    size = max(1, min(50, len(sources) // (jobs * 4)))
    chunks = [list(sources[i : i + size]) for i in range(0, len(sources), size)]
    done = 0
    # Spawned, not forked: deltalake's Rust runtime does not survive a fork.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {
            pool.submit(
                _analyze_chunk, chunk, catalog.lake_uri, catalog.extra, recommend, rule_ids
            ): len(chunk)
            for chunk in chunks
        }
        for future in as_completed(futures):
            statements, findings = future.result()
            report.statements += statements
            report.findings.extend(findings)
            done += futures[future]
            if progress is not None:
                progress(done, len(sources))


def _analyze_chunk(
    sources: list[SqlSource],
    lake_uri: str | None,
    extra: dict[str, str],
    recommend: bool,
    rule_ids: Sequence[str],
) -> tuple[int, list[Finding]]:
    """A worker's share: the catalog is rebuilt from the lake's location (its loaded
    tables stay in the parent) and the rules from their ids."""
    _load_builtin()
    catalog = Catalog(lake_uri, extra)
    active = [REGISTRY[rule_id] for rule_id in rule_ids]
    statements = 0
    findings: list[Finding] = []
    for source in sources:
        count, found = _analyze_source(source, catalog, recommend, active)
        statements += count
        findings.extend(found)
    return statements, findings


def _check(
    statement: Statement, catalog: Catalog, recommend: bool, active: Sequence[Registered]
) -> Iterator[Finding]:
    context = Context(statement, catalog, recommend)
    for registered in active:
        if registered.dialects and statement.source.dialect not in registered.dialects:
            continue
        yield from registered.check(context)


def _load_builtin() -> None:
    """Import the modules that register the built-in rules."""
    import importlib

    for module in ("lakegate.analyze.rules", "lakegate.analyze.spark"):
        importlib.import_module(module)
