"""Check results, the validation report and quality scores.

Scoring (0-100):

* a row-level check scores the percentage of evaluated rows that pass it
  (``100 * (1 - failing_rows / evaluated_rows)``; 100 on an empty input);
* a set-level check scores 100 when it passes and 0 when it fails;
* a dimension (completeness, uniqueness, validity, freshness, volume) scores
  the mean of its checks; the dataset score is the mean of the dimensions
  that have at least one check, so a dimension with many checks does not
  drown the others. ``info`` checks are reported but not scored.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from lakegate.checks.model import Check, Dimension, Severity


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one dataset.

    Attributes:
        check: The check that was evaluated.
        passed: Whether it passed (after ``mostly`` is applied).
        observed: What was measured (a count, a rate, a timestamp, a dict of
            statistics), JSON-friendly.
        failing_rows: Rows that failed (row-level and per-row set checks), or None
            for checks that do not judge rows (row_count, freshness, ...).
        evaluated_rows: Rows the check looked at (non-null rows for most row-level
            checks), or None.
        samples: Up to 5 failing values (the smallest, for reproducibility).
        note: How the check counted, when that is not obvious.
    """

    check: Check
    passed: bool
    observed: Any
    failing_rows: int | None = None
    evaluated_rows: int | None = None
    samples: tuple[Any, ...] = ()
    note: str | None = None

    @property
    def score(self) -> float:
        """This check's 0-100 contribution to its dimension's score."""
        if self.check.row_level and self.evaluated_rows is not None:
            if self.evaluated_rows == 0:
                return 100.0
            return 100.0 * (1 - (self.failing_rows or 0) / self.evaluated_rows)
        return 100.0 if self.passed else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The result in the JSON report's shape."""
        out = {
            "id": self.check.id,
            "type": self.check.kind,
            "columns": list(self.check.columns),
            "severity": self.check.severity.value,
            "dimension": self.check.dimension.value,
            "passed": self.passed,
            "observed": to_jsonable(self.observed),
            "threshold": to_jsonable(self.check.threshold()),
            "failing_rows": self.failing_rows,
            "evaluated_rows": self.evaluated_rows,
            "samples": [to_jsonable(s) for s in self.samples],
        }
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class ValidationReport:
    """Every check result for one dataset, with scores.

    Attributes:
        rows: Rows in the dataset.
        results: One result per check, in the order the checks were given.
        duration_seconds: Wall time of the evaluation.
        dataset: A label for the input (a path or a name).
        contract: ``(name, version)`` of the contract the checks came from, if any.
    """

    rows: int
    results: tuple[CheckResult, ...]
    duration_seconds: float
    dataset: str = ""
    contract: tuple[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when every critical check passed."""
        return all(r.passed for r in self.results if r.check.severity is Severity.CRITICAL)

    @property
    def failed_critical(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed and r.check.severity is Severity.CRITICAL]

    def dimension_scores(self) -> dict[str, float]:
        """``{dimension: 0-100}`` for every dimension that has a scored check."""
        by_dim: dict[Dimension, list[float]] = {}
        for r in self.results:
            if r.check.severity is Severity.INFO:
                continue
            by_dim.setdefault(r.check.dimension, []).append(r.score)
        return {d.value: round(sum(v) / len(v), 2) for d in Dimension if (v := by_dim.get(d))}

    @property
    def score(self) -> float:
        """The dataset's 0-100 quality score (100 when nothing was scored)."""
        dims = self.dimension_scores()
        return round(sum(dims.values()) / len(dims), 2) if dims else 100.0

    def to_dict(self) -> dict[str, Any]:
        """The report in the shape of ``lakegate validate --format json``."""
        return {
            "contract": self.contract[0] if self.contract else None,
            "version": self.contract[1] if self.contract else None,
            "input": self.dataset,
            "rows": self.rows,
            "passed": self.passed,
            "score": self.score,
            "dimensions": self.dimension_scores(),
            "checks_passed": sum(r.passed for r in self.results),
            "checks_failed": sum(not r.passed for r in self.results),
            "checks": [r.to_dict() for r in self.results],
            "duration_seconds": round(self.duration_seconds, 3),
            **self.extra,
        }


def to_jsonable(value: Any) -> Any:
    """Convert engine values (Decimal, datetime, UUID, nested lists) to JSON values."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return str(value)
