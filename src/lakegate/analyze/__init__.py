"""SQL analysis and cost estimation: anti-pattern rules over sqlglot's AST, Spark and
partitioning advice from lake table statistics, and scan-cost estimates.

The entry point is :func:`analyze_paths`; ``lakegate analyze`` renders its report.
"""

from lakegate.analyze.catalog import Catalog, LakeTable, load_table
from lakegate.analyze.engine import Context, Report, analyze_paths, list_rules, register
from lakegate.analyze.model import Finding, Rule, Severity

__all__ = [
    "Catalog",
    "Context",
    "Finding",
    "LakeTable",
    "Report",
    "Rule",
    "Severity",
    "analyze_paths",
    "list_rules",
    "load_table",
    "register",
]
