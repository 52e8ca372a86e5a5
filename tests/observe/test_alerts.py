"""Prometheus alerting rules exported from a `lakegate init` project: every metric an
expression names is one lakegate exposes, thresholds come from the pipelines and
contracts, promtool accepts the file, and promtool's rule unit tests show each alert
firing when it should and staying silent when it should not."""

from __future__ import annotations

import copy
import json
import logging
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakegate import __version__
from lakegate.config.project import load_project
from lakegate.config.schedule import max_gap_seconds
from lakegate.errors import UserInputError
from lakegate.observe.alerts import (
    alert_rules,
    promql_string,
    rules_yaml,
    selector,
)
from lakegate.observe.metrics import exposed_names
from lakegate.scaffold import create_project
from tests.conftest import lakegate

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool not installed (apt-get install -y prometheus); .ci/run installs it",
)

ADHOC = """\
pipeline: {name: adhoc}
extract:
  source: {type: file, path: data/airlines.parquet}
load: {target: adhoc, strategy: overwrite}
quality_gates: {pre_load: none}
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scaffolded project; flights gets a 10-minute SLA, tier 0 and a 48 h contract
    freshness; `adhoc` has no schedule, SLA, tier or contract."""
    root = tmp_path_factory.mktemp("alerts") / "p"
    create_project(root)
    flights = root / "pipelines" / "flights.yaml"
    text = flights.read_text()
    assert "sla_minutes: 30\n  tier: 1\n" in text
    flights.write_text(text.replace("sla_minutes: 30\n  tier: 1\n", "sla_minutes: 10\n  tier: 0\n"))
    contract = root / "contracts" / "flights.yaml"
    text = contract.read_text()
    assert "max_delay_minutes: 1440" in text
    contract.write_text(text.replace("max_delay_minutes: 1440", "max_delay_minutes: 2880"))
    (root / "pipelines" / "adhoc.yaml").write_text(ADHOC)
    return root


@pytest.fixture(scope="module")
def rules(root: Path) -> dict[str, Any]:
    return alert_rules(load_project(root))


def find(rules: dict[str, Any], pipeline: str | None, alert: str) -> dict[str, Any] | None:
    """The rule ``alert`` of ``pipeline`` (None: the project group's)."""
    found = [
        r
        for g in rules["groups"]
        for r in g["rules"]
        if r.get("alert") == alert and r["labels"].get("pipeline_name") == pipeline
    ]
    assert len(found) <= 1
    return found[0] if found else None


def get(rules: dict[str, Any], pipeline: str | None, alert: str) -> dict[str, Any]:
    rule = find(rules, pipeline, alert)
    assert rule is not None, f"no {alert} for {pipeline}"
    return rule


# ------------------------------------------------------------ PromQL metric names

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[a-z]*)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<punct>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}\[\],@])
    """,
    re.VERBOSE,
)
AGGREGATIONS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
    "count_values", "bottomk", "topk", "quantile",
}  # fmt: skip
LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"}
CLOSING = {"{": "}", "[": "]", "(": ")"}


def tokens(expr: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        assert m is not None, f"cannot tokenize {expr[pos:]!r}"
        if m.lastgroup != "space":
            out.append((m.lastgroup or "", m.group()))
        pos = m.end()
    return out


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers that are not
    functions, aggregations, keywords, label names inside braces or label lists."""
    toks = tokens(expr)
    names: set[str] = set()
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        following = toks[i + 1][1] if i + 1 < len(toks) else None
        if text in ("{", "["):  # matchers or a range/duration: skip to the close
            i = next(j for j in range(i, len(toks)) if toks[j][1] == CLOSING[text])
        elif kind == "ident":
            word = text.lower()
            if word in LABEL_LISTS:
                if following == "(":
                    i = next(j for j in range(i, len(toks)) if toks[j][1] == ")")
            elif word not in KEYWORDS and word not in AGGREGATIONS and following != "(":
                names.add(text)
        i += 1
    return names


