"""A 0-100 quality score of a project and of its pipelines: what ``lakegate score`` shows.

Dimensions and weights are the seeds' rubric (``shared/seeds/002``, "Quality Scoring
Rubric (0-100)"). lakegate scores what it can measure from the pipeline and contract
files, ``lakegate.yaml`` and the run history (as of ``now``, as in
:mod:`lakegate.observe.monitor`). A dimension is a list of :class:`ScoreItem` with
points, maximum and evidence; an item lakegate cannot measure has ``points=None``, is
listed, and is left out of the *measurable* maximum. Per pipeline, points in brackets:

* reliability [20]: success rate 99.5 % or more with retry (``error_handling.strategy:
  retry``) 20, without 15; 95 % (the dashboard's alert threshold) 10; 80 % 5; else 0.
* data quality [20]: checks [``not_null`` and ``unique`` 10, other checks 5, none 0];
  contract enforced before load [3]; quality dimensions covered [2 x n / 5]; post-load
  gates [2]; newest quality score at least 95 [3; unmeasured before a gated run].
* performance [15]: the newest 20 durations against ``sla_minutes``: all within 50 %
  15, within the dashboard's 80 % 12, within the SLA 8, over it in at most 10 % of runs
  4, more often 0; unmeasured without an SLA or a finished run.
* documentation [10]: project README [1], pipeline description [1], owner [1],
  contract description [1], described columns [3 x share], consumers [2], tier [1].
* monitoring [15]: metrics exported [5], alert rules on them [2: ``lakegate alerts
  export`` derives them from the pipeline's SLA, schedule and contract, which needs
  the metrics exported; whether Prometheus loads the file lakegate cannot see],
  dashboards [1, unmeasured], freshness SLA [3], volume bounds [2], ``sla_minutes``
  [1], lineage [1].
* testing [10]: a pre-load gate with checks [3], post-load gates [2]; unit,
  integration and end-to-end tests [5, unmeasured].
* cost efficiency [10]: unmeasured (lakegate records no costs).

The project's dimension scores are the means over its pipelines. The verdict is the
band of the points out of 100 (an unmeasured item counts 0), one per score; the share
of the measurable points is reported as a number, never as a second verdict.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lakegate.errors import ConfigError
from lakegate.observe import monitor

if TYPE_CHECKING:
    from lakegate.checks.model import Check
    from lakegate.config.contract import Contract
    from lakegate.config.pipeline import Pipeline
    from lakegate.config.project import Project
    from lakegate.state.records import RunRecord

# The seeds' rubric: dimension -> weight (points out of 100).
RUBRIC: dict[str, int] = {
    "reliability": 20,
    "data_quality": 20,
    "performance": 15,
    "documentation": 10,
    "monitoring": 15,
    "testing": 10,
    "cost_efficiency": 10,
}
# The rubric's scoring guide, in our words: (highest score of the band, meaning).
BANDS: tuple[tuple[float, str], ...] = (
    (40, "critical gaps: make runs reliable and the data checked before anything else"),
    (60, "works but brittle: add monitoring, tests and documentation next"),
    (80, "sound: tune performance and cost, tighten governance"),
    (100, "exemplary: keep it there and share how it is done"),
)
# Success rate (%) -> reliability points; 99.5 % or more with automatic retry gives 20.
RELIABILITY_TIERS: tuple[tuple[float, int], ...] = ((99.5, 15), (95.0, 10), (80.0, 5))
WELL_UNDER_SLA_SHARE = 0.5  # "well under SLA": every run within half of it (our choice)
REGULAR_BREACH_SHARE = 0.1  # "regularly breaches": over the SLA in more than 10 % of runs
QUALITY_SCORE_TARGET = 95.0  # the dashboard's quality check pass rate alert threshold


@dataclass(frozen=True)
class ScoreItem:
    """One scored piece of evidence.

    Attributes:
        points: Points given, or None when lakegate cannot measure it.
        max_points: The most it can give.
        evidence: Why, in one sentence.
    """

    points: float | None
    max_points: float
    evidence: str


@dataclass(frozen=True)
class DimensionScore:
    """One dimension of the rubric.

    Attributes:
        name: ``reliability``, ``data_quality``, ... (the keys of :data:`RUBRIC`).
        max_points: The rubric's weight.
        points: Points of the measured items.
        measurable_max: The most the measured items can give.
        evidence: The measured items.
        unmeasured: The items lakegate could not measure (``points`` None).
    """

    name: str
    max_points: float
    points: float
    measurable_max: float
    evidence: tuple[ScoreItem, ...]
    unmeasured: tuple[ScoreItem, ...]


@dataclass(frozen=True)
class Score:
    """The score of a pipeline or of the project.

    Attributes:
        name: The pipeline's or the project's name.
        dimensions: One per rubric dimension, in the rubric's order.
        points: Their points, out of 100 (an unmeasured item counts 0).
        measurable_max: The most their measured items can give (out of 100).
        scaled: ``points / measurable_max * 100``, or None when nothing was measured:
            how much of what lakegate can measure is there (no verdict of its own).
        band: The verdict: what ``points`` means on the rubric's scale (:data:`BANDS`).
    """

    name: str
    dimensions: tuple[DimensionScore, ...]
    points: float
    measurable_max: float
    scaled: float | None
    band: str


@dataclass(frozen=True)
class ScoreReport:
    """The score of a project and of each of its pipelines.

    Attributes:
        project: The project's score: each dimension is the mean over the pipelines
            (its evidence: each pipeline's points; its unmeasured items: each with the
            pipelines it concerns).
        pipelines: Each pipeline's score, in file name order.
    """

    project: Score
    pipelines: tuple[Score, ...]


def band(score: float) -> str:
    """The rubric's meaning of a 0-100 score: 0-40, 41-60, 61-80, 81-100 (seeds'
    scoring guide; a fractional score belongs to the band it does not exceed)."""
    for top, text in BANDS:
        if score <= top:
            return text
    return BANDS[-1][1]


def project_score(
    project: Project, now: dt.datetime | None = None, *, on_error: monitor.OnError | None = None
) -> ScoreReport:
    """Score every pipeline of the project and the project (the seeds' rubric).

    Args:
        project: The project (pipelines folder, ``lakegate.yaml``, state store).
        now: The reference time (naive means UTC); runs that started later are
            ignored. Default: the current time.
        on_error: Called with the path and error of a pipeline file that does not
            load, which is then left out; default: log a warning and leave it out.

    Returns:
        The report; the module docstring lists every rule with its points.

    Raises:
        StateStoreError: The state store cannot be read.
    """
    from lakegate.state.store import StateStore

    moment = monitor.as_of(now)
    scores = []
    with StateStore(project.state_url) as state:
        for pipeline in monitor.configured_pipelines(project, on_error):
            runs = monitor.history(state, pipeline.name, moment)
            scores.append(_pipeline_score(_gather(project, pipeline, runs)))
    return ScoreReport(_score(project.name, _project_dimensions(scores)), tuple(scores))


def _pipeline_score(facts: _Facts) -> Score:
    dims = [_dimension(name, rule(facts)) for name, rule in _RULES.items()]
    return _score(facts.pipeline.name, dims)


# ---------------------------------------------------------------------- facts


@dataclass(frozen=True)
class _Facts:
    """What the rules read about one pipeline."""

    project: Project
    pipeline: Pipeline
    contract: Contract | None
    problem: str | None  # why the contract or a gate does not load
    pre_checks: tuple[Check, ...]
    post_checks: tuple[Check, ...]
    runs: tuple[RunRecord, ...]  # the finished runs, newest first


def _gather(project: Project, pipeline: Pipeline, runs: Sequence[RunRecord]) -> _Facts:
    from lakegate.checks.gate import gate_checks, pre_load_checks

    contract, problem = monitor.pipeline_contract(pipeline)
    pre: list[Check] = []
    post: list[Check] = []
    try:
        pre = pre_load_checks(pipeline, contract)
        post = gate_checks(pipeline, pipeline.quality_gates.post_load, "post_load")
    except ConfigError as exc:
        problem = f"the checks do not compile: {exc}"
    done = tuple(monitor.finished(runs))
    return _Facts(project, pipeline, contract, problem, tuple(pre), tuple(post), done)


# ---------------------------------------------------------------------- rules


def _reliability(f: _Facts) -> list[ScoreItem]:
    rate = monitor.success_rate_pct(f.runs)
    if rate is None:
        return [ScoreItem(None, 20, "success rate: the pipeline has no finished run yet")]
    h = f.pipeline.error_handling
    retry = h.strategy == "retry" and h.max_retries > 0
    how = f"retry on ({h.max_retries} retries)" if retry else f"no retry (strategy {h.strategy})"
    points = next((p for floor, p in RELIABILITY_TIERS if rate >= floor), 0)
    if retry and rate >= RELIABILITY_TIERS[0][0]:
        points = 20
    return [ScoreItem(points, 20, f"success rate {rate:.1f}% over {len(f.runs)} run(s), {how}")]


def _data_quality(f: _Facts) -> list[ScoreItem]:
    checks = [*f.pre_checks, *f.post_checks]
    kinds = {c.kind for c in checks}
    if not checks:
        basic = ScoreItem(0, 10, "no checks run on the data")
    elif "not_null" in kinds and kinds & {"unique", "unique_combination"}:
        basic = ScoreItem(10, 10, f"{len(checks)} checks, not_null and unique among them")
    else:
        basic = ScoreItem(5, 10, f"{len(checks)} checks, but not both not_null and unique")
    dims = sorted({c.dimension.value for c in checks})
    items = [
        basic,
        _contract_gate(f, 3),
        ScoreItem(
            round(2 * len(dims) / 5, 2),
            2,
            f"checks cover {len(dims)} of 5 quality dimensions ({', '.join(dims) or 'none'})",
        ),
        _post_load(f, 2),
    ]
    score = next((r.quality_score for r in f.runs if r.quality_score is not None), None)
    if score is None:
        return [*items, ScoreItem(None, 3, "latest quality score: no gated run yet")]
    text = f"latest quality score {score:g} (target {QUALITY_SCORE_TARGET:g} or more)"
    return [*items, ScoreItem(3 if score >= QUALITY_SCORE_TARGET else 0, 3, text)]


def _performance(f: _Facts) -> list[ScoreItem]:
    sla = f.pipeline.pipeline.sla_minutes
    if sla is None:
        return [ScoreItem(None, 15, "runtime against SLA: the pipeline sets no sla_minutes")]
    seconds = [r.duration_seconds for r in f.runs if r.duration_seconds is not None]
    seconds = seconds[: monitor.SLA_WINDOW_RUNS]
    if not seconds:
        return [ScoreItem(None, 15, "runtime against SLA: no finished run yet")]
    limit = sla * 60
    over = sum(s > limit for s in seconds)
    slowest = max(seconds) / limit * 100
    if over > REGULAR_BREACH_SHARE * len(seconds):
        points = 0
    elif over:
        points = 4
    elif slowest > monitor.SLA_WARNING_SHARE * 100:
        points = 8
    else:
        points = 12 if slowest > WELL_UNDER_SLA_SHARE * 100 else 15
    text = (
        f"{over} of the last {len(seconds)} run(s) over the {sla:g} min SLA; "
        f"the slowest took {slowest:.3g}% of it"
    )
    return [ScoreItem(points, 15, text)]


def _documentation(f: _Facts) -> list[ScoreItem]:
    meta, c = f.pipeline.pipeline, f.contract
    owner = meta.owner or (c and (c.contract.owner or c.contract.team))
    items = [
        _flag(any(f.project.root.glob("README*")), 1, "a README in the project folder"),
        _flag(bool(meta.description), 1, "a pipeline description"),
        _flag(bool(owner), 1, "an owner (pipeline or contract)"),
        _flag(bool(c and c.description), 1, "a contract description"),
    ]
    if c is None:
        items.append(ScoreItem(0, 3, "column descriptions: no contract"))
    else:
        props = c.schema_.properties
        described = sum(bool(p.description) for p in props.values())
        share = described / len(props) if props else 0.0
        text = f"{described} of {len(props)} columns described"
        items.append(ScoreItem(round(3 * share, 2), 3, text))
    consumers = len(c.consumers) if c else 0
    items.append(_flag(consumers > 0, 2, f"{consumers} consumer(s) named in the contract"))
    items.append(_flag(meta.tier is not None, 1, "a tier"))
    return items


def _monitoring(f: _Facts) -> list[ScoreItem]:
    q = f.contract.quality if f.contract else None
    v = q.volume if q is not None else None
    bounded = v is not None and (v.min_records, v.max_records, v.anomaly_threshold) != (None,) * 3
    sla, m, lineage = f.pipeline.pipeline.sla_minutes, f.project.metrics, f.project.lineage
    to = m.textfile or m.pushgateway
    return [
        _flag(bool(to), 5, f"metrics exported ({to or 'metrics: unset in lakegate.yaml'})"),
        _alert_rules(f, bool(to), 2),
        ScoreItem(None, 1, "dashboards on the metrics (kept outside lakegate)"),
        _flag(bool(q and q.freshness), 3, "a freshness SLA in the contract"),
        _flag(bounded, 2, "volume bounds in the contract"),
        _flag(sla is not None, 1, "an sla_minutes for runtime alerts"),
        _flag(lineage.transport != "none", 1, f"lineage events (transport {lineage.transport})"),
    ]


def _testing(f: _Facts) -> list[ScoreItem]:
    pre = _flag(bool(f.pre_checks), 3, f"{len(f.pre_checks)} checks gate every batch before load")
    return [
        pre,
        _post_load(f, 2),
        ScoreItem(None, 5, "unit, integration and end-to-end tests (run outside lakegate)"),
    ]


def _cost(f: _Facts) -> list[ScoreItem]:
    return [ScoreItem(None, 10, "cost tracking and ROI: lakegate records no costs")]


_RULES: dict[str, Callable[[_Facts], list[ScoreItem]]] = {
    "reliability": _reliability,
    "data_quality": _data_quality,
    "performance": _performance,
    "documentation": _documentation,
    "monitoring": _monitoring,
    "testing": _testing,
    "cost_efficiency": _cost,
}


def _flag(present: bool, points: float, what: str) -> ScoreItem:
    """``points`` when ``what`` is present, else 0 with ``missing:`` in the evidence."""
    return ScoreItem(points if present else 0, points, what if present else f"missing: {what}")


def _alert_rules(f: _Facts, exported: bool, points: float) -> ScoreItem:
    """The rules ``lakegate alerts export`` writes for the pipeline, which watch its
    exported metrics."""
    from lakegate.observe.alerts import pipeline_rules

    if not exported:
        return ScoreItem(0, points, "missing: alert rules need the metrics exported")
    names = [r["alert"] for r in pipeline_rules(f.pipeline, f.contract, f.project.name)]
    text = (
        f"{len(names)} alert rules from `lakegate alerts export` ({', '.join(names)}); "
        "load the file into Prometheus"
    )
    return ScoreItem(points, points, text)


def _contract_gate(f: _Facts, points: float) -> ScoreItem:
    if f.problem is not None:
        return ScoreItem(0, points, f.problem)
    enforced = f.pipeline.quality_gates.pre_load == "contract" and f.contract is not None
    return _flag(enforced, points, "the data contract is enforced before load")


def _post_load(f: _Facts, points: float) -> ScoreItem:
    n = len(f.post_checks)
    return _flag(n > 0, points, f"{n} post-load check(s) on the target")


# ---------------------------------------------------------------------- totals


def _dimension(name: str, items: Sequence[ScoreItem]) -> DimensionScore:
    measured = tuple(i for i in items if i.points is not None)
    return DimensionScore(
        name=name,
        max_points=RUBRIC[name],
        points=round(sum(i.points or 0 for i in measured), 2),
        measurable_max=round(sum(i.max_points for i in measured), 2),
        evidence=measured,
        unmeasured=tuple(i for i in items if i.points is None),
    )


def _score(name: str, dims: Sequence[DimensionScore]) -> Score:
    points = round(sum(d.points for d in dims), 2)
    measurable = round(sum(d.measurable_max for d in dims), 2)
    scaled = round(points / measurable * 100, 2) if measurable else None
    return Score(name, tuple(dims), points, measurable, scaled, band(points))


def _project_dimensions(scores: Sequence[Score]) -> list[DimensionScore]:
    dims = []
    n = max(len(scores), 1)
    for name, weight in RUBRIC.items():
        mine = [next(d for d in s.dimensions if d.name == name) for s in scores]
        evidence = tuple(
            ScoreItem(
                d.points,
                d.max_points,
                f"{s.name} ({d.measurable_max:g} of {d.max_points:g} points measurable)",
            )
            for s, d in zip(scores, mine, strict=True)
        )
        where: dict[tuple[str, float], list[str]] = defaultdict(list)
        for s, d in zip(scores, mine, strict=True):
            for item in d.unmeasured:
                where[(item.evidence, item.max_points)].append(s.name)
        unmeasured = tuple(
            ScoreItem(None, top, f"{text} ({', '.join(names)})")
            for (text, top), names in where.items()
        )
        points = round(sum(d.points for d in mine) / n, 2)
        measurable = round(sum(d.measurable_max for d in mine) / n, 2)
        dims.append(DimensionScore(name, weight, points, measurable, evidence, unmeasured))
    return dims
