"""What the SQL analyzer reports: rules and the findings they raise."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

DIALECTS = ("duckdb", "spark", "snowflake", "bigquery", "postgres", "redshift")


class Severity(StrEnum):
    """How bad a finding is: ``error`` gives wrong results, ``warning`` is slow or
    costly, ``info`` is advice that depends on data the analyzer cannot see."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def sarif_level(self) -> str:
        """The SARIF 2.1.0 ``level`` (error, warning, note)."""
        return "note" if self is Severity.INFO else self.value


@dataclass(frozen=True)
class Rule:
    """One anti-pattern the analyzer knows.

    Attributes:
        id: Stable id (``LG001``); SARIF's ``ruleId``.
        name: Short kebab-case name (``select-star``).
        severity: The default severity of its findings.
        summary: The problem, in one sentence.
        fix: What to do about it.
        impact: The expected gain, from the seeds' "SQL Optimization Checklist" and
            "Spark Optimization Guide" where they give one.
        source: Where the rule comes from (a seed table, an engine's documentation).
    """

    id: str
    name: str
    severity: Severity
    summary: str
    fix: str
    impact: str
    source: str = ""


@dataclass(frozen=True)
class Finding:
    """One rule firing at one place.

    Attributes:
        rule: The rule's id.
        name: The rule's name.
        severity: How bad it is.
        path: The file (a ``.sql`` file, or the pipeline YAML of an inline stage).
        line: 1-based line in ``path``.
        column: 1-based column in ``path``.
        message: What was found, naming the table, column or expression.
        fix: What to do about it.
        impact: The expected gain.
        origin: Where the statement came from when not a plain file
            (``stage 'enrich' of pipelines/flights.yaml``); empty otherwise.
        statement: 1-based index of the statement in its source.
        rewrite: The statement rewritten to avoid the problem (``--recommend``), when
            sqlglot can produce one; in the analyzed dialect.
        details: Numbers behind the finding (table sizes, row counts, shares, ...).
    """

    rule: str
    name: str
    severity: Severity
    path: str
    line: int
    column: int
    message: str
    fix: str
    impact: str
    origin: str = ""
    statement: int = 1
    rewrite: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.rule)