def unknown_metrics(rules: dict[str, Any]) -> dict[str, set[str]]:
    """alert -> metric names its expression uses that lakegate does not expose."""
    exposed = exposed_names()
    found = {}
    for group in rules["groups"]:
        for rule in group["rules"]:
            names = metric_names(rule["expr"])
            assert names, rule["expr"]
            if names - exposed:
                found[f"{group['name']}/{rule.get('alert') or rule['record']}"] = names - exposed
    return found


def test_the_tokenizer_finds_metric_names_and_nothing_else() -> None:
    assert metric_names('increase(pipeline_runs_total{status="failed"}[1h]) > 0') == {
        "pipeline_runs_total"
    }
    assert metric_names(
        "sum by (table_name) (rate(rows_processed_total[5m])) "
        "> on(table_name) group_left(tier) data_quality_score offset 1h30m"
    ) == {"rows_processed_total", "data_quality_score"}
    assert metric_names('x{a="or y{b} z", b=~"c"} unless bool w') == {"x", "w"}
    assert metric_names("time() - absent(lakegate_info) * 1e3") == {"lakegate_info"}


def test_every_expression_selects_metrics_lakegate_exposes(rules: dict[str, Any]) -> None:
    assert unknown_metrics(rules) == {}
    used = {n for g in rules["groups"] for r in g["rules"] for n in metric_names(r["expr"])}
    assert used >= {
        "pipeline_runs_total",
        "pipeline_last_success_timestamp_seconds",
        "pipeline_last_duration_seconds",
        "data_newest_timestamp_seconds",
        "data_quality_score",
        "rows_processed_total",
        "rows_rejected_total",
        "lakegate_info",
    }


def test_a_misspelt_metric_is_caught(rules: dict[str, Any]) -> None:
    broken = copy.deepcopy(rules)
    rule = get(broken, "flights", "PipelineSlowdown")
    rule["expr"] = rule["expr"].replace("pipeline_last_duration_seconds", "pipeline_last_duration")
    assert unknown_metrics(broken) == {
        "lakegate.p.flights/PipelineSlowdown": {"pipeline_last_duration"}
    }
    # The seeds' own failure rule names a metric lakegate does not expose either.
    assert metric_names('increase(pipeline_runs_totl{status="failure"}[1h]) > 0') - (
        exposed_names()
    ) == {"pipeline_runs_totl"}


# ------------------------------------------------------------ thresholds from config


def threshold(rule: dict[str, Any]) -> float:
    m = re.search(r"[<>] ([0-9.]+)(?: and |$)", rule["expr"])
    assert m, rule["expr"]
    return float(m.group(1))


def test_slowdown_is_80_percent_of_the_sla(rules: dict[str, Any]) -> None:
    assert threshold(get(rules, "flights", "PipelineSlowdown")) == 480  # 0.8 * 10 min
    assert threshold(get(rules, "airlines", "PipelineSlowdown")) == 1440  # 0.8 * 30 min
    assert threshold(get(rules, "planes", "PipelineSlowdown")) == 2880  # 0.8 * 60 min
    assert find(rules, "adhoc", "PipelineSlowdown") is None  # no sla_minutes


def test_freshness_comes_from_the_contract_then_the_schedule(rules: dict[str, Any]) -> None:
    flights = get(rules, "flights", "DataFreshnessAlert")
    assert threshold(flights) == 2880 * 60  # the contract's max_delay_minutes
    assert "max_delay_minutes: 2880" in flights["annotations"]["description"]
    # No contract freshness: the daily cron's 24 h plus the 30-minute SLA.
    assert threshold(get(rules, "airlines", "DataFreshnessAlert")) == 24.5 * 3600
    # Weekly, 60-minute SLA.
    assert threshold(get(rules, "planes", "DataFreshnessAlert")) == (7 * 24 + 1) * 3600
    # The contract's 3 h cannot be met by a monthly schedule: the schedule's 31 days + 1 h.
    weather = get(rules, "weather", "DataFreshnessAlert")
    assert threshold(weather) == (31 * 24 + 1) * 3600
    assert "looser than the contract" in weather["annotations"]["description"]
    # Neither a schedule nor a contract: the seeds' 24 h.
    assert threshold(get(rules, "adhoc", "DataFreshnessAlert")) == 24 * 3600
    # The age of the table's newest data, not the time since its last load.
    assert get(rules, "flights", "DataFreshnessAlert")["expr"] == (
        'time() - data_newest_timestamp_seconds{table_name="flights"} > 172800'
    )


