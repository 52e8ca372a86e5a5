"""Prometheus alerting rules derived from each pipeline's SLA and contract.

:func:`alert_rules` turns a project's pipeline files and contracts into a Prometheus
rule file: the seeds' five alerts (freshness, quality, failure, slowdown, low row
count) plus overdue loads and quarantined rows, with every threshold read from the
configuration, one project-wide rule for metrics that have stopped arriving, and the
recording rule ``data_freshness_hours`` (the seeds' name, for their dashboards).

**Why gauges and counter increases, not rate() quantiles.** A lakegate run is a short
process: its metrics reach Prometheus as a textfile or a Pushgateway group rewritten
after each run, or from ``lakegate serve`` (see :mod:`lakegate.observe.metrics`). A
daily pipeline therefore changes its series once a day, and a histogram quantile over
``rate(..._bucket[1h])`` is empty or built on one observation. The rules use the
``pipeline_last_*`` gauges, which hold the last run's value until the next run, and
``increase()`` of counters over windows long enough to contain a run. Two caveats
are handled:

* ``data_freshness_seconds`` is computed when the metrics are *written*; in textfile
  and Pushgateway mode it is frozen right after the last run and never grows when
  runs stop, exactly when a freshness alert matters. Freshness is measured instead as
  ``time() - data_newest_timestamp_seconds`` (the age of the table's newest data), and
  the time since the last successful load as ``time() -
  pipeline_last_success_timestamp_seconds``, right in all three modes.
* ``increase()`` cannot see the first value of a new series (a first failure creates
  the ``status="failed"`` series at 1). The failure rule adds the series that are new
  within the hour (while the pipeline already reported runs an hour earlier, so a
  fresh Prometheus does not page for old failures) and pipelines with failed runs
  that never succeeded.

**Groups.** One group per pipeline (``lakegate.<project>.<pipeline>``): its rules share
labels and thresholds, and on-call engineers look a pipeline up by name. Grouping by
schedule would only matter for tuning evaluation intervals, and these rules need
none. One more group, ``lakegate.<project>``, holds the project-wide rule.

**Severity** (the seeds' alert severity table, P0 highest). Breaches -- failure,
freshness, overdue load, low row count, missing metrics -- get ``P<tier>`` from ``pipeline.tier``
(0: revenue or compliance, 1: business-critical, 2: non-critical, 3: best effort), or
P2 ("non-critical pipeline failed") without a tier. Degradations -- slowdown at 80% of
the SLA, quality drift, quarantined rows -- are always P3, as in the table's P3 row.
Every alert also carries ``tier``, ``pipeline_name``, ``table_name``, ``project`` and,
when known, ``team`` (the contract's) and ``owner`` (the pipeline's, else the
contract's).

**Rules and where their thresholds come from** (``{p}``: the pipeline's matchers,
``{t}``: its target table's):

* ``PipelineFailure``: ``increase(pipeline_runs_total{p,status="failed"}[1h]) > 0``,
  or a failed series new within the hour, or failed runs and no success ever. Any
  failed run alerts (the seeds' PipelineFailure; lakegate's status is ``failed``).
* ``DataFreshnessAlert``: ``time() - data_newest_timestamp_seconds{t} > S`` for 15m: the
  table's newest data (its freshness column's newest value, see
  :mod:`lakegate.observe.freshness`) is older than S, whether or not runs succeed. S is
  the contract's ``quality.freshness.max_delay_minutes``, never tighter than the
  schedule allows; else the schedule's allowance; else 24 h (the seeds').
* ``PipelineLoadOverdue``: ``time() - pipeline_last_success_timestamp_seconds{p} > L``
  for 15m: no successful run for longer than the schedule allows (L: the schedule's
  allowance, else 24 h), also for tables whose data age lakegate cannot measure.
* ``DataQualityDegraded``: ``data_quality_score{t,check_type="all"} < Q``; Q is
  ``quality_threshold``, 0.95 by default (the seeds' 95%).
* ``PipelineSlowdown``: ``pipeline_last_duration_seconds{p} > 0.8 * sla_minutes * 60``,
  only for pipelines with ``sla_minutes`` (the seeds' "80% of SLA").
* ``LowRowCount``: ``increase(rows_processed_total{p,t}[W]) < N`` while the series is
  at least W old; N is the contract's ``quality.volume.min_records`` (alias
  ``min_daily_records``).
* ``RowsQuarantined``: ``increase(rows_rejected_total{p,t}[1h]) > 0``: any row sent
  to the dead-letter table.
* ``LakegateMetricsAbsent`` (project group): ``absent(lakegate_info{project=...})``
  for 30m.
* ``data_freshness_hours`` (recording rule, project group): ``(time() -
  data_newest_timestamp_seconds) / 3600`` per table, the seeds' metric in the seeds'
  unit, computed by Prometheus so that it keeps growing between runs.

The schedule's allowance is the longest gap between two cron firings plus the SLA
(or, without ``sla_minutes``, plus one more gap: one missed run). When it exceeds a
contract's freshness limit the schedule wins -- an alert that fires between every two
runs would only teach people to ignore it -- with a warning logged when the gap alone
exceeds it; the contract's own freshness check still judges the data's age at each
run. LowRowCount compares
the rows loaded in a window W = max(24 h, the schedule's gap) + the SLA (or 1 h), so
that the window holds at least one run even when it starts late: for pipelines
running at least daily this is the contract's "daily records", for others the rows
of one interval. An incremental batch is small, so the batch size is not compared
(the contract's pre-load row_count check already judges each batch); pipelines
extracting ``new_files`` get no LowRowCount, as they legitimately load nothing when
no file arrived.

``for`` is 0 except for freshness and overdue loads (15m, a run may be finishing) and
absent metrics (30m): the other series change only when a run ends, so they do not flap.

Left out: an SLA breach rule at 100% (an overdue load covers a late run), partial runs,
and ``data_freshness_seconds``/histogram quantiles (see above).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakegate.config.schedule import max_gap_seconds
from lakegate.errors import UserInputError

if TYPE_CHECKING:
    from lakegate.config.contract import Contract
    from lakegate.config.pipeline import Pipeline
    from lakegate.config.project import Project

log = logging.getLogger(__name__)

DEFAULT_QUALITY_THRESHOLD = 0.95  # the seeds' "quality check pass rate < 95%"
DEFAULT_FRESHNESS_SECONDS = 24 * 3600  # the seeds' DataFreshnessAlert: 24 h
SLOWDOWN_SHARE = 0.8  # the seeds' "average runtime > 80% of SLA"
DEFAULT_SEVERITY = "P2"  # no tier: the seeds' "non-critical pipeline failed"
DEGRADATION_SEVERITY = "P3"  # the seeds' "warning/degradation" row

_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}

_RUNBOOK = {
    "failure": (
        "Read the error of the last runs: `lakegate runs {p}` (or the run log). Connection "
        "refused, timeouts and 5xx are transient: run again, the watermark did not move so "
        "nothing is lost or doubled. A source schema change needs the extract and the "
        "contract updated (`lakegate contract diff`), then a backfill. A failed critical "
        "check means bad source data: look at it before changing the contract. Permission "
        "errors: check the credentials in the environment. Out of memory or time: look for "
        "a volume spike."
    ),
    "freshness": (
        "The newest data in {t} is too old, whether or not its runs succeed. Did runs load "
        "anything (`lakegate runs {p}`: rows extracted, the freshness check's result)? If "
        "they did, the source delivers old data: ask its owner. If they did not, see the "
        "overdue-load runbook. Tell the consumers of {t} that it is stale if the pipeline "
        "is P0 or P1."
    ),
    "overdue": (
        "Did the scheduler start the run at all (paused DAG, dead worker, a lock held by a "
        "killed run)? Then `lakegate runs {p}` for failed attempts. Tell the consumers of "
        "{t} that it is not being updated if the pipeline is P0 or P1."
    ),
    "quality": (
        "`lakegate runs {p}` shows the last run; `lakegate dlq show {t}` the rows that "
        "failed. Compare the source with the contract: fix the source, or version the "
        "contract if the change is legitimate."
    ),
    "slowdown": (
        "Compare rows extracted with earlier runs (`lakegate runs {p}`): a volume spike, a "
        "slower source, lock waits, or a merge touching many files. The next slower run "
        "breaches the SLA."
    ),
    "volume": (
        "The source delivered less than the contract's minimum: look for a partial or "
        "truncated delivery, a filter in the transform, or a stuck watermark (rows "
        "extracted in `lakegate runs {p}`)."
    ),
    "rejects": (
        "Rows failed critical row checks and were quarantined: `lakegate dlq show {t}`. "
        "Fix the source or the contract, then `lakegate dlq replay {t}`."
    ),
    "absent": (
        "No lakegate metrics from project {p}: check the textfile collector, the "
        "Pushgateway or `lakegate serve`, and the scrape configuration."
    ),
}


@dataclass(frozen=True)
class Threshold:
    """A threshold and, in words, where it comes from (shown in the alert)."""

    value: float
    source: str


def promql_string(value: str) -> str:
    """``value`` as a PromQL double-quoted string literal (Go escaping: backslash,
    double quote and control characters are escaped)."""
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def selector(metric: str, labels: Mapping[str, str]) -> str:
    """An instant-vector selector with equality matchers, e.g. ``x{a="b"}``.

    Raises:
        UserInputError: A label name is not a valid Prometheus label name.
    """
    for name in labels:
        if not _LABEL_NAME.match(name):
            raise UserInputError(f"{name!r} is not a Prometheus label name")
    matchers = ",".join(f"{name}={promql_string(v)}" for name, v in labels.items())
    return f"{metric}{{{matchers}}}"


def severity_for(tier: int | None) -> str:
    """The seeds' severity (P0 highest .. P3) of a breach in a pipeline of ``tier`` (0..3)."""
    return DEFAULT_SEVERITY if tier is None else f"P{tier}"


