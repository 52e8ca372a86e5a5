"""``lakegate cost``: query cost estimates before execution, and the lake's storage report.

Thin: :func:`lakegate.analyze.cost.estimate_paths` and
:func:`lakegate.analyze.storage.cost_report` compute everything; this module parses
the options and renders rich tables for people or JSON (``--format json``, raw bytes,
seconds and amounts) for programs.
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from lakegate.checks.results import to_jsonable
from lakegate.cli.analyze import SQL_PATHS_HELP, DialectOption
from lakegate.cli.common import (
    FormatOption,
    OutputFormat,
    dump_json,
    err,
    handle_errors,
    out,
    parse_as_of,
)
from lakegate.cli.run import ProjectOption
from lakegate.errors import ConfigError

if TYPE_CHECKING:
    from lakegate.analyze.cost import CostEstimate
    from lakegate.analyze.platforms import PlatformCost
    from lakegate.analyze.storage import CostReport

app = typer.Typer(
    help="Estimate what queries would cost before running them; report storage costs "
    "and savings of the lake.",
    no_args_is_help=True,
)


class Platform(StrEnum):
    all = "all"
    bigquery = "bigquery"
    snowflake = "snowflake"
    redshift = "redshift"
    databricks = "databricks"


@app.command("estimate")
@handle_errors
def estimate_command(
    paths: Annotated[
        list[Path],
        typer.Argument(help=SQL_PATHS_HELP, show_default=False),
    ],
    dialect: DialectOption = None,
    platform: Annotated[
        list[Platform] | None,
        typer.Option("--platform", help="Price on this platform (repeatable). Default: all."),
    ] = None,
    warehouse_size: Annotated[
        str | None,
        typer.Option(
            "--warehouse-size",
            metavar="SIZE",
            help="Snowflake and Databricks warehouse size: XS, S, M, L, XL, 2XL, ... "
            "(default: the pricing table's default_size).",
        ),
    ] = None,
    project: ProjectOption = None,
    format: FormatOption = OutputFormat.table,
) -> None:
    """Estimate the bytes each statement would scan in the lake (after partition pruning,
    min/max file skipping and column projection) and its price per platform, from
    metadata only: nothing runs.

    Prices are list prices from the pricing table (see its date), overridable under
    `pricing:` in lakegate.yaml. Tables that are not in the lake are listed as unknown
    and left out of the totals. Exit codes: 0; 2 bad input or a statement that does
    not parse (the estimate is then incomplete).
    """
    from lakegate.analyze.catalog import Catalog
    from lakegate.analyze.cost import EstimateOptions, estimate_paths
    from lakegate.analyze.platforms import PLATFORMS
    from lakegate.analyze.pricing import load_pricing
    from lakegate.config.project import load_project

    proj = load_project(project)
    chosen = [p.value for p in platform or [Platform.all]]
    options = EstimateOptions(
        platforms=PLATFORMS if "all" in chosen else tuple(p for p in PLATFORMS if p in chosen),
        warehouse_size=warehouse_size,
    )
    estimate = estimate_paths(
        paths,
        Catalog.from_project(proj),
        load_pricing(proj),
        dialect=dialect.value if dialect else None,
        options=options,
    )
    if format is OutputFormat.json:
        typer.echo(dump_json(to_jsonable(dataclasses.asdict(estimate))))
    else:
        _print_estimate(estimate)
    for failure in estimate.failures:
        err.print(
            f"[bold red]error:[/] {escape(failure.path)}:{failure.line}:{failure.column}: "
            f"{escape(failure.message)} (not estimated)",
            highlight=False,
        )
    if estimate.failures:
        raise typer.Exit(2)


@app.command("report")
@handle_errors
def report_command(
    project: ProjectOption = None,
    idle_days: Annotated[
        int,
        typer.Option("--idle-days", min=0, help="Tables not read or written this long are idle."),
    ] = 30,
    hot_days: Annotated[
        int, typer.Option("--hot-days", min=0, help="Used within this many days: hot tier.")
    ] = 30,
    warm_days: Annotated[
        int,
        typer.Option("--warm-days", min=0, help="Used within this many days: warm; else cold."),
    ] = 90,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            metavar="TIMESTAMP",
            help="Judge as of this ISO 8601 time (naive means UTC), for reproducible "
            "output. Default: now.",
        ),
    ] = None,
    format: FormatOption = OutputFormat.table,
) -> None:
    """Storage per lake table with its monthly cost, and what could be saved: files
    vacuum would delete, idle tables to archive, small files to compact, uncompressed
    data, and a hot/warm/cold storage tier per table, each with an estimated monthly
    saving (list prices; see the notes).
    """
    from lakegate.analyze.storage import cost_report
    from lakegate.config.project import load_project

    proj = load_project(project)
    report = cost_report(
        proj,
        idle_days=idle_days,
        hot_days=hot_days,
        warm_days=warm_days,
        now=parse_as_of(now),
        on_error=_skipped,
    )
    if format is OutputFormat.json:
        typer.echo(dump_json(to_jsonable(dataclasses.asdict(report))))
        return
    _print_report(report)


# ---------------------------------------------------------------------- rendering


def _skipped(path: Path, exc: ConfigError) -> None:
    err.print(f"[bold yellow]warning:[/] skipped {escape(str(path))}: {escape(str(exc))}")


def _size(n: int | None) -> str:
    """Bytes as B, KiB, MiB, GiB or TiB."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{n:,} B" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.2f} TiB"