def test_an_overdue_load_is_its_own_alert_with_the_schedule_allowance(
    rules: dict[str, Any],
) -> None:
    overdue = get(rules, "flights", "PipelineLoadOverdue")
    assert overdue["expr"] == (
        'time() - pipeline_last_success_timestamp_seconds{pipeline_name="flights"} > 87000'
    )  # daily: 24 h plus the 10-minute SLA, whatever the contract's freshness
    assert threshold(get(rules, "airlines", "PipelineLoadOverdue")) == 24.5 * 3600
    assert threshold(get(rules, "weather", "PipelineLoadOverdue")) == (31 * 24 + 1) * 3600
    assert threshold(get(rules, "adhoc", "PipelineLoadOverdue")) == 24 * 3600  # no cron
    assert overdue["for"] == "15m"


def test_a_contract_the_schedule_cannot_meet_is_reported(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="lakegate.observe.alerts"):
        alert_rules(load_project(root))
    assert [r.getMessage() for r in caplog.records] == [
        "weather: the contract allows data 3 h old, but schedule '0 5 1 * *' runs only "
        "every 744 h; the freshness alert uses 745 h"
    ]


def test_severity_follows_the_tier(rules: dict[str, Any]) -> None:
    breaches = ("PipelineFailure", "DataFreshnessAlert", "PipelineLoadOverdue", "LowRowCount")
    degradations = ("PipelineSlowdown", "DataQualityDegraded", "RowsQuarantined")
    for alert in breaches:
        assert get(rules, "flights", alert)["labels"]["severity"] == "P0"  # tier 0
        assert get(rules, "airlines", alert)["labels"]["severity"] == "P2"  # tier 2
    for alert in degradations:
        assert get(rules, "flights", alert)["labels"]["severity"] == "P3"
    adhoc = get(rules, "adhoc", "PipelineFailure")["labels"]
    assert adhoc == {
        "severity": "P2",
        "pipeline_name": "adhoc",
        "table_name": "adhoc",
        "project": "p",
    }
    flights = get(rules, "flights", "PipelineFailure")["labels"]
    assert flights["tier"] == "0" and flights["team"] == "Data Engineering"
    assert flights["owner"] == "data-platform@example.com"
    # Metrics gone: as severe as the most critical pipeline.
    assert get(rules, None, "LakegateMetricsAbsent")["labels"]["severity"] == "P0"


def test_low_row_count_uses_the_contract_minimum_over_a_day_or_a_schedule_interval(
    rules: dict[str, Any],
) -> None:
    flights = get(rules, "flights", "LowRowCount")["expr"]
    rows = 'rows_processed_total{pipeline_name="flights",table_name="flights"}'
    # min_records 500 over 24 h + the 10-minute SLA, once the series is that old.
    assert flights == f"increase({rows}[1450m]) < 500 and {rows} offset 1450m"
    assert "[1470m]) < 10 " in get(rules, "airlines", "LowRowCount")["expr"]
    assert "[745h]) < 2000 " in get(rules, "weather", "LowRowCount")["expr"]  # monthly
    assert find(rules, "planes", "LowRowCount") is None  # new_files: empty runs are normal
    assert find(rules, "flights_from_postgres", "LowRowCount") is None  # no volume
    assert find(rules, "adhoc", "LowRowCount") is None  # no contract