def alert_rules(
    project: Project,
    *,
    quality_threshold: float = DEFAULT_QUALITY_THRESHOLD,
    match: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A Prometheus rule file (``{"groups": [...]}``) for every pipeline of ``project``.

    Args:
        project: The project; its ``pipelines`` folder is read, and each pipeline's
            contract.
        quality_threshold: Alert when a table's quality score (0-1) is below this.
        match: Extra equality matchers added to every selector, e.g.
            ``{"job": "lakegate"}`` when several projects share a Prometheus.

    Returns:
        The rule file as plain data (dump it with :func:`rules_yaml` or as JSON).

    Raises:
        ConfigError: A pipeline file or a contract does not load.
        UserInputError: A label name in ``match`` is invalid, or the threshold is
            outside 0..1.
    """
    from lakegate.config.contract import load_contract
    from lakegate.config.pipeline import project_pipelines

    if not 0 <= quality_threshold <= 1:
        raise UserInputError(f"quality threshold {quality_threshold} is not within 0..1")
    extra = dict(match or {})
    selector("lakegate_info", extra)  # validates the label names once
    groups = []
    tiers = []
    for pipeline in project_pipelines(project):
        contract = load_contract(pipeline.resolve(pipeline.contract)) if pipeline.contract else None
        rules = pipeline_rules(pipeline, contract, project.name, quality_threshold, extra)
        if conflict := _PipelineRules(pipeline, contract, project.name, {}).schedule_conflict():
            log.warning("%s", conflict)
        groups.append({"name": f"lakegate.{project.name}.{pipeline.name}", "rules": rules})
        tiers.append(pipeline.pipeline.tier)
    known = [t for t in tiers if t is not None]
    absent = {
        "alert": "LakegateMetricsAbsent",
        "expr": f"absent({selector('lakegate_info', {'project': project.name, **extra})})",
        "for": "30m",
        "labels": {
            "severity": severity_for(min(known) if known else None),
            "project": project.name,
        },
        "annotations": {
            "summary": f"No lakegate metrics from project {project.name}",
            "description": f"lakegate_info of project {project.name} has been missing for "
            "30 minutes: every other lakegate alert is blind.",
            "runbook": _RUNBOOK["absent"].format(p=project.name),
        },
    }
    hours = {
        "record": "data_freshness_hours",
        "expr": f"(time() - {selector('data_newest_timestamp_seconds', extra)}) / 3600",
    }
    groups.append({"name": f"lakegate.{project.name}", "rules": [absent, hours]})
    return {"groups": groups}


def pipeline_rules(
    pipeline: Pipeline,
    contract: Contract | None,
    project: str,
    quality_threshold: float = DEFAULT_QUALITY_THRESHOLD,
    match: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The alerting rules of one pipeline (its group of :func:`alert_rules`).

    Args:
        pipeline: The pipeline.
        contract: Its contract, or None.
        project: The project's name (the ``project`` label).
        quality_threshold: Alert when the table's quality score (0-1) is below this.
        match: Extra equality matchers added to every selector.

    Raises:
        UserInputError: A label name in ``match`` is invalid.
    """
    rules = _PipelineRules(pipeline, contract, project, dict(match or {}))
    return list(rules.rules(quality_threshold))


def rules_yaml(rules: Mapping[str, Any], header: str | None = None) -> str:
    """The rule file as YAML, with ``header`` as a comment (one ``#`` line per line)."""
    import yaml

    text = yaml.safe_dump(dict(rules), sort_keys=False, allow_unicode=True, width=10**6)
    if header:
        text = "".join(f"# {line}\n" for line in header.splitlines()) + text
    return text


# ------------------------------------------------------------------------ rules


class _PipelineRules:
    """The rules of one pipeline: its selectors, labels and thresholds."""

    def __init__(
        self,
        pipeline: Pipeline,
        contract: Contract | None,
        project: str,
        match: dict[str, str],
    ) -> None:
        self.p = pipeline
        self.contract = contract
        self.name = pipeline.name
        self.table = pipeline.load.target
        self.match = match
        meta = pipeline.pipeline
        owner = meta.owner or (contract.contract.owner if contract else None)
        team = contract.contract.team if contract else None
        self.labels = {
            "pipeline_name": self.name,
            "table_name": self.table,
            "project": project,
            "tier": "" if meta.tier is None else str(meta.tier),
            "team": team or "",
            "owner": owner or "",
        }
        self.labels = {k: v for k, v in self.labels.items() if v}  # empty = no label
        self.breach = severity_for(meta.tier)
        sla = meta.sla_minutes
        gap = max_gap_seconds(meta.schedule) if meta.schedule else None
        if meta.schedule and gap is None:
            log.warning("%s: cannot read schedule %r as cron; ignored", self.name, meta.schedule)
        self.sla_seconds = sla * 60 if sla else None
        self.gap = gap

    def sel(self, metric: str, **labels: str) -> str:
        return selector(metric, {**labels, **self.match})

    def rules(self, quality_threshold: float) -> Iterable[dict[str, Any]]:
        p, t = self.name, self.table
        failed = self.sel("pipeline_runs_total", pipeline_name=p, status="failed")
        runs = self.sel("pipeline_runs_total", pipeline_name=p)
        success = self.sel("pipeline_last_success_timestamp_seconds", pipeline_name=p)
        yield self.rule(
            "PipelineFailure",
            f"increase({failed}[1h]) > 0"
            f" or ({failed} unless {failed} offset 1h) and on(pipeline_name) ({runs} offset 1h)"
            f" or ({failed} unless on(pipeline_name) {success})",
            "0m",
            self.breach,
            "failure",
            f"Pipeline {p} failed",
            f"Pipeline {p} (table {t}) has failed runs: {{{{ $value | humanize }}}} in the last "
            "hour, or in all when it never succeeded.",
        )
        fresh = self.freshness()
        newest = self.sel("data_newest_timestamp_seconds", table_name=t)
        yield self.rule(
            "DataFreshnessAlert",
            f"time() - {newest} > {_num(fresh.value)}",
            "15m",
            self.breach,
            "freshness",
            f"Table {t} is stale",
            f"The newest data in {t} (pipeline {p}) is {{{{ $value | humanizeDuration }}}} "
            f"old; the limit is {_hours(fresh.value)} ({fresh.source}).",
        )
        overdue = self.load_allowance()
        yield self.rule(
            "PipelineLoadOverdue",
            f"time() - {success} > {_num(overdue.value)}",
            "15m",
            self.breach,
            "overdue",
            f"Pipeline {p} has not loaded {t}",
            f"Pipeline {p} last loaded {t} successfully {{{{ $value | humanizeDuration }}}} "
            f"ago; the limit is {_hours(overdue.value)} ({overdue.source}).",
        )
        score = self.sel("data_quality_score", table_name=t, check_type="all")
        yield self.rule(
            "DataQualityDegraded",
            f"{score} < {_num(quality_threshold)}",
            "0m",
            DEGRADATION_SEVERITY,
            "quality",
            f"Data quality of {t} below {quality_threshold:.0%}",
            f"The last gated batch of {t} (pipeline {p}) has a quality score of "
            f"{{{{ $value | humanizePercentage }}}}; the threshold is {quality_threshold:.0%}.",
        )
        if self.sla_seconds is not None:
            limit = SLOWDOWN_SHARE * self.sla_seconds
            yield self.rule(
                "PipelineSlowdown",
                f"{self.sel('pipeline_last_duration_seconds', pipeline_name=p)} > {_num(limit)}",
                "0m",
                DEGRADATION_SEVERITY,
                "slowdown",
                f"Pipeline {p} is close to its SLA",
                f"The last run of {p} took {{{{ $value | humanizeDuration }}}}, over "
                f"{SLOWDOWN_SHARE:.0%} of its {_num(self.sla_seconds / 60)}-minute SLA "
                f"({_num(limit)} s).",
            )
        volume = self.contract.quality.volume if self.contract else None
        if volume and volume.min_records and self.p.extract.strategy != "new_files":
            rows = self.sel("rows_processed_total", pipeline_name=p, table_name=t)
            window = _duration(max(24 * 3600, self.gap or 0) + (self.sla_seconds or 3600))
            yield self.rule(
                "LowRowCount",
                f"increase({rows}[{window}]) < {volume.min_records} and {rows} offset {window}",
                "0m",
                self.breach,
                "volume",
                f"Few rows loaded into {t}",
                f"Pipeline {p} loaded {{{{ $value | humanize }}}} rows into {t} in the last "
                f"{window}; the contract's quality.volume.min_records is {volume.min_records}.",
            )
        rejected = self.sel("rows_rejected_total", pipeline_name=p, table_name=t)
        yield self.rule(
            "RowsQuarantined",
            f"increase({rejected}[1h]) > 0",
            "0m",
            DEGRADATION_SEVERITY,
            "rejects",
            f"Rows of {t} quarantined",
            f"Pipeline {p} quarantined {{{{ $value | humanize }}}} rows of {t} in the last hour.",
        )

    def rule(
        self,
        alert: str,
        expr: str,
        for_: str,
        severity: str,
        runbook: str,
        summary: str,
        description: str,
    ) -> dict[str, Any]:
        return {
            "alert": alert,
            "expr": expr,
            "for": for_,
            "labels": {"severity": severity, **self.labels},
            "annotations": {
                "summary": summary,
                "description": description,
                "runbook": _RUNBOOK[runbook].format(p=self.name, t=self.table),
            },
        }

    def schedule_allowance(self) -> Threshold | None:
        """The longest a schedule leaves between two loads, plus the SLA (or one more
        gap), in seconds; None without a cron schedule."""
        if self.gap is None:
            return None
        sla = self.sla_seconds
        return Threshold(
            self.gap + (sla if sla is not None else self.gap),
            f"schedule {self.p.pipeline.schedule!r}, runs up to {_hours(self.gap)} apart, plus "
            + (f"the {_num(sla / 60)}-minute SLA" if sla else "one missed run (no SLA)"),
        )

    def load_allowance(self) -> Threshold:
        """Seconds since the last successful load before the load counts as overdue."""
        found = self.schedule_allowance()
        return found or Threshold(DEFAULT_FRESHNESS_SECONDS, "default: no cron schedule")

    def freshness(self) -> Threshold:
        """The age in seconds of the newest data before the table counts as stale."""
        schedule = self.schedule_allowance()
        fresh = self.contract.quality.freshness if self.contract else None
        if fresh is None:
            if schedule is not None:
                return schedule
            return Threshold(DEFAULT_FRESHNESS_SECONDS, "default: no contract freshness, no cron")
        limit = fresh.max_delay_minutes * 60
        source = f"contract quality.freshness.max_delay_minutes: {_num(fresh.max_delay_minutes)}"
        if schedule is None or schedule.value <= limit:
            return Threshold(limit, source)
        return Threshold(schedule.value, f"{schedule.source}; looser than the {source}")

    def schedule_conflict(self) -> str | None:
        """Why the schedule alone cannot meet the contract's freshness, or None."""
        fresh = self.contract.quality.freshness if self.contract else None
        if fresh is None or self.gap is None or self.gap <= fresh.max_delay_minutes * 60:
            return None
        return (
            f"{self.name}: the contract allows data {_hours(fresh.max_delay_minutes * 60)} "
            f"old, but schedule {self.p.pipeline.schedule!r} runs only every "
            f"{_hours(self.gap)}; the freshness alert uses {_hours(self.freshness().value)}"
        )


# ------------------------------------------------------------------------ helpers


def _num(x: float) -> str:
    """A number for PromQL and messages: no trailing ``.0``, no exponent below 1e12."""
    return f"{x:.12g}"


def _duration(seconds: float) -> str:
    """A PromQL duration of at least ``seconds``, in the largest exact unit (h, m, s)."""
    s = math.ceil(seconds)
    if s % 3600 == 0:
        return f"{s // 3600}h"
    return f"{s // 60}m" if s % 60 == 0 else f"{s}s"


def _hours(seconds: float) -> str:
    return f"{_num(round(seconds / 3600, 2))} h"
