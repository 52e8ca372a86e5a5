"""``lakegate validate``: check a dataset against its contract."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from lakegate.checks.results import CheckResult, ValidationReport, to_jsonable
from lakegate.cli.common import (
    CsvDelimiterOption,
    EngineName,
    EngineOption,
    NoHeaderOption,
    NullValueOption,
    OutputOption,
    command_engine,
    csv_options,
    dump_json,
    emit,
    err,
    handle_errors,
    out,
    output_file,
    parse_as_of,
    progress,
)
from lakegate.config.contract import Contract, load_contract
from lakegate.engines import Engine
from lakegate.sources.files import Dataset, resolve_input
from lakegate.validate import DATASET, ValidateOptions, validate_dataset

_MARK = {True: "[green]pass[/]", False: "[red]FAIL[/]"}
_SEVERITY_STYLE = {"critical": "bold", "warning": "yellow", "info": "dim"}


class ValidateFormat(StrEnum):
    """``validate``'s formats: the shared table and json, plus its own html page."""

    table = "table"
    json = "json"
    html = "html"


ValidateFormatOption = Annotated[
    ValidateFormat,
    typer.Option(
        "--format",
        "-f",
        help="table for people, json for programs, html for a self-contained report page "
        "with charts (needs --output).",
    ),
]


def _parse_refs(values: list[str] | None) -> dict[str, str]:
    refs: dict[str, str] = {}
    for value in values or []:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise typer.BadParameter(f"--ref expects NAME=PATH, got {value!r}")
        refs[name] = path
    return refs


@handle_errors
def validate_command(
    input: str = typer.Option(
        ..., "--input", "-i", help="File, folder, glob or Delta table to check."
    ),
    contract: Path = typer.Option(..., "--contract", "-c", help="The data contract (YAML)."),
    ref: list[str] = typer.Option(
        None,
        "--ref",
        metavar="NAME=PATH",
        help="Bind a relationships parent name to a file, folder or Delta table. Repeatable.",
    ),
    checks: str = typer.Option(
        None,
        "--checks",
        metavar="DIMENSIONS",
        help="Only these dimensions, comma-separated: completeness,"
        "uniqueness,validity,freshness,volume.",
    ),
    format: ValidateFormatOption = ValidateFormat.table,
    output: OutputOption = None,
    as_of: str = typer.Option(
        None,
        "--as-of",
        metavar="TIMESTAMP",
        help="Judge freshness as of this ISO time (default: now, UTC).",
    ),
    csv_delimiter: CsvDelimiterOption = None,
    null_value: NullValueOption = None,
    no_header: NoHeaderOption = False,
    engine: EngineOption = EngineName.duckdb,
    verbose: bool = typer.Option(
        False,
        "--verbose",
        "-v",
        help="List passing checks too (the table lists failures and warnings and counts "
        "the passing checks in one line; json and html always list every check).",
    ),
) -> None:
    """Validate a dataset against a data contract.

    Runs every check the contract declares (types, required fields, enums, ranges,
    patterns, uniqueness, foreign keys, freshness, volume, explicit checks) in one
    scan plus one pass per uniqueness or foreign-key check.

    With --format html --output FILE, writes one self-contained HTML page: the
    summary, the scores, every check and a histogram of each numeric column.

    Exit codes: 0 every critical check passed, 1 a critical check failed (the
    report is written all the same), 2 the input or the contract is unusable.
    """
    if format is ValidateFormat.html and output is None:
        raise typer.BadParameter(
            "--format html writes a file: add --output PATH (e.g. -o report.html)",
            param_hint="'--output'",
        )
    output_file(output)  # its folder is created, or a bad path fails now (exit 2)
    options = ValidateOptions(
        refs=_parse_refs(ref),
        dimensions=[d.strip() for d in checks.split(",") if d.strip()] if checks else None,
        now=parse_as_of(as_of),
        csv=csv_options(csv_delimiter, null_value, no_header),
    )
    loaded = load_contract(contract)
    dataset = resolve_input(input, csv=options.csv)
    runner = command_engine(engine)
    try:
        if format is ValidateFormat.html:
            assert output is not None  # checked above
            _write_html(runner, dataset, loaded, options, output)
            return
        with progress(f"validating {input}", dataset.size_bytes) as on_engine:
            report = validate_dataset(dataset, loaded, options, engine=runner, on_engine=on_engine)
    finally:
        runner.close()
    if format is ValidateFormat.json:
        emit(dump_json(report.to_dict()), output)
    elif output is not None:
        with output.open("w", encoding="utf-8") as fh:
            from rich.console import Console

            Console(file=fh, width=160, no_color=True).print(render_report(report, verbose))
        err.print(f"wrote {output}", highlight=False)
    else:
        out.print(render_report(report, verbose))
    _exit_on_failure(report)