def _money(usd: float) -> str:
    """An amount with 2 decimals, or 4 below 1 (``<0.0001`` for tinier ones)."""
    if 0 < usd < 0.0001:
        return "<0.0001"
    return f"{usd:,.2f}" if usd >= 1 else f"{usd:.4f}"


def _platform(cost: PlatformCost) -> str:
    return cost.platform if cost.model in ("on-demand", "") else f"{cost.platform} {cost.model}"


def _print_estimate(estimate: CostEstimate) -> None:
    scans = Table(title="what each statement scans")
    for column in ("statement", "table", "files", "partitions", "rows", "columns", "read"):
        scans.add_column(column, overflow="fold")
    scans.add_column("logical", justify="right")
    for s in estimate.statements:
        where = f"{s.path}:{s.line}" + (f" ({s.origin})" if s.origin else "")
        for scan in s.scans:
            scans.add_row(
                escape(where),
                escape(scan.table) + ("" if scan.analyzed else " [dim](full scan assumed)[/]"),
                f"{scan.files_scanned:,} of {scan.files_total:,}"
                + (
                    f" ({scan.files_after_pruning:,} after pruning)"
                    if scan.files_after_pruning != scan.files_scanned
                    else ""
                ),
                f"{scan.partitions_scanned:,} of {scan.partitions_total:,}"
                if scan.partitions_total
                else "-",
                "-" if scan.rows_scanned is None else f"{scan.rows_scanned:,}",
                escape(", ".join(scan.columns)),
                _size(scan.bytes_scanned),
                _size(scan.logical_bytes_scanned),
            )
        for unknown in s.unknown:
            scans.add_row(escape(where), escape(unknown.name), f"[dim]{unknown.reason}[/]")
        if not s.scans and not s.unknown:
            scans.add_row(escape(where), "[dim]reads no table[/]")
    out.print(scans)
    if not estimate.totals:
        out.print("no statement reads a lake table: nothing to price", highlight=False)
        return
    currency = estimate.pricing.currency
    prices = Table(title=f"estimated price per statement ({currency})")
    prices.add_column("statement", overflow="fold")
    for cost in estimate.totals:
        prices.add_column(escape(_platform(cost)), justify="right", overflow="fold")
    keys = [(c.platform, c.model) for c in estimate.totals]
    for s in estimate.statements:
        if not s.costs:
            continue
        by_key = {(c.platform, c.model): c for c in s.costs}
        prices.add_row(
            escape(f"{s.path}:{s.line}"),
            *[_money(by_key[k].usd) if k in by_key else "-" for k in keys],
        )
    prices.add_row("total", *[_money(c.usd) for c in estimate.totals], style="bold")
    out.print(prices)
    out.print(
        f"scanned: {_size(estimate.bytes_scanned)} compressed, "
        f"{_size(estimate.logical_bytes_scanned)} logical (uncompressed)",
        highlight=False,
    )
    first = next(s for s in estimate.statements if s.costs)
    out.print(f"how {first.path}:{first.line} is priced:", style="dim", highlight=False)
    for cost in first.costs:
        out.print(f"  {_platform(cost)}: {cost.basis}", style="dim", markup=False)
    _print_pricing(estimate.pricing)


def _print_report(report: CostReport) -> None:
    currency = report.pricing.currency
    tables = Table(title=f"storage of {report.project} as of {report.now:%Y-%m-%d %H:%M} UTC")
    for column in (
        "table",
        "files",
        "size",
        f"{currency}/month",
        "unreferenced",
        "small files",
        "uncompressed",
        "last written",
        "last read",
        "idle days",
        "tier",
    ):
        tables.add_column(column, overflow="fold")
    for t in report.tables:
        tables.add_row(
            escape(t.table),
            f"{t.files:,}",
            _size(t.bytes),
            _money(t.monthly_cost),
            "-"
            if t.unreferenced_files is None
            else f"{t.unreferenced_files:,} ({_size(t.unreferenced_bytes)})",
            f"{t.small_files:,}",
            _size(t.uncompressed_bytes),
            _when(t.last_written),
            _when(t.last_read),
            "-" if t.idle_days is None else f"{t.idle_days:,.0f}",
            t.tier,
        )
    out.print(tables)
    if report.suggestions:
        found = Table(title=f"savings ({currency} per month, estimated)")
        for column in ("table", "kind", "saving", "what to do", "how it is estimated"):
            found.add_column(column, overflow="fold")
        for s in report.suggestions:
            found.add_row(
                escape(s.table),
                s.kind,
                _money(s.monthly_saving),
                escape(s.message),
                f"[dim]{escape(s.model)}[/]",
            )
        out.print(found)
    else:
        out.print("nothing to save: no suggestion", highlight=False)
    out.print(
        f"total: {_size(report.total_bytes)} stored for {_money(report.total_monthly_cost)} "
        f"{currency}/month; estimated saving {_money(report.total_monthly_saving)} "
        f"{currency}/month",
        highlight=False,
    )
    for note in report.notes:
        out.print(f"note: {note}", style="dim", markup=False, highlight=False)
    _print_pricing(report.pricing)


def _when(moment: Any) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


def _print_pricing(pricing: Any) -> None:
    out.print(
        f"prices: public list prices as of {pricing.as_of} ({pricing.region}), "
        f"{pricing.currency}; check them against your contract and override them under "
        "`pricing:` in lakegate.yaml. Sources: " + ", ".join(pricing.sources),
        style="dim",
        markup=False,
        highlight=False,
    )
