"""The health of every table, from the run history: what ``lakegate status`` shows.

One :class:`TableStatus` per pipeline of the project (its target table), computed
from the state store's run records with the formulas and alert thresholds of the
seeds' pipeline health dashboard (``shared/seeds/002``, "Pipeline Monitoring &
Alerting"):

========================  ===============================================  ==========
metric                    formula                                          alert
========================  ===============================================  ==========
success rate              loaded runs / finished runs * 100                < 95 %
failed runs               failed runs started in the last 24 hours         > 0
data freshness            hours from the newest data to ``now``            > the SLA
volume variance           abs(rows - mean of 7 earlier) / mean * 100       > 50 %
quality check pass rate   passed / (passed + failed) checks, last gated    < 95 %
runtime                   the newest run's duration / ``sla_minutes``      > 80 %
========================  ===============================================  ==========

Freshness is the age of the newest data the table holds, as the newest finished run
recorded it (``RunRecord.data_newest_at``: the newest value of the contract's freshness
column, or of a freshness check's column or the incremental key, else the newest
source file's modification time; :mod:`lakegate.observe.freshness`), not the time since
a run: a run that loads old data, or finds nothing new, does not make the table fresh.
Its SLA is the contract's ``quality.freshness.max_delay_minutes``; without one there is
no freshness alert, and without a recorded value there is nothing to judge. The hours
since the last loaded run completed are reported next to it. Runs over 80 % of the SLA
are also counted among the newest 20.
Two alerts are lakegate's own: a pipeline whose runs never loaded, and a pipeline
whose contract does not load (its next run would fail).

A *loaded* run is one with status ``success`` or ``partial`` (a partial run loaded
the rows that passed, so it counts as a success for freshness, volume and the
success rate). Everything is judged *as of* ``now``: runs that started later are
ignored, so a fixed ``now`` gives the same report every time. At most the newest
:data:`HISTORY_RUNS` runs of a pipeline are read.

Runs of pipelines that are no longer in the project's pipelines folder are listed
after the configured ones, with ``configured=False``; they carry no SLA and raise no
alerts.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lakegate.errors import ConfigError
from lakegate.observe.freshness import newest_of

if TYPE_CHECKING:
    from lakegate.config.contract import Contract
    from lakegate.config.pipeline import Pipeline
    from lakegate.config.project import Project
    from lakegate.state.records import RunRecord
    from lakegate.state.store import StateStore

log = logging.getLogger(__name__)

HISTORY_RUNS = 1000  # runs read per pipeline, newest first
LOADED = ("success", "partial")
# The seeds' dashboard thresholds.
SUCCESS_RATE_ALERT_PCT = 95.0  # "Pipeline Success Rate": alert below
CHECK_PASS_RATE_ALERT_PCT = 95.0  # "Quality Check Pass Rate": alert below
VOLUME_VARIANCE_ALERT_PCT = 50.0  # "Data Volume Variance": alert above
VOLUME_BASELINE_RUNS = 7  # the "avg_7d" of the variance formula: runs, not days
VOLUME_MIN_BASELINE_RUNS = 2  # fewer earlier loaded runs: not enough history
FAILED_WINDOW = dt.timedelta(hours=24)  # "Failed Pipeline Count": last 24 h, alert above 0
SLA_WARNING_SHARE = 0.8  # "Average Runtime": alert above 80 % of the SLA
SLA_WINDOW_RUNS = 20  # SLA breaches are counted among this many newest finished runs

OnError = Callable[[Path, ConfigError], None]


@dataclass(frozen=True)
class Freshness:
    """How old the table's newest data is, and how long ago it was last loaded.

    Attributes:
        hours: Hours from the newest data (``newest_at``) to ``now`` (never negative),
            or None when no run recorded it.
        sla_hours: The contract's ``quality.freshness.max_delay_minutes`` in hours, or
            None when the contract sets none (or there is no contract).
        breached: True when ``hours`` exceeds ``sla_hours``.
        newest_at: The newest data the table holds (aware UTC; see the module
            docstring), or None.
        hours_since_load: Hours from the last loaded (success or partial) run's
            completion to ``now`` (never negative), or None when no run loaded.
    """

    hours: float | None
    sla_hours: float | None
    breached: bool
    newest_at: dt.datetime | None = None
    hours_since_load: float | None = None


@dataclass(frozen=True)
class Volume:
    """The last loaded batch's size against the recent ones (the seeds' volume variance).

    Attributes:
        rows: ``rows_transformed`` (rows in the batch) of the last loaded run, or None.
        baseline_rows: The mean ``rows_transformed`` of up to 7 loaded runs before it,
            or None when there are fewer than 2 of them.
        baseline_runs: How many earlier loaded runs the mean is over (0 to 7).
        variance_pct: ``abs(rows - baseline_rows) / baseline_rows * 100``, or None when
            there is no baseline (or the baseline is 0 rows).
        alert: True when ``variance_pct`` is above 50 %.
    """

    rows: int | None
    baseline_rows: float | None
    baseline_runs: int
    variance_pct: float | None
    alert: bool


@dataclass(frozen=True)
class SlaBreaches:
    """Runs that took longer than 80 % of the pipeline's ``sla_minutes``.

    Attributes:
        sla_minutes: The pipeline's SLA in minutes, or None when it sets none.
        threshold_seconds: 80 % of the SLA, in seconds (None without an SLA).
        breaches: How many of the ``runs`` newest finished runs took longer.
        runs: Finished runs looked at (at most 20, only those with a duration).
        last_duration_seconds: How long the newest finished run took, in seconds.
        last_run_breached: Whether the newest finished run took longer.
    """

    sla_minutes: float | None
    threshold_seconds: float | None
    breaches: int
    runs: int
    last_duration_seconds: float | None
    last_run_breached: bool


@dataclass(frozen=True)
class TableStatus:
    """The health of one pipeline's target table.

    Attributes:
        pipeline: The pipeline's name.
        table: The target table (``load.target``; for an unconfigured pipeline the
            target of its newest run, else its name).
        configured: False for a pipeline that ran but is no longer in the project.
        last_run: The newest run's record (its status, times, rows and error message),
            or None when the pipeline never ran.
        last_loaded_at: When the newest loaded (success or partial) run completed.
        last_loaded_run_id: That run's id.
        freshness: The age of the newest data against the freshness SLA, and the hours
            since that load.
        volume: The last batch's rows against the mean of the 7 before.
        quality_score: The 0-100 pre-load quality score of the newest run that has one.
        check_pass_rate_pct: Checks passed / evaluated in the newest run that
            evaluated checks, in percent, or None.
        finished_runs: Finished runs (not ``running``) in the history read.
        success_rate_pct: Loaded runs / finished runs * 100, or None without runs.
        failed_last_24h: Failed runs that started in the 24 hours before ``now``.
        sla: Runs over 80 % of the pipeline's SLA.
        alerts: Why the table needs attention, one sentence each; empty when healthy.
    """

    pipeline: str
    table: str
    configured: bool
    last_run: RunRecord | None
    last_loaded_at: dt.datetime | None
    last_loaded_run_id: str | None
    freshness: Freshness
    volume: Volume
    quality_score: float | None
    check_pass_rate_pct: float | None
    finished_runs: int
    success_rate_pct: float | None
    failed_last_24h: int
    sla: SlaBreaches
    alerts: tuple[str, ...]

    @property
    def health(self) -> Literal["never run", "alert", "ok"]:
        """``never run``, ``alert`` (some alert) or ``ok``."""
        if self.last_run is None:
            return "never run"
        return "alert" if self.alerts else "ok"


def table_status(
    project: Project, now: dt.datetime | None = None, *, on_error: OnError | None = None
) -> list[TableStatus]:
    """The health of every table of the project, as of ``now``.

    One entry per pipeline file in the project's pipelines folder (sorted by file
    name), then one per pipeline that ran but has no file any more. A pipeline that
    never ran is listed with ``last_run=None`` (``health == "never run"``).

    Args:
        project: The project (its pipelines folder and state store).
        now: The reference time (naive means UTC); default the current time.
            Runs that started after it are ignored.
        on_error: Called with the path and error of a pipeline file that does not
            load, which is then left out; default: log a warning and leave it out.

    Returns:
        The table statuses; see the module docstring for each rule and threshold.

    Raises:
        StateStoreError: The state store cannot be read.
    """
    from lakegate.state.store import StateStore

    moment = as_of(now)
    pipelines = configured_pipelines(project, on_error)
    names = {p.name for p in pipelines}
    statuses = []
    with StateStore(project.state_url) as state:
        for pipeline in pipelines:
            runs = history(state, pipeline.name, moment)
            contract, problem = pipeline_contract(pipeline)
            fresh = contract.quality.freshness if contract is not None else None
            status = _status(
                pipeline.name,
                pipeline.load.target,
                runs,
                moment,
                sla_hours=fresh.max_delay_minutes / 60 if fresh is not None else None,
                sla_minutes=pipeline.pipeline.sla_minutes,
            )
            problems = (problem,) if problem is not None else ()
            statuses.append(replace(status, alerts=(*problems, *status.alerts)))
        for name in state.pipelines():
            if name not in names and (runs := history(state, name, moment)):
                target = next((r.target for r in runs if r.target), name)
                statuses.append(_status(name, target, runs, moment, configured=False))
    return statuses


# ---------------------------------------------------------------------- shared helpers


def as_of(now: dt.datetime | None) -> dt.datetime:
    """``now`` as an aware UTC datetime (naive means UTC), or the current time."""
    from lakegate.state.records import utc

    return utc(now) if now is not None else dt.datetime.now(dt.UTC)


def configured_pipelines(project: Project, on_error: OnError | None = None) -> list[Pipeline]:
    """The project's pipelines; files that do not load go to ``on_error`` (default: a
    logged warning) and are left out."""
    from lakegate.config.pipeline import project_pipelines

    def warn(path: Path, exc: ConfigError) -> None:
        log.warning("skipped pipeline file %s: %s", path, exc)

    return project_pipelines(project, on_error=on_error or warn)


def pipeline_contract(pipeline: Pipeline) -> tuple[Contract | None, str | None]:
    """The pipeline's contract, and why it could not be loaded.

    Returns:
        ``(contract, None)``; ``(None, None)`` when the pipeline names no contract;
        ``(None, reason)`` when the contract file does not load.
    """
    from lakegate.config.contract import load_contract

    if not pipeline.contract:
        return None, None
    try:
        return load_contract(pipeline.resolve(pipeline.contract)), None
    except ConfigError as exc:
        return None, f"contract {pipeline.contract} does not load: {exc}"


def history(state: StateStore, pipeline: str, now: dt.datetime) -> list[RunRecord]:
    """The pipeline's runs that started at or before ``now``, newest first.

    Args:
        state: An open :class:`~lakegate.state.store.StateStore`.
        pipeline: The pipeline's name.
        now: The reference time (aware).

    Returns:
        At most :data:`HISTORY_RUNS` runs.
    """
    return [r for r in state.runs(pipeline, limit=HISTORY_RUNS) if r.started_at <= now]


def finished(runs: Sequence[RunRecord]) -> list[RunRecord]:
    """The runs that are not ``running``, in the order given."""
    return [r for r in runs if r.status != "running"]


def success_rate_pct(runs: Sequence[RunRecord]) -> float | None:
    """Loaded (success or partial) runs / finished runs * 100, or None without a
    finished run (the seeds' "Pipeline Success Rate")."""
    done = finished(runs)
    if not done:
        return None
    return 100.0 * sum(r.status in LOADED for r in done) / len(done)


def sla_breaches(runs: Sequence[RunRecord], sla_minutes: float | None) -> SlaBreaches:
    """Count the newest 20 finished runs that took longer than 80 % of ``sla_minutes``
    (the seeds' "Average Runtime" alert threshold, applied per run).

    Args:
        runs: The pipeline's runs, newest first.
        sla_minutes: The pipeline's ``sla_minutes``, or None.
    """
    seconds = [r.duration_seconds for r in finished(runs) if r.duration_seconds is not None]
    seconds = seconds[:SLA_WINDOW_RUNS]
    last = seconds[0] if seconds else None
    if sla_minutes is None:
        return SlaBreaches(None, None, 0, len(seconds), last, False)
    limit = SLA_WARNING_SHARE * sla_minutes * 60
    over = [s > limit for s in seconds]
    return SlaBreaches(sla_minutes, limit, sum(over), len(seconds), last, bool(over and over[0]))


def volume(runs: Sequence[RunRecord]) -> Volume:
    """The last loaded batch against the mean of the 7 loaded batches before it (the
    seeds' "Data Volume Variance": alert above 50 %; fewer than 2 earlier batches is
    not enough history and never alerts).

    Batches are the loaded runs that read something: runs that found nothing new
    (they end at the extract stage) and dead-letter replays are no batch of the
    source. An incremental pipeline's initial or full-refresh loads (no watermark to
    start from) are left out of its baseline: they are the whole table, not a batch.

    Args:
        runs: The pipeline's runs, newest first.
    """
    loaded = [
        r
        for r in runs
        if r.status in LOADED and r.stage != "extract" and not r.run_id.startswith("replay-")
    ]
    if not loaded:
        return Volume(None, None, 0, None, False)
    rows = loaded[0].rows_transformed
    earlier = loaded[1:]
    if any(r.watermark_before is not None for r in earlier):  # incremental batches
        earlier = [r for r in earlier if r.watermark_before is not None]
    earlier = earlier[:VOLUME_BASELINE_RUNS]
    if len(earlier) < VOLUME_MIN_BASELINE_RUNS:
        return Volume(rows, None, len(earlier), None, False)
    baseline = sum(r.rows_transformed for r in earlier) / len(earlier)
    if baseline == 0:
        variance = 0.0 if rows == 0 else None
    else:
        variance = abs(rows - baseline) / baseline * 100
    alert = variance is not None and variance > VOLUME_VARIANCE_ALERT_PCT
    return Volume(rows, baseline, len(earlier), variance, alert)


# ---------------------------------------------------------------------- internals


def _hours(now: dt.datetime, then: dt.datetime | None) -> float | None:
    """Hours from ``then`` to ``now`` (never negative), or None."""
    return max(0.0, (now - then).total_seconds() / 3600) if then is not None else None


def _status(
    pipeline: str,
    table: str,
    runs: list[RunRecord],
    now: dt.datetime,
    *,
    sla_hours: float | None = None,
    sla_minutes: float | None = None,
    configured: bool = True,
) -> TableStatus:
    done = finished(runs)
    loaded = next((r for r in done if r.status in LOADED), None)
    loaded_at = loaded.completed_at if loaded is not None else None
    newest = newest_of(done)
    hours = _hours(now, newest)
    breached = hours is not None and sla_hours is not None and hours > sla_hours
    scored = next((r.quality_score for r in done if r.quality_score is not None), None)
    counts = ((r.quality_checks_passed, r.quality_checks_failed) for r in done)
    gated = next((c for c in counts if sum(c)), None)  # the newest run that ran checks
    status = TableStatus(
        pipeline=pipeline,
        table=table,
        configured=configured,
        last_run=runs[0] if runs else None,
        last_loaded_at=loaded_at,
        last_loaded_run_id=loaded.run_id if loaded is not None else None,
        freshness=Freshness(hours, sla_hours, breached, newest, _hours(now, loaded_at)),
        volume=volume(runs),
        quality_score=scored,
        check_pass_rate_pct=100.0 * gated[0] / sum(gated) if gated else None,
        finished_runs=len(done),
        success_rate_pct=success_rate_pct(done),
        failed_last_24h=sum(
            r.status == "failed" and r.started_at > now - FAILED_WINDOW for r in done
        ),
        sla=sla_breaches(done, sla_minutes),
        alerts=(),
    )
    return replace(status, alerts=tuple(_alerts(status))) if configured else status


def _alerts(s: TableStatus) -> list[str]:
    """The alert sentences of a configured table (thresholds: the module docstring)."""
    f, v, sla = s.freshness, s.volume, s.sla
    rate, checks = s.success_rate_pct, s.check_pass_rate_pct
    found = [f"{s.failed_last_24h} failed run(s) in the last 24 h"] if s.failed_last_24h else []
    if s.finished_runs and s.last_loaded_at is None:
        found.append(f"no run has loaded yet ({s.finished_runs} finished)")
    if rate is not None and rate < SUCCESS_RATE_ALERT_PCT:
        found.append(
            f"success rate {rate:.1f}% < {SUCCESS_RATE_ALERT_PCT:g}% ({s.finished_runs} runs)"
        )
    if f.breached:
        newest = f"{f.newest_at:%Y-%m-%d %H:%M}" if f.newest_at is not None else "?"
        found.append(
            f"stale: the newest data ({newest} UTC) is {f.hours:,.1f} h old, "
            f"freshness SLA {f.sla_hours:g} h"
        )
    if v.alert:
        found.append(
            f"volume: {v.rows:,} rows, {v.variance_pct:.1f}% off the mean of the {v.baseline_runs} "
            f"loads before ({v.baseline_rows:,.1f}) > {VOLUME_VARIANCE_ALERT_PCT:g}%"
        )
    if checks is not None and checks < CHECK_PASS_RATE_ALERT_PCT:
        found.append(
            f"checks: {checks:.1f}% passed in the last gated run < {CHECK_PASS_RATE_ALERT_PCT:g}%"
        )
    if sla.last_run_breached:
        found.append(
            f"runtime: the last run took {sla.last_duration_seconds:g} s > "
            f"{SLA_WARNING_SHARE:.0%} of the {sla.sla_minutes:g} min SLA"
        )
    return found