def _exit_on_failure(report: ValidationReport) -> None:
    """Name the failed critical checks and exit 1, when there are any."""
    if not report.passed:
        failed = ", ".join(r.check.id for r in report.failed_critical)
        err.print(f"[bold red]critical check(s) failed:[/] {failed}", highlight=False)
        raise typer.Exit(1)


def _write_html(
    engine: Engine, dataset: Dataset, contract: Contract, options: ValidateOptions, output: Path
) -> None:
    """Validate, chart the contract's numeric columns on the same engine, write the page."""
    from lakegate.report import column_charts, render_html

    with progress(f"validating {dataset.label}", dataset.size_bytes) as on_engine:
        report = validate_dataset(dataset, contract, options, engine=engine, on_engine=on_engine)
        charts = column_charts(engine, DATASET, list(contract.schema_.properties))
    output.write_text(render_html(report, charts=charts), encoding="utf-8")
    err.print(f"wrote {output}", highlight=False)
    _exit_on_failure(report)


def _listing_order(result: CheckResult) -> int:
    """Critical failures first, then warnings and info, then passing checks."""
    if result.passed:
        return 2
    return 0 if result.check.severity.value == "critical" else 1


def render_report(report: ValidationReport, verbose: bool = False) -> RenderableType:
    """The report for people: a table of the failed checks (critical first, then
    warnings and info) and one line counting the passing ones, as test runners report.

    Args:
        report: A validation report.
        verbose: List the passing checks in the table too, after the failures.

    Returns:
        A rich renderable: the table (when it has rows, or its title when none
        failed), its caption, and the line about the passing checks.
    """
    name, version = report.contract or ("", "")
    title = f"{report.dataset} against {name} {version}".strip()
    caption = (
        f"{report.rows:,} rows | score {report.score:.1f}/100 | "
        + " | ".join(f"{d} {s:.1f}" for d, s in report.dimension_scores().items())
        + f" | {report.duration_seconds:.2f}s"
    )
    ordered = sorted(report.results, key=_listing_order)  # stable: contract order within
    listed = [r for r in ordered if verbose or not r.passed]
    passing = sum(r.passed for r in report.results)
    total = len(report.results)
    if passing == total:
        summary = f"[green]{'all ' if total > 1 else ''}{_checks(total)} passed[/]"
    else:
        summary = f"{passing} of {_checks(total)} passed"
    if passing and not verbose:
        summary += " [dim](--verbose lists them)[/]"
    if not listed:
        return Group(Text(title, style="bold"), Text(caption), Text.from_markup(summary))
    table = Table(title=title, caption=caption)
    table.add_column("check", no_wrap=True)
    table.add_column("severity", no_wrap=True, min_width=8)
    table.add_column("result", no_wrap=True, min_width=6)
    table.add_column("failing", justify="right", no_wrap=True, min_width=7)
    table.add_column("observed", overflow="ellipsis", no_wrap=True, max_width=48)
    table.add_column("samples", overflow="ellipsis", no_wrap=True, max_width=40)
    for r in listed:
        severity = r.check.severity.value
        table.add_row(
            r.check.id,
            f"[{_SEVERITY_STYLE[severity]}]{severity}[/]",
            _MARK[r.passed] if r.passed or severity == "critical" else "[yellow]warn[/]",
            "" if r.failing_rows is None else f"{r.failing_rows:,}",
            _describe(r.observed),
            ", ".join(_describe(s) for s in r.samples),
        )
    return Group(table, Text.from_markup(summary))


def _checks(n: int) -> str:
    return f"{n} check" if n == 1 else f"{n} checks"


def _describe(value: object) -> str:
    """A short, readable rendering of an observed value or a sample."""
    value = to_jsonable(value)
    if isinstance(value, dict):
        return " ".join(f"{k}={_describe(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
