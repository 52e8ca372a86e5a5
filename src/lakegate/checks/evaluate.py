"""Evaluate a set of checks on one dataset in as few scans as possible.

Every aggregate of every check goes into ONE ``SELECT`` over the dataset
(identical aggregates are computed once). Checks that need a grouping or a
join (unique, unique_combination, relationships, the most-common-value share
of distribution, custom_sql) run one extra query each, and so does the other
side of a reconciliation (its total over the bound dataset).

Columns the data holds in another type than the contract's are conformed first
(:mod:`lakegate.checks.conform`): value checks compare typed values, and a value
that cannot be cast fails the column's type check only.

The check engine reads no state: run history for volume_anomaly comes from the
caller (``history``), as bound datasets do (``refs``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlglot import exp

from lakegate.checks.compile import (
    ROWS,
    Compiled,
    Scope,
    compile_check,
    samples_aggregate,
)
from lakegate.checks.conform import conform_types, declared_types
from lakegate.checks.model import Check, ColumnType, Regex
from lakegate.checks.results import CheckResult, ValidationReport
from lakegate.checks.samples import is_aggregate
from lakegate.engines.base import Engine
from lakegate.errors import ConfigError, EngineError, LakegateError

FAILED_CHECKS_COLUMN = "_lakegate_failed_checks"


def compile_all(checks: Sequence[Check], scope: Scope) -> list[Compiled]:
    """Compile ``checks`` for one dataset.

    Raises:
        ConfigError: Two checks share an id.
        InputDataError: A check reads a column the data lacks.
    """
    seen: set[str] = set()
    for check in checks:
        if check.id in seen:
            raise ConfigError(f"two checks share the id {check.id!r}; give one an explicit id")
        seen.add(check.id)
    return [compile_check(c, scope) for c in checks]


def aggregate_select(
    compiled: Sequence[Compiled], scope: Scope
) -> tuple[exp.Select, list[dict[str, str]]]:
    """One SELECT carrying every aggregate, and per check the map local name -> alias."""
    aliases: dict[str, str] = {}
    expressions: list[exp.Expr] = []
    mappings: list[dict[str, str]] = []

    def alias_for(expression: exp.Expr) -> str:
        key = expression.sql(dialect=scope.dialect)
        if key not in aliases:
            aliases[key] = f"a{len(aliases)}"
            expressions.append(expression.as_(aliases[key], quoted=True))
        return aliases[key]

    alias_for(exp.Count(this=exp.Star()))  # ROWS, always first
    for c in compiled:
        mappings.append({name: alias_for(agg) for name, agg in c.aggregates.items()})
    return exp.select(*expressions).from_(scope.source()), mappings


def evaluate_checks(
    engine: Engine,
    table: str,
    checks: Sequence[Check],
    *,
    refs: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
    label: str = "",
    contract: tuple[str, str] | None = None,
    history: Sequence[int] | None = None,
    types: Mapping[str, ColumnType] | None = None,
) -> ValidationReport:
    """Run ``checks`` on the dataset the engine knows as ``table``.

    Args:
        engine: An engine on which ``table`` and every dataset in ``refs`` are registered.
        table: The dataset's name in the engine.
        checks: The checks to run; their ids must be unique.
        refs: ``{check 'to' value: engine table name}``, for the datasets relationships
            and reconciliation checks read (see :attr:`Check.ref`).
        now: Reference time for freshness checks (default: now, UTC).
        label: How the report names the dataset.
        contract: ``(name, version)`` of the contract the checks came from.
        history: Row counts of the previous successful runs' batches, newest first,
            for volume_anomaly checks; None when the caller has no run history (those
            checks then pass with the note "no run history").
        types: ``{column: ColumnType}`` the contract declares; with the types the
            checks' type checks name, they decide which columns are conformed (see
            :func:`lakegate.checks.conform.declared_types`).

    Returns:
        A report with one result per check, in the order given.

    Raises:
        InputDataError: A check reads a column the data lacks.
        ConfigError: A check is invalid for this data (bad SQL, bad pattern).
        EngineError: The engine failed while running a query (a one-line message).
    """
    started = time.perf_counter()
    bound = dict(refs or {})
    columns = engine.columns(table)
    scope = Scope(
        table=table,
        columns=columns,
        refs=bound,
        now=_utc(now or dt.datetime.now(dt.UTC)),
        dialect=engine.dialect,
        ref_columns=_ref_columns(engine, checks, bound),
        history=None if history is None else tuple(int(n) for n in history),
        conform=conform_types(declared_types(checks, types), columns),
    )
    compiled = compile_all(checks, scope)
    _check_patterns(engine, checks)
    select, mappings = aggregate_select(compiled, scope)
    try:
        row = engine.query(select)[0]
    except EngineError as exc:
        raise EngineError(
            f"the checks of {label or table} could not run on the {engine.name} engine: {exc}",
            sql=exc.sql,
        ) from exc
    by_alias = {f"a{i}": v for i, v in enumerate(row)}
    per_check: list[dict[str, Any]] = []
    for mapping in mappings:
        values: dict[str, Any] = {name: by_alias[alias] for name, alias in mapping.items()}
        values.setdefault(ROWS, by_alias["a0"])
        per_check.append(values)
    _fetch_samples(engine, scope, compiled, per_check)
    results: list[CheckResult] = []
    for c, values in zip(compiled, per_check, strict=True):
        fetched = {name: _run(engine, q, c.check) for name, q in c.queries.items()}
        results.append(c.evaluate(values, fetched))
    return ValidationReport(
        rows=int(by_alias["a0"]),
        results=tuple(results),
        duration_seconds=time.perf_counter() - started,
        dataset=label or table,
        contract=contract,
    )


def _ref_columns(
    engine: Engine, checks: Sequence[Check], refs: Mapping[str, str]
) -> dict[str, dict[str, exp.DataType]]:
    """``{engine table: {column: type}}`` of the bound datasets the checks read."""
    tables = {refs[c.ref] for c in checks if c.ref is not None and c.ref in refs}
    return {name: engine.columns(name) for name in sorted(tables)}


def _fetch_samples(
    engine: Engine, scope: Scope, compiled: Sequence[Compiled], values: list[dict[str, Any]]
) -> None:
    """Add the samples of every failing row-level check, in one query for all of them."""
    todo = [
        i
        for i, (c, v) in enumerate(zip(compiled, values, strict=True))
        if c.sample is not None and int(v.get("failing") or 0) > 0
    ]
    if not todo:
        return
    select = samples_select([compiled[i] for i in todo], scope)
    for i, samples in zip(todo, engine.query(select)[0], strict=True):
        values[i]["samples"] = samples


def samples_select(compiled: Sequence[Compiled], scope: Scope) -> exp.Select:
    """One query returning one row: per row-level check of ``compiled`` (each with a
    ``failure``), the list of its smallest failing values.

    On DuckDB it is one scan of the dataset (one aggregate per check); on Spark a
    select without FROM holding one top-5 subquery per check (see
    :mod:`lakegate.checks.samples`).
    """
    select = exp.select(*[samples_aggregate(c, scope) for c in compiled])
    if is_aggregate(scope.dialect):  # else self-contained subqueries: one row, no FROM
        select = select.from_(scope.source())
    return select


def _utc(value: dt.datetime) -> dt.datetime:
    """Naive times are UTC, as naive timestamps in the data are."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _check_patterns(engine: Engine, checks: Sequence[Check]) -> None:
    """Reject regular expressions the engine cannot run before the scan starts.

    Python's ``re`` and the engine's regex library (RE2 for DuckDB) differ: RE2 has
    no look-arounds or back-references.

    Raises:
        ConfigError: Naming the check and the pattern.
    """
    for check in checks:
        if isinstance(check, Regex):
            probe = exp.select(
                exp.RegexpLike(
                    this=exp.Literal.string(""), expression=exp.Literal.string(check.pattern)
                )
            )
            try:
                engine.query(probe)
            except LakegateError as exc:
                raise ConfigError(
                    f"check {check.id!r}: the {engine.name} engine cannot use the regular "
                    f"expression {check.pattern!r}: {exc}"
                ) from None


