"""The validation report as one self-contained HTML page (``lakegate validate --format html``).

The page is rendered by Jinja2 from ``templates/report.html.j2`` with
autoescaping on, so every value that comes from the data, the contract or the
check results (ids, observed values, samples, column names) is HTML-escaped by
construction; nothing is marked safe. The page loads nothing: the CSS is inlined,
the charts are inline SVG, there is no script, and a Content-Security-Policy
``<meta>`` forbids scripts and every network fetch should anything slip through.

What the page shows, top to bottom: the verdict, the summary (dataset, contract
name and version, rows, duration, checks passed and failed by severity), the
0-100 score overall and by dimension, every check (failing critical checks
first, then failing warnings, failing info checks, then the passes, each group
in the report's order) and one chart per numeric column
(:mod:`lakegate.report.charts`). Statuses are told by an icon and a word as well
as a colour (the Okabe-Ito colour-blind-safe palette).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import jinja2

from lakegate.checks.model import Dimension, Severity
from lakegate.checks.results import CheckResult, ValidationReport, to_jsonable
from lakegate.report.charts import ColumnChart

MAX_SAMPLES = 5
"""Sample failing values shown per check."""

MAX_VALUE_CHARS = 300
"""Longer observed values and samples are cut here (with an ellipsis)."""

# status -> (icon, word); the word is what a reader (and a screen reader) gets.
STATUSES: dict[str, tuple[str, str]] = {
    "fail": ("\u2716", "FAIL"),  # heavy multiplication x
    "warn": ("\u25b2", "WARN"),  # black up-pointing triangle
    "info": ("\u25cf", "INFO"),  # black circle
    "pass": ("\u2714", "PASS"),  # heavy check mark
}
_RANK = {"fail": 0, "warn": 1, "info": 2, "pass": 3}
_FAILED_STATUS = {Severity.CRITICAL: "fail", Severity.WARNING: "warn", Severity.INFO: "info"}

# Chart geometry, in SVG user units (pixels at 100 % zoom).
_CHART_WIDTH = 360
_PLOT_TOP = 18  # the peak's label sits above the bars
_PLOT_HEIGHT = 110
_BOX_TOP = _PLOT_TOP + _PLOT_HEIGHT + 10
_BOX_HEIGHT = 14
_CHART_HEIGHT = _BOX_TOP + _BOX_HEIGHT + 22

_environment: jinja2.Environment | None = None


def check_status(result: CheckResult) -> str:
    """``pass``, or for a failed check ``fail`` (critical), ``warn`` (warning) or ``info``."""
    return "pass" if result.passed else _FAILED_STATUS[result.check.severity]


def ordered_results(report: ValidationReport) -> list[CheckResult]:
    """The results as the page lists them: failing critical, failing warnings,
    failing info checks, then passes; the report's order within each group."""
    indexed = list(enumerate(report.results))
    indexed.sort(key=lambda item: (_RANK[check_status(item[1])], item[0]))
    return [r for _, r in indexed]


def render_html(
    report: ValidationReport,
    *,
    charts: Sequence[ColumnChart] = (),
    title: str | None = None,
    generated_at: dt.datetime | None = None,
) -> str:
    """Render a validation report as one self-contained HTML page.

    Args:
        report: The results of a validation (:func:`lakegate.validate.validate_dataset`).
        charts: Distributions of the numeric columns
            (:func:`lakegate.report.charts.column_charts`), shown in this order.
        title: The page's title (default: "<dataset> against <contract> <version>").
        generated_at: When the report was made (default: now, UTC); shown on the page.

    Returns:
        The HTML document (UTF-8 text, no external resources).
    """
    name, version = report.contract or ("", "")
    title = title or f"{report.dataset or 'dataset'} against {name} {version}".strip()
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    template = _templates().get_template("report.html.j2")
    return template.render(
        title=title,
        generated_at=generated_at.isoformat(timespec="seconds"),
        report=report,
        contract_name=name,
        contract_version=version,
        verdict=_verdict(report),
        severities=_severity_counts(report),
        score=f"{report.score:.1f}",
        dimensions=_dimensions(report),
        checks=[_check_view(r) for r in ordered_results(report)],
        charts=[_chart_view(c) for c in charts],
        statuses=STATUSES,
        max_samples=MAX_SAMPLES,
    )


