"""Validate a dataset against a contract: the library behind ``lakegate validate``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lakegate.checks.evaluate import evaluate_checks
from lakegate.checks.results import ValidationReport
from lakegate.config.contract import Contract, load_contract
from lakegate.contracts.compile import contract_checks, contract_types
from lakegate.engines import Engine, create_engine
from lakegate.errors import InputDataError
from lakegate.sources.files import CsvOptions, Dataset, resolve_input

DATASET = "dataset"


@dataclass(frozen=True)
class ValidateOptions:
    """Options of one validation.

    Attributes:
        refs: ``{name: path}`` binding relationship parents (``--ref NAME=PATH``).
        dimensions: Only run checks of these quality dimensions; None runs all.
        now: Reference time for freshness (default: now, UTC).
        csv: How to read CSV inputs (and CSV parents).
        engine: The engine's registry name.
        history: Row counts of earlier batches, newest first, for volume_anomaly
            checks; None (the default: a file has no run history) makes them pass
            with the note "no run history".
    """

    refs: Mapping[str, str] = field(default_factory=dict)
    dimensions: Iterable[str] | None = None
    now: dt.datetime | None = None
    csv: CsvOptions = field(default_factory=CsvOptions)
    engine: str = "duckdb"
    history: Sequence[int] | None = None


def resolve_parent(to: str, refs: Mapping[str, str], contract_dir: Path | None) -> str:
    """The path a relationships or reconciliation ``to`` names: a ``--ref`` binding,
    else a path (absolute, or relative to the working directory, then to the
    contract's folder).

    Raises:
        InputDataError: Neither a bound name nor an existing path.
    """
    if to in refs:
        return refs[to]
    candidates = [Path(to)]
    if contract_dir is not None and not Path(to).is_absolute():
        candidates.append(contract_dir / to)
    for candidate in candidates:
        if candidate.exists() or any(ch in to for ch in "*?["):
            return str(candidate)
    tried = " or ".join(str(c) for c in candidates)
    raise InputDataError(
        f"dataset {to!r} (a check's 'to') is neither a name bound with --ref {to}=PATH "
        f"nor an existing path (tried {tried})"
    )


def validate_dataset(
    dataset: Dataset,
    contract: Contract,
    options: ValidateOptions | None = None,
    *,
    engine: Engine | None = None,
    on_engine: Callable[[Engine], None] | None = None,
) -> ValidationReport:
    """Run a contract's checks on a dataset.

    Columns the data holds in another type than the contract's are conformed: the
    checks compare their values cast to the contract's type, and a value that cannot
    be cast fails the column's ``type`` check (:mod:`lakegate.checks.conform`).

    Args:
        dataset: What to read (see :func:`lakegate.sources.files.resolve_input`).
        contract: A loaded contract.
        options: See :class:`ValidateOptions`.
        engine: An engine to use (default: a new one, closed afterwards).
        on_engine: Called with the engine before the checks run (e.g. to poll progress).

    Returns:
        The report (``report.passed`` is False when a critical check failed).

    Raises:
        InputDataError: The input or a parent cannot be read, or the data lacks a
            contract column.
        ConfigError: The contract's checks are invalid for this data.
        EngineError: The engine could not run the checks (one line; exit code 2).
    """
    options = options or ValidateOptions()
    own = engine is None
    engine = engine or create_engine(options.engine)
    try:
        engine.register(DATASET, dataset)
        columns = engine.columns(DATASET)
        missing = [name for name in contract.schema_.properties if name not in columns]
        if missing:
            raise InputDataError(
                f"{dataset.label}: the data lacks contract column(s) {', '.join(missing)} "
                f"(it has {', '.join(columns)})"
            )
        checks = contract_checks(contract, options.dimensions)
        refs: dict[str, str] = {}
        contract_dir = contract.path.parent if contract.path else None
        for check in checks:
            if check.ref is not None and check.ref not in refs:
                parent = resolve_parent(check.ref, options.refs, contract_dir)
                name = f"parent_{len(refs)}"
                engine.register(name, resolve_input(parent, csv=options.csv))
                refs[check.ref] = name
        if on_engine is not None:
            on_engine(engine)
        report = evaluate_checks(
            engine,
            DATASET,
            checks,
            refs=refs,
            now=options.now,
            label=dataset.label,
            contract=(contract.contract.name, contract.contract.version),
            history=options.history,
            types=contract_types(contract),
        )
    finally:
        if own:
            engine.close()
    return report


def validate_path(
    input_path: str | Path, contract_path: str | Path, options: ValidateOptions | None = None
) -> ValidationReport:
    """Load a contract and validate the file, folder, glob or Delta table at ``input_path``.

    Raises:
        ConfigError: The contract file is invalid.
        InputDataError: The input cannot be read or does not match the contract.
    """
    options = options or ValidateOptions()
    contract = load_contract(contract_path)
    return validate_dataset(resolve_input(input_path, csv=options.csv), contract, options)