def _run(engine: Engine, query: exp.Query, check: Check) -> list[tuple[Any, ...]]:
    try:
        return engine.query(query)
    except EngineError as exc:
        raise EngineError(f"check {check.id!r} failed to run: {exc}", sql=exc.sql) from exc


def row_failures_select(compiled: Sequence[Compiled], scope: Scope) -> exp.Select:
    """Every row of the dataset plus the ids of the row-level checks it fails.

    The extra column, :data:`FAILED_CHECKS_COLUMN`, is a list of check ids (empty
    when the row passes every row-level check). Set-level checks are ignored: they
    judge the batch, not a row.
    """
    flags = [
        # The explicit NULL: Spark's IF takes three arguments.
        exp.If(this=c.failure.copy(), true=exp.Literal.string(c.check.id), false=exp.null())
        for c in compiled
        if c.check.row_level and c.failure is not None
    ]
    ids: exp.Expr
    if flags:
        ids = exp.ArrayFilter(
            this=exp.Array(expressions=flags),
            expression=exp.Lambda(
                this=exp.Not(this=exp.Is(this=exp.to_identifier("x"), expression=exp.Null())),
                expressions=[exp.to_identifier("x")],
            ),
        )
    else:
        ids = exp.cast(exp.Array(expressions=[]), exp.DataType.build("VARCHAR[]", dialect="duckdb"))
    return exp.select(exp.Star(), ids.as_(FAILED_CHECKS_COLUMN, quoted=True)).from_(scope.source())