def _templates() -> jinja2.Environment:
    """The package's template environment (created once; autoescaping always on)."""
    global _environment
    if _environment is None:
        _environment = jinja2.Environment(
            loader=jinja2.PackageLoader("lakegate.report", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
    return _environment


# ----------------------------------------------------------------------------- summary


def _verdict(report: ValidationReport) -> dict[str, str]:
    failed_critical = len(report.failed_critical)
    warnings = sum(not r.passed for r in report.results if r.check.severity is Severity.WARNING)
    if failed_critical:
        return {
            "status": "fail",
            "text": f"FAILED: {failed_critical} critical check(s) failed",
        }
    text = "PASSED: every critical check passed"
    if warnings:
        return {"status": "warn", "text": f"{text}, {warnings} warning(s)"}
    return {"status": "pass", "text": text}


def _severity_counts(report: ValidationReport) -> list[dict[str, Any]]:
    """Per severity: checks, passed, failed (and the totals row last)."""
    rows = []
    for severity in Severity:
        results = [r for r in report.results if r.check.severity is severity]
        passed = sum(r.passed for r in results)
        rows.append(
            {
                "severity": severity.value,
                "total": len(results),
                "passed": passed,
                "failed": len(results) - passed,
                "failed_status": _FAILED_STATUS[severity],
            }
        )
    passed = sum(r.passed for r in report.results)
    rows.append(
        {
            "severity": "all",
            "total": len(report.results),
            "passed": passed,
            "failed": len(report.results) - passed,
            "failed_status": "fail" if report.failed_critical else "warn",
        }
    )
    return rows


def _dimensions(report: ValidationReport) -> list[dict[str, Any]]:
    """Every dimension, with its score (None when no scored check measured it)."""
    scores = report.dimension_scores()
    out = []
    for dimension in Dimension:
        score = scores.get(dimension.value)
        checks = [r for r in report.results if r.check.dimension is dimension]
        out.append(
            {
                "name": dimension.value,
                "score": None if score is None else f"{score:.1f}",
                "width": None if score is None else f"{max(0.0, min(score, 100.0)):.2f}",
                "checks": len(checks),
                "failed": sum(not r.passed for r in checks),
            }
        )
    return out


# ----------------------------------------------------------------------------- checks


def _check_view(result: CheckResult) -> dict[str, Any]:
    check = result.check
    status = check_status(result)
    return {
        "id": check.id,
        "kind": check.kind,
        "severity": check.severity.value,
        "dimension": check.dimension.value,
        "columns": ", ".join(check.columns),
        "status": status,
        "icon": STATUSES[status][0],
        "word": STATUSES[status][1],
        "failing": None if result.failing_rows is None else f"{result.failing_rows:,}",
        "evaluated": None if result.evaluated_rows is None else f"{result.evaluated_rows:,}",
        "observed": _pairs(result.observed),
        "threshold": _pairs(check.threshold()),
        "samples": [_text(s, quote_strings=True) for s in result.samples[:MAX_SAMPLES]],
        "note": result.note,
    }


def _pairs(value: Any) -> list[tuple[str, str]]:
    """A value as ``(key, text)`` pairs: a dict's items, or one pair with an empty key."""
    value = to_jsonable(value)
    if isinstance(value, dict):
        return [(str(k), _text(v)) for k, v in value.items()]
    if value is None or value == []:
        return []
    return [("", _text(value))]


def _text(value: Any, *, quote_strings: bool = False) -> str:
    """A short, readable rendering of a value (escaping is the template's job)."""
    value = to_jsonable(value)
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, int):
        text = str(value)  # exact: a year or a limit, not only counts
    elif isinstance(value, dict):
        text = ", ".join(f"{k}={_text(v, quote_strings=True)}" for k, v in value.items())
    elif isinstance(value, list):
        text = "[" + ", ".join(_text(v, quote_strings=True) for v in value) + "]"
    elif quote_strings and (value == "" or value != value.strip()):
        text = repr(value)  # make empty and space-padded strings visible
    else:
        text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "\u2026"


# ----------------------------------------------------------------------------- charts


def _number(value: float | None) -> str:
    """A data value on a chart: integers exactly, other numbers to 6 significant digits."""
    if value is None:
        return "-"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _chart_view(chart: ColumnChart) -> dict[str, Any]:
    """The chart's geometry: bars, the box summary and axis labels, as ready numbers."""
    view: dict[str, Any] = {
        "column": chart.column,
        "type": chart.engine_type,
        "width": _CHART_WIDTH,
        "height": _CHART_HEIGHT,
        "count": f"{chart.count:,}",
        "nulls": f"{chart.nulls:,}",
        "non_finite": f"{chart.non_finite:,}" if chart.non_finite else None,
        "stats": [
            (label, _number(value))
            for label, value in (
                ("min", chart.min),
                ("q1", chart.q1),
                ("median", chart.median),
                ("mean", chart.mean),
                ("q3", chart.q3),
                ("max", chart.max),
            )
        ],
        "bars": [],
        "box": None,
    }
    if not chart.bins:
        return view
    low, high = chart.bins[0].lower, chart.bins[-1].upper
    span = high - low if high > low else 1.0
    peak = max(b.count for b in chart.bins) or 1

    def x(value: float) -> float:
        return (value - low) / span * _CHART_WIDTH

    for b in chart.bins:
        upper = b.upper if b.upper > b.lower else b.lower + span
        height = b.count / peak * _PLOT_HEIGHT
        if b.count and height < 1:
            height = 1.0  # a non-empty bin stays visible
        if chart.integer:
            last = b.upper - 1
            label = _number(b.lower) + ("" if last <= b.lower else f" to {_number(last)}")
        else:
            label = f"{_number(b.lower)} to {_number(b.upper)}"
        view["bars"].append(
            {
                "x": f"{x(b.lower):.2f}",
                "width": f"{max(x(upper) - x(b.lower) - 1, 0.5):.2f}",
                "y": f"{_PLOT_TOP + _PLOT_HEIGHT - height:.2f}",
                "height": f"{height:.2f}",
                "title": f"{label}: {b.count:,} rows",
            }
        )
    summary = [v for v in (chart.min, chart.q1, chart.median, chart.q3, chart.max) if v is not None]
    if len(summary) == 5:
        low_, q1, median, q3, high_ = (x(v) for v in summary)
        view["box"] = {
            "min": f"{low_:.2f}",
            "q1": f"{q1:.2f}",
            "median": f"{median:.2f}",
            "q3": f"{q3:.2f}",
            "max": f"{high_:.2f}",
            "box_width": f"{max(q3 - q1, 1):.2f}",
            "top": _BOX_TOP,
            "middle": _BOX_TOP + _BOX_HEIGHT / 2,
            "bottom": _BOX_TOP + _BOX_HEIGHT,
            "height": _BOX_HEIGHT,
        }
    view["axis"] = {
        "y": _CHART_HEIGHT - 6,
        "low": _number(low),
        "high": _number(chart.max if chart.max is not None else high),
        "peak": f"{peak:,}",
        "baseline": _PLOT_TOP + _PLOT_HEIGHT,
    }
    return view
