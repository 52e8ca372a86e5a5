"""Human-readable validation reports: a self-contained HTML page with column charts.

Importing this package imports Jinja2 (through :mod:`lakegate.report.html`);
``import lakegate`` does not import it.
"""

from __future__ import annotations

from lakegate.report.charts import Bin, ColumnChart, column_charts, numeric_columns
from lakegate.report.html import check_status, ordered_results, render_html

__all__ = [
    "Bin",
    "ColumnChart",
    "check_status",
    "column_charts",
    "numeric_columns",
    "ordered_results",
    "render_html",
]