def test_quality_threshold_and_extra_matchers(root: Path) -> None:
    rules = alert_rules(load_project(root), quality_threshold=0.9, match={"job": 'a"b\\c'})
    quality = get(rules, "flights", "DataQualityDegraded")["expr"]
    assert quality == (
        'data_quality_score{table_name="flights",check_type="all",job="a\\"b\\\\c"} < 0.9'
    )
    for group in rules["groups"]:
        for rule in group["rules"]:
            selectors = re.findall(r"[a-z_]+\{[^}]*\}", rule["expr"])
            assert selectors and all('job="a\\"b\\\\c"' in s for s in selectors), rule["expr"]
    with pytest.raises(UserInputError, match="label name"):
        alert_rules(load_project(root), match={"bad-name": "x"})
    with pytest.raises(UserInputError, match=r"within 0\.\.1"):
        alert_rules(load_project(root), quality_threshold=95)


def test_label_values_are_escaped_as_promql_strings() -> None:
    assert promql_string("flights") == '"flights"'
    assert promql_string('a"b\\c\nd\te\x01') == '"a\\"b\\\\c\\nd\\te\\x01"'
    assert selector("x", {"a": 'say "hi"'}) == 'x{a="say \\"hi\\""}'


@pytest.mark.parametrize(
    ("schedule", "hours"),
    [
        ("0 5 * * *", 24),
        ("*/15 * * * *", 0.25),
        ("0 4 * * 1", 168),
        ("0 5 1 * *", 744),  # July 1 -> August 1
        ("0 9 * * mon-fri", 72),  # Friday -> Monday
        ("0 0,12 * * *", 12),
        ("30 2 1,15 * 5", 168),  # both day fields restricted: either matches
        ("@hourly", 1),
        ("@yearly", 366 * 24),
        ("0 0 29 2 *", None),  # once in four years
        ("*/5 * * * * *", None),  # six fields
        ("0 25 * * *", None),
        ("@reboot", None),
    ],
)
def test_cron_gaps(schedule: str, hours: float | None) -> None:
    gap = max_gap_seconds(schedule)
    assert (gap / 3600 if gap is not None else None) == hours


# ------------------------------------------------------------ the CLI and promtool


def test_export_writes_yaml_with_a_header_and_json(root: Path, tmp_path: Path) -> None:
    done = lakegate("alerts", "export", "--project", str(root))
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert (
        first == f"# Generated by `lakegate alerts export` (lakegate {__version__}) for project p."
    )
    expected = alert_rules(load_project(root))
    assert yaml.safe_load(done.stdout) == expected
    out = tmp_path / "rules.json"
    done = lakegate("alerts", "export", "-p", str(root), "--format", "json", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text()) == expected
    bad = lakegate("alerts", "export", "-p", str(root), "--match", "no-equals")
    assert bad.returncode == 2 and "LABEL=VALUE" in bad.stderr


@needs_promtool
def test_promtool_accepts_the_exported_files(root: Path, tmp_path: Path) -> None:
    for fmt in ("yaml", "json"):
        out = tmp_path / f"rules.{fmt}"
        args = ("alerts", "export", "-p", str(root), "-f", fmt, "-o", str(out))
        done = lakegate(*args, "--match", 'job=odd "value" \\ here')
        assert done.returncode == 0, done.stderr
        check = subprocess.run(
            ["promtool", "check", "rules", str(out)], capture_output=True, text=True, timeout=60
        )
        assert check.returncode == 0, check.stdout + check.stderr
        count = sum(len(g["rules"]) for g in alert_rules(load_project(root))["groups"])
        assert f"SUCCESS: {count} rules found" in check.stdout


# promtool unit tests: input series in, expected alerts (labels, and annotations when
# kept) out at given times. Each alertname lists every instance that must be firing.


def expect(rules: dict[str, Any], pipeline: str | None, alert: str, **series: str) -> Any:
    """An expected alert: the series' labels plus the rule's own."""
    return {"exp_labels": {**series, **get(rules, pipeline, alert)["labels"]}}


