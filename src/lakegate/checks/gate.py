"""Quality gates: which checks run before and after a load, and what their results decide.

* Pre-load (on the transformed batch): critical row-level failures quarantine
  the failing rows (they go to the dead-letter table); a critical set-level
  failure stops the run before anything is written.
* Post-load (on the target table): a critical failure fails the run.

volume_anomaly belongs to the pre-load gate: the runner passes it the batches of
the pipeline's earlier runs. reconciliation fits both gates (before the load: the
batch against its source; after: the target table against ``lake.<source>``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lakegate.checks import model as m
from lakegate.checks.results import CheckResult, ValidationReport
from lakegate.config.contract import CHECK_TYPE_ALIASES, Contract
from lakegate.config.pipeline import GateCheck, Pipeline
from lakegate.contracts.compile import contract_checks, draft_check


def gate_checks(pipeline: Pipeline, specs: Sequence[GateCheck], where: str) -> list[m.Check]:
    """Compile a gate's explicit checks (``quality_gates.pre_load`` / ``post_load``).

    Args:
        pipeline: The pipeline the gate belongs to (for error positions).
        specs: The gate's checks as written.
        where: ``pre_load`` or ``post_load``.

    Raises:
        ConfigError: An unknown type or parameter, positioned in the pipeline file; or
            a volume_anomaly check after the load (it compares a batch with earlier
            batches, and the post-load gate judges the whole target table).
    """
    checks: list[m.Check] = []
    seen: set[str] = set()
    for i, spec in enumerate(specs):
        kind = CHECK_TYPE_ALIASES.get(spec.type, spec.type)
        draft = draft_check(
            kind,
            spec.all_params,
            severity=spec.severity,
            check_id=spec.id,
            column=None,
            loc=("quality_gates", where, i),
            error_at=pipeline.error,
        )
        if draft.cls is m.VolumeAnomaly and where == "post_load":
            raise pipeline.error(
                "volume_anomaly compares the batch with the batches of earlier runs; "
                "list it under quality_gates.pre_load",
                ("quality_gates", where, i, "type"),
            )
        check_id, n = draft.base_id, 1
        while check_id in seen:
            n += 1
            check_id = f"{draft.base_id}#{n}"
        seen.add(check_id)
        checks.append(draft.cls(id=check_id, **draft.kwargs))
    return checks


def pre_load_checks(pipeline: Pipeline, contract: Contract | None) -> list[m.Check]:
    """The checks of the pre-load gate: the contract's, or the listed ones, or none."""
    gate = pipeline.quality_gates.pre_load
    if gate == "none":
        return []
    if gate == "contract":
        return contract_checks(contract) if contract is not None else []
    return gate_checks(pipeline, gate, "pre_load")


@dataclass(frozen=True)
class GateDecision:
    """What a gate's report means for the run.

    Attributes:
        blocking: Critical set-level failures (pre-load) or critical failures
            (post-load): the run fails, naming them.
        quarantine: Critical row-level checks with failing rows: those rows go to
            the dead-letter table.
        warnings: Non-critical failures, reported and counted.
    """

    blocking: tuple[CheckResult, ...]
    quarantine: tuple[m.Check, ...]
    warnings: tuple[CheckResult, ...]

    def describe_blocking(self) -> str:
        return "; ".join(
            f"{r.check.id} ({r.check.kind}: observed {r.observed})" for r in self.blocking
        )


def decide(report: ValidationReport, *, post_load: bool = False) -> GateDecision:
    """Classify a gate report's failures (see the module docstring)."""
    blocking, quarantine, warnings = [], [], []
    for r in report.results:
        critical = r.check.severity is m.Severity.CRITICAL
        if critical and r.check.row_level and not post_load:
            if r.failing_rows:
                quarantine.append(r.check)
        elif critical and not r.passed:
            blocking.append(r)
        elif not r.passed:
            warnings.append(r)
    return GateDecision(tuple(blocking), tuple(quarantine), tuple(warnings))
