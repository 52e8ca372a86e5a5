"""``lakegate score``: the seeds' quality rubric, from configuration and run history.

Hand-computed cases: a one-pipeline project written here, and the scaffold's
``airlines`` pipeline (real configuration) with a written run history.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakegate.cli import app
from lakegate.config.project import load_project
from lakegate.observe.score import BANDS, RUBRIC, DimensionScore, Score, band, project_score
from tests.observe.test_status import HOUR, T0, root, scaffold, write_run

__all__ = ["root", "scaffold"]  # fixtures shared with test_status

TINY_PIPELINE = """\
pipeline: {name: orders, owner: shop@example.com, sla_minutes: 10}
extract: {source: {type: file, path: data/orders.parquet}}
load: {target: orders}
contract: contracts/orders.yaml
error_handling: {strategy: retry, max_retries: 2}
"""
TINY_CONTRACT = """\
contract: {name: orders, version: 1.0.0}
schema:
  type: object
  required: [id]
  properties:
    id: {type: integer, description: The order's id}
    amount: {type: number}
    placed_at: {type: timestamp, description: When the order was placed}
    note: {type: string}
quality:
  freshness: {column: placed_at, max_delay_minutes: 60}
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A project with one pipeline: no README, no metrics, no lineage, retry on."""
    (tmp_path / "lakegate.yaml").write_text(
        "name: tiny\nmetrics: {textfile: null}\nlineage: {transport: none}\n"
    )
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "orders.yaml").write_text(TINY_PIPELINE)
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "orders.yaml").write_text(TINY_CONTRACT)
    return tmp_path


def dims(score: Score) -> dict[str, DimensionScore]:
    return {d.name: d for d in score.dimensions}


def points(score: Score) -> dict[str, tuple[float, float]]:
    """``{dimension: (points, measurable max)}``."""
    return {d.name: (d.points, d.measurable_max) for d in score.dimensions}


def evidence(dim: DimensionScore) -> list[tuple[float | None, float, str]]:
    return [(i.points, i.max_points, i.evidence) for i in (*dim.evidence, *dim.unmeasured)]


def test_hand_computed_pipeline(tiny: Path) -> None:
    project = load_project(tiny)
    durations = [100.0] * 9 + [601.0]  # one run of 10 over the 10-minute SLA
    for i, seconds in enumerate(durations):
        write_run(project, "orders", T0 + i * HOUR, seconds=seconds, score=90.0)

    report = project_score(project, T0 + 12 * HOUR)

    (orders,) = report.pipelines
    assert orders.name == "orders"
    assert points(orders) == {
        "reliability": (20, 20),  # 100 % (>= 99.5 %) with retry
        "data_quality": (9.2, 20),  # 5 + 3 + 1.2 + 0 + 0
        "performance": (4, 15),  # over the SLA in 1 of 10 runs: not more than 10 %
        "documentation": (2.5, 10),  # owner 1 + 2 of 4 columns described 1.5
        "monitoring": (4, 14),  # freshness SLA 3 + sla_minutes 1; no metrics: no rules
        "testing": (3, 5),  # a pre-load gate with checks
        "cost_efficiency": (0, 0),
    }
    d = dims(orders)
    assert evidence(d["reliability"]) == [
        (20, 20, "success rate 100.0% over 10 run(s), retry on (2 retries)")
    ]
    assert evidence(d["data_quality"]) == [
        (5, 10, "6 checks, but not both not_null and unique"),  # 4 types, not_null, freshness
        (3, 3, "the data contract is enforced before load"),
        (1.2, 2, "checks cover 3 of 5 quality dimensions (completeness, freshness, validity)"),
        (0, 2, "missing: 0 post-load check(s) on the target"),
        (0, 3, "latest quality score 90 (target 95 or more)"),
    ]
    assert evidence(d["performance"]) == [
        (4, 15, "1 of the last 10 run(s) over the 10 min SLA; the slowest took 100% of it")
    ]
    assert evidence(d["documentation"]) == [
        (0, 1, "missing: a README in the project folder"),
        (0, 1, "missing: a pipeline description"),
        (1, 1, "an owner (pipeline or contract)"),
        (0, 1, "missing: a contract description"),
        (1.5, 3, "2 of 4 columns described"),
        (0, 2, "missing: 0 consumer(s) named in the contract"),
        (0, 1, "missing: a tier"),
    ]
    assert [i.points for i in d["monitoring"].evidence] == [0, 0, 3, 0, 1, 0]
    assert d["monitoring"].evidence[1].evidence == "missing: alert rules need the metrics exported"
    assert [i.evidence for i in d["monitoring"].unmeasured] == [
        "dashboards on the metrics (kept outside lakegate)"
    ]
    assert d["testing"].unmeasured[0].max_points == 5
    assert d["cost_efficiency"].unmeasured[0].max_points == 10
    assert d["cost_efficiency"].evidence == ()

    # 20 + 9.2 + 4 + 2.5 + 4 + 3 of 20 + 20 + 15 + 10 + 14 + 5 measurable
    assert (orders.points, orders.measurable_max, orders.scaled) == (42.7, 84, 50.83)
    assert orders.band == BANDS[1][1]  # 41-60
    assert not hasattr(orders, "scaled_band")  # one verdict
    # One pipeline: the project is that pipeline.
    assert points(report.project) == points(orders)
    assert (report.project.name, report.project.points) == ("tiny", 42.7)


def test_without_runs_history_items_are_unmeasured(tiny: Path) -> None:
    (orders,) = project_score(load_project(tiny), T0).pipelines
    d = dims(orders)
    assert d["reliability"].measurable_max == 0 and d["performance"].measurable_max == 0
    assert [i.evidence for i in d["reliability"].unmeasured] == [
        "success rate: the pipeline has no finished run yet"
    ]
    assert [i.evidence for i in d["data_quality"].unmeasured] == [
        "latest quality score: no gated run yet"
    ]
    # 9.2 - 0 (no score yet) + 2.5 + 4 + 3 of 17 + 10 + 14 + 5
    assert (orders.points, orders.measurable_max) == (18.7, 46)
    assert orders.band == BANDS[0][1]


@pytest.mark.parametrize(
    ("outcomes", "retry_points"),
    [
        (["success"] * 20, 15),  # 100 % without retry: 15
        (["success"] * 19 + ["failed"], 10),  # 95 %: 10
        (["success"] * 17 + ["failed"] * 3, 5),  # 85 %: 5
        (["success"] * 3 + ["failed"] * 2, 0),  # 60 %: 0
    ],
)
def test_reliability_tiers(root: Path, outcomes: list[str], retry_points: int) -> None:
    project = load_project(root)  # airlines: error_handling fail-fast, no retry
    for i, status in enumerate(outcomes):
        write_run(project, "airlines", T0 + i * HOUR, status=status)
    airlines = next(p for p in project_score(project, T0 + 30 * HOUR).pipelines)
    assert airlines.name == "airlines"
    assert dims(airlines)["reliability"].points == retry_points


def test_scaffold_airlines_and_project_means(root: Path) -> None:
    project = load_project(root)
    for i in range(4):  # all successful, the slowest at 1000 s: over half the 30-min SLA
        write_run(project, "airlines", T0 + i * HOUR, seconds=100 + 300 * i, score=100.0)

    report = project_score(project, T0 + 5 * HOUR)

    names = [p.name for p in report.pipelines]
    assert names == [
        "airlines",
        "airports",
        "flights",
        "flights_from_postgres",
        "planes",
        "weather",
    ]
    airlines = report.pipelines[0]
    assert points(airlines) == {
        "reliability": (15, 20),  # 100 %, fail-fast: no retry
        "data_quality": (
            19.6,
            20,
        ),  # not_null+unique 10, contract 3, 4 of 5 dims 1.6, post 2, score 3
        "performance": (12, 15),  # slowest 1000 s: 55.6 % of the SLA, within 80 %
        "documentation": (10, 10),
        "monitoring": (11, 14),  # alert rules 2; no freshness SLA in contracts/airlines.yaml
        "testing": (5, 5),
        "cost_efficiency": (0, 0),
    }
    assert (airlines.points, airlines.measurable_max, airlines.scaled) == (72.6, 84, 86.43)
    assert airlines.band == BANDS[2][1]  # 61-80: the one verdict, on the points
    rules = dims(airlines)["monitoring"].evidence[1]
    assert (rules.points, rules.max_points) == (2, 2)
    assert rules.evidence == (
        "7 alert rules from `lakegate alerts export` (PipelineFailure, DataFreshnessAlert, "
        "PipelineLoadOverdue, DataQualityDegraded, PipelineSlowdown, LowRowCount, "
        "RowsQuarantined); load the file into Prometheus"
    )
    # The project: each dimension's mean over the 6 pipelines (only airlines ran).
    project_dims = dims(report.project)
    assert (project_dims["reliability"].points, project_dims["reliability"].measurable_max) == (
        2.5,
        3.33,
    )
    assert [i.evidence for i in project_dims["reliability"].evidence][:2] == [
        "airlines (20 of 20 points measurable)",
        "airports (0 of 20 points measurable)",
    ]
    assert [i.evidence for i in project_dims["reliability"].unmeasured] == [
        "success rate: the pipeline has no finished run yet "
        "(airports, flights, flights_from_postgres, planes, weather)"
    ]
    total = sum(d.points for d in report.project.dimensions)
    assert report.project.points == pytest.approx(total, abs=0.01)


def test_bands_follow_the_rubric() -> None:
    assert RUBRIC == {
        "reliability": 20,
        "data_quality": 20,
        "performance": 15,
        "documentation": 10,
        "monitoring": 15,
        "testing": 10,
        "cost_efficiency": 10,
    }
    assert sum(RUBRIC.values()) == 100
    texts = [text for _, text in BANDS]
    assert [band(x) for x in (0, 40, 40.01, 60, 61, 80, 80.5, 100)] == [
        texts[0],
        texts[0],
        texts[1],
        texts[1],
        texts[2],
        texts[2],
        texts[3],
        texts[3],
    ]


def test_cli_score_json(tiny: Path) -> None:
    project = load_project(tiny)
    write_run(project, "orders", T0, seconds=100, score=100.0)
    runner = CliRunner()
    now = ["--project", str(tiny), "--now", "2024-03-02T00:00:00Z"]

    done = runner.invoke(app, ["score", *now, "--format", "json"])
    assert done.exit_code == 0, done.output
    doc = json.loads(done.stdout)
    assert doc["now"] == "2024-03-02T00:00:00+00:00"
    assert doc["project"]["name"] == "tiny"
    # 20 + (5 + 3 + 1.2 + 3) + 15 + 2.5 + 4 + 3
    assert (doc["project"]["points"], doc["project"]["measurable_max"]) == (56.7, 84)
    assert "scaled_band" not in doc["project"]
    orders = doc["pipelines"][0]
    assert orders["dimensions"][0]["name"] == "reliability"
    assert orders["dimensions"][6]["unmeasured"] == [
        {
            "points": None,
            "max_points": 10,
            "evidence": "cost tracking and ROI: lakegate records no costs",
        }
    ]

    one = runner.invoke(app, ["score", *now, "--pipeline", "orders", "-f", "json"])
    assert one.exit_code == 0 and json.loads(one.stdout)["name"] == "orders"
    table = runner.invoke(app, ["score", *now, "--pipeline", "orders"])
    assert table.exit_code == 0 and "56.7 of 100 points" in table.stdout
    text = " ".join(table.stdout.split())
    verdicts = [b for _, b in BANDS if b in text]
    assert verdicts == [BANDS[1][1]], verdicts  # one verdict (41-60), not a second one
    assert "84 of the 100 points are measurable; 67.5% of those are earned" in text
    unknown = runner.invoke(app, ["score", *now, "--pipeline", "nope"])
    assert unknown.exit_code == 2