def promtool_test(
    tmp_path: Path, rules: dict[str, Any], *tests: dict[str, Any], every: str = "1m"
) -> str:
    """Run ``promtool test rules`` with ``tests`` against ``rules``, evaluating them
    ``every`` so often; return its output."""
    (tmp_path / "rules.yml").write_text(rules_yaml(rules))
    spec = {"rule_files": ["rules.yml"], "evaluation_interval": every, "tests": list(tests)}
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    done = subprocess.run(
        ["promtool", "test", "rules", "tests.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def without_annotations(rules: dict[str, Any]) -> dict[str, Any]:
    """The rules with no annotations, so that expected alerts need only labels."""
    bare = copy.deepcopy(rules)
    for group in bare["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)  # a recording rule has none
    return bare


def series(name: str, values: str, **labels: str) -> dict[str, str]:
    return {"series": selector(name, labels), "values": values}


def run_counters_case(rules: dict[str, Any]) -> dict[str, Any]:
    """Five hours, one sample a minute. flights fails for the first time at 90 min and
    again at 210 min; airports has only failed; airlines succeeds every minute; weather
    failed before the first sample."""
    f_ok = {"pipeline_name": "flights", "status": "success"}
    f_failed = {"pipeline_name": "flights", "status": "failed"}
    a_failed = {"pipeline_name": "airports", "status": "failed"}
    f_table = {"pipeline_name": "flights", "table_name": "flights"}
    all_checks = {"table_name": "flights", "check_type": "all"}

    def failure(*firing: dict[str, str]) -> list[Any]:
        return [expect(rules, s["pipeline_name"], "PipelineFailure", **s) for s in firing]

    def at(minutes: int, alert: str, exp: list[Any]) -> dict[str, Any]:
        return {"eval_time": f"{minutes}m", "alertname": alert, "exp_alerts": exp}

    return {
        "interval": "1m",
        "input_series": [
            series("pipeline_runs_total", "1x300", **f_ok),
            series("pipeline_runs_total", "_x89 1x119 2x90", **f_failed),
            series("pipeline_last_success_timestamp_seconds", "0x300", pipeline_name="flights"),
            series("pipeline_runs_total", "1x300", **a_failed),
            series("pipeline_runs_total", "1+1x300", pipeline_name="airlines", status="success"),
            series("pipeline_last_success_timestamp_seconds", "0+60x300", pipeline_name="airlines"),
            series("pipeline_last_duration_seconds", "300x120 600x180", pipeline_name="flights"),
            series("pipeline_last_duration_seconds", "600x300", pipeline_name="airlines"),
            series("data_quality_score", "0.99x120 0.9x180", **all_checks),
            series("data_quality_score", "0.5x300", table_name="flights", check_type="not_null"),
            series("data_quality_score", "1x300", table_name="airlines", check_type="all"),
            series("rows_rejected_total", "0x30 5x270", **f_table),
            series("rows_rejected_total", "0x300", pipeline_name="airlines", table_name="airlines"),
            series("lakegate_info", "1x300", project="p", version=__version__),
            # weather failed long before Prometheus started: old news, no alert.
            series("pipeline_runs_total", "3x300", pipeline_name="weather", status="failed"),
            series("pipeline_runs_total", "5x300", pipeline_name="weather", status="success"),
            series("pipeline_last_success_timestamp_seconds", "0x300", pipeline_name="weather"),
        ],
        "alert_rule_test": [
            # airports never succeeded; flights has not failed yet.
            at(60, "PipelineFailure", failure(a_failed)),
            # flights' first failure: a new series, which increase() alone cannot see.
            at(100, "PipelineFailure", failure(f_failed, a_failed)),
            # An hour later the failure is no longer new.
            at(170, "PipelineFailure", failure(a_failed)),
            # A second failure: the counter increased.
            at(230, "PipelineFailure", failure(f_failed, a_failed)),
            at(60, "PipelineSlowdown", []),  # 300 s < 480 s; airlines' 600 s < 1440 s
            at(150, "PipelineSlowdown", [expect(rules, "flights", "PipelineSlowdown")]),
            at(60, "DataQualityDegraded", []),  # 0.99; the not_null score does not count
            at(
                150,
                "DataQualityDegraded",
                [expect(rules, "flights", "DataQualityDegraded", **all_checks)],
            ),
            at(20, "RowsQuarantined", []),
            at(45, "RowsQuarantined", [expect(rules, "flights", "RowsQuarantined", **f_table)]),
            at(150, "RowsQuarantined", []),  # nothing new in the last hour
            at(60, "LakegateMetricsAbsent", []),
        ],
    }


@needs_promtool
def test_promtool_failure_slowdown_quality_and_rejects(
    rules: dict[str, Any], tmp_path: Path
) -> None:
    promtool_test(tmp_path, without_annotations(rules), run_counters_case(rules))


@needs_promtool
def test_promtool_detects_a_wrong_threshold(rules: dict[str, Any], tmp_path: Path) -> None:
    """The harness can fail: with the slowdown threshold at 700 s, the 600 s run at
    150 min no longer fires and promtool reports it."""
    broken = without_annotations(rules)
    rule = get(broken, "flights", "PipelineSlowdown")
    rule["expr"] = rule["expr"].replace("> 480", "> 700")
    with pytest.raises(AssertionError, match="PipelineSlowdown"):
        promtool_test(tmp_path, broken, run_counters_case(rules))


@needs_promtool
def test_promtool_freshness(rules: dict[str, Any], tmp_path: Path) -> None:
    """flights' newest data is from t=0 (limit 48 h, from its contract) although it loads
    successfully every 5 minutes; airlines' newest data is from 20 h and 40 h (limit 24.5 h);
    planes' from t=0 (limit 169 h, weekly). One sample and one evaluation every 5 minutes."""
    stale = expect(rules, "flights", "DataFreshnessAlert", table_name="flights")
    case = {
        "interval": "5m",
        "input_series": [
            series("data_newest_timestamp_seconds", "0x600", table_name="flights"),
            series("pipeline_last_success_timestamp_seconds", "0+300x600", pipeline_name="flights"),
            series(
                "data_newest_timestamp_seconds",
                "0x239 72000x239 144000x120",
                table_name="airlines",
            ),
            series("data_newest_timestamp_seconds", "0x600", table_name="planes"),
        ],
        "alert_rule_test": [
            {"eval_time": "24h", "alertname": "DataFreshnessAlert", "exp_alerts": []},
            {"eval_time": "47h", "alertname": "DataFreshnessAlert", "exp_alerts": []},
            # Past 48 h, but not yet for 15 minutes.
            {"eval_time": "48h10m", "alertname": "DataFreshnessAlert", "exp_alerts": []},
            # Stale data, though the last load is minutes old: no overdue load.
            {"eval_time": "49h", "alertname": "DataFreshnessAlert", "exp_alerts": [stale]},
            {"eval_time": "49h", "alertname": "PipelineLoadOverdue", "exp_alerts": []},
        ],
        "promql_expr_test": [
            {  # the seeds' metric, recorded from the newest data's time
                "expr": 'data_freshness_hours{table_name="flights"}',
                "eval_time": "30h",
                "exp_samples": [
                    {"labels": 'data_freshness_hours{table_name="flights"}', "value": 30}
                ],
            }
        ],
    }
    promtool_test(tmp_path, without_annotations(rules), case, every="5m")


@needs_promtool
def test_promtool_overdue_load(rules: dict[str, Any], tmp_path: Path) -> None:
    """flights last loaded at t=0 (limit 24 h 10 min: daily plus the SLA); its data is
    fresh enough (the contract allows 48 h) until 48 h."""
    overdue = expect(rules, "flights", "PipelineLoadOverdue", pipeline_name="flights")
    case = {
        "interval": "5m",
        "input_series": [
            series("pipeline_last_success_timestamp_seconds", "0x600", pipeline_name="flights"),
            series("data_newest_timestamp_seconds", "0x600", table_name="flights"),
        ],
        "alert_rule_test": [
            {"eval_time": "24h", "alertname": "PipelineLoadOverdue", "exp_alerts": []},
            {"eval_time": "24h30m", "alertname": "PipelineLoadOverdue", "exp_alerts": [overdue]},
            {"eval_time": "24h30m", "alertname": "DataFreshnessAlert", "exp_alerts": []},
        ],
    }
    promtool_test(tmp_path, without_annotations(rules), case, every="5m")


@needs_promtool
def test_promtool_low_row_count(rules: dict[str, Any], tmp_path: Path) -> None:
    """flights loads nothing for 30 h (minimum 500 a day); airlines loads 16 rows a day
    (minimum 10). Before a full window of history, nothing fires. One sample and one
    evaluation every 5 minutes."""
    f_table = {"pipeline_name": "flights", "table_name": "flights"}
    case = {
        "interval": "5m",
        "input_series": [
            series("rows_processed_total", "100x360", **f_table),
            series(
                "rows_processed_total",
                "16x287 32x72",
                pipeline_name="airlines",
                table_name="airlines",
            ),
        ],
        "alert_rule_test": [
            {"eval_time": "20h", "alertname": "LowRowCount", "exp_alerts": []},
            {
                "eval_time": "26h",
                "alertname": "LowRowCount",
                "exp_alerts": [expect(rules, "flights", "LowRowCount", **f_table)],
            },
        ],
    }
    promtool_test(tmp_path, without_annotations(rules), case, every="5m")


@needs_promtool
def test_promtool_metrics_absent(rules: dict[str, Any], tmp_path: Path) -> None:
    case = {
        "interval": "1m",
        "input_series": [series("up", "1x60", job="other")],
        "alert_rule_test": [
            {"eval_time": "20m", "alertname": "LakegateMetricsAbsent", "exp_alerts": []},
            {
                "eval_time": "40m",
                "alertname": "LakegateMetricsAbsent",
                "exp_alerts": [expect(rules, None, "LakegateMetricsAbsent", project="p")],
            },
        ],
    }
    promtool_test(tmp_path, without_annotations(rules), case)


@needs_promtool
def test_promtool_renders_the_annotations(rules: dict[str, Any], tmp_path: Path) -> None:
    """The exported file as is: descriptions render the value with Go templates."""

    def rendered(alert: str, value: str, **labels: str) -> dict[str, Any]:
        rule = get(rules, "flights", alert)
        notes = dict(rule["annotations"])
        notes["description"] = re.sub(r"\{\{ \$value \| \w+ \}\}", value, notes["description"])
        return {"exp_labels": {**labels, **rule["labels"]}, "exp_annotations": notes}

    quality = {"table_name": "flights", "check_type": "all"}
    case = {
        "interval": "1m",
        "input_series": [
            series("pipeline_last_duration_seconds", "600x60", pipeline_name="flights"),
            # The newest data from 50 hours before t=0.
            series("data_newest_timestamp_seconds", "-180000x60", table_name="flights"),
            series("data_quality_score", "0.9x60", **quality),
        ],
        "alert_rule_test": [
            {
                "eval_time": "1h",
                "alertname": "PipelineSlowdown",
                "exp_alerts": [rendered("PipelineSlowdown", "10m 0s")],
            },
            {
                "eval_time": "1h",
                "alertname": "DataFreshnessAlert",
                "exp_alerts": [rendered("DataFreshnessAlert", "2d 3h 0m 0s", table_name="flights")],
            },
            {
                "eval_time": "1h",
                "alertname": "DataQualityDegraded",
                "exp_alerts": [rendered("DataQualityDegraded", "90%", **quality)],
            },
        ],
    }
    promtool_test(tmp_path, rules, case)
    description = rendered("PipelineSlowdown", "10m 0s")["exp_annotations"]["description"]
    assert description == (
        "The last run of flights took 10m 0s, over 80% of its 10-minute SLA (480 s)."
    )
