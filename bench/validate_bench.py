"""Benchmark `lakegate validate` against one hand-written DuckDB query (`make bench`).

1. Generates TPC-H lineitem at scale factor 1 (6,001,215 rows) with tpchgen-cli
   into bench/data/lineitem.parquet, unless the file is already there.
2. Writes bench/data/lineitem_faults.parquet: a copy with injected faults whose
   counts are known (counted on the clean file with the injection predicates).
3. Times whole processes, interleaved, after one warm-up run each:
       lakegate validate --input ... --contract bench/contracts/lineitem.yaml --format json
       python bench/handwritten.py ...
   Wall time (best and median of --runs) and peak RSS of the process tree
   (psutil polling of the tree, and the child's own high-water mark from wait4).
4. Checks that on both files lakegate's failing counts (checks[].failing_rows in
   its JSON report) equal the hand-written query's, and on the faulty file the
   number of injected faults. Exits 1 on any mismatch (2 with --strict when a
   performance target is missed).
5. Breaks the time down: process start-up, and lakegate's generated SQL timed
   in process against the hand-written SQL (with and without lakegate's sample
   aggregates).

Prints a table and writes every figure to bench/out/results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import psutil
from common import (
    BENCH,
    CLEAN,
    DATA,
    OUT,
    ROOT,
    SF1_ROWS,
    Run,
    checked,
    generate,
    gib,
    machine,
    mib,
    run_measured,
    summary,
    tool,
)

FAULTY = DATA / "lineitem_faults.parquet"
CONTRACT = BENCH / "contracts" / "lineitem.yaml"
HANDWRITTEN = BENCH / "handwritten.py"

TARGET_RATIO = 1.5
TARGET_PEAK_BYTES = 2 * 1024**3

UNIQUE_ID = "unique_combination.l_orderkey.l_linenumber"

# Injected faults: disjoint sets of orders (by l_orderkey residue), so the
# expected failing count of each check follows from the rows each predicate hits.
# (name, rows hit (predicate on the clean file), column, new value, check it breaks)
FAULTS: list[tuple[str, str, str, str, str]] = [
    (
        "null_orderkey",
        "l_orderkey % 10000 = 1 AND l_linenumber = 1",
        "l_orderkey",
        "NULL",
        "l_orderkey.not_null",
    ),
    (
        "quantity_out_of_range",  # 0 on odd lines, 51 on even ones (range is 1..50)
        "l_orderkey % 10000 = 2",
        "l_quantity",
        "CAST(CASE WHEN l_linenumber % 2 = 1 THEN 0 ELSE 51 END AS DECIMAL(15, 2))",
        "l_quantity.range",
    ),
    (
        "bad_returnflag",
        "l_orderkey % 10000 = 3",
        "l_returnflag",
        "'X'",
        "l_returnflag.accepted_values",
    ),
    (
        "duplicate_key",  # line 2 renumbered 1: the order then has two line 1s
        "l_orderkey % 10000 = 4 AND l_linenumber = 2",
        "l_linenumber",
        "1",
        UNIQUE_ID,
    ),
    (
        "receipt_not_after_ship",  # odd lines a day before shipping, even ones the same day
        "l_orderkey % 10000 = 5",
        "l_receiptdate",
        "l_shipdate - CAST(l_linenumber % 2 AS INTEGER)",
        "receipt_after_ship",
    ),
    (
        "bad_shipmode",  # lower case: 'truck', 'reg air', ... fail ^[A-Z]+( [A-Z]+)?$
        "l_orderkey % 10000 = 6",
        "l_shipmode",
        "lower(l_shipmode)",
        "l_shipmode.regex",
    ),
]

# The 16 checks of the benchmark (lakegate ids); the contract adds one type check per property.
BENCH_CHECKS = [
    "l_orderkey.not_null",
    "l_linenumber.not_null",
    "l_quantity.not_null",
    "l_returnflag.not_null",
    UNIQUE_ID,
    "l_linenumber.range",
    "l_quantity.range",
    "l_discount.range",
    "l_tax.range",
    "l_returnflag.accepted_values",
    "l_linestatus.accepted_values",
    "l_shipinstruct.accepted_values",
    "l_shipmode.regex",
    "row_count",
    "receipt_after_ship",
    "l_quantity.distribution",
]


# ----------------------------------------------------------------------------- data


def inject_faults() -> dict[str, int]:
    """Write FAULTY from CLEAN; returns the number of rows each fault hits."""
    con = duckdb.connect()
    # The SQL below is built from this file's constants only (no outside input).
    src = f"read_parquet('{CLEAN}')"
    counts = con.execute(
        "SELECT "  # noqa: S608
        + ", ".join(f'count_if({pred}) AS "{name}"' for name, pred, *_ in FAULTS)
        + f" FROM {src}"
    ).fetchone()
    assert counts is not None
    by_column: dict[str, list[tuple[str, str]]] = {}
    for _, pred, column, value, _ in FAULTS:
        by_column.setdefault(column, []).append((pred, value))
    replace = ", ".join(
        "CASE "
        + " ".join(f"WHEN {pred} THEN {value}" for pred, value in cases)
        + f" ELSE {column} END AS {column}"
        for column, cases in by_column.items()
    )
    tmp = FAULTY.with_suffix(".tmp.parquet")
    con.execute(
        f"COPY (SELECT * REPLACE ({replace}) FROM {src}) TO '{tmp}' "  # noqa: S608
        "(FORMAT parquet, COMPRESSION snappy)"
    )
    clean_types = con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()  # noqa: S608
    faulty_types = con.execute(f"DESCRIBE FROM read_parquet('{tmp}')").fetchall()
    con.close()
    if [r[:2] for r in clean_types] != [r[:2] for r in faulty_types]:
        sys.exit("fault injection changed the schema")
    tmp.replace(FAULTY)
    return {name: int(n) for (name, *_), n in zip(FAULTS, counts, strict=True)}


def expected_failing(injected: dict[str, int]) -> dict[str, int]:
    """Failing rows each check must report on the faulty file (0 when unlisted)."""
    # row_count and the mean bound judge the table, not rows: compared separately.
    expected = {
        name: 0 for name in BENCH_CHECKS if name not in ("row_count", "l_quantity.distribution")
    }
    for name, *_, check in FAULTS:
        expected[check] += injected[name] * (2 if name == "duplicate_key" else 1)
    # Nulled keys all become (NULL, 1): lakegate, like a GROUP BY, treats a key with
    # some null columns as a value, so those rows are duplicates of each other.
    if injected["null_orderkey"] > 1:
        expected[UNIQUE_ID] += injected["null_orderkey"]
    return expected


# ----------------------------------------------------------------------------- measuring


def lakegate_cmd(data: Path) -> list[str]:
    return [
        tool("lakegate"),
        "validate",
        "--input",
        str(data.relative_to(ROOT)),
        "--contract",
        str(CONTRACT.relative_to(ROOT)),
        "--format",
        "json",
    ]


def handwritten_cmd(data: Path) -> list[str]:
    return [sys.executable, str(HANDWRITTEN.relative_to(ROOT)), str(data.relative_to(ROOT))]


# ----------------------------------------------------------------------------- comparing


def lakegate_figures(report: dict[str, Any]) -> dict[str, Any]:
    by_id = {c["id"]: c for c in report["checks"]}
    return {
        "checks": list(by_id),
        "failing": {
            i: c["failing_rows"] for i, c in by_id.items() if c["failing_rows"] is not None
        },
        "passed": {i: c["passed"] for i, c in by_id.items()},
        "rows": report["rows"],
        "mean_quantity": by_id["l_quantity.distribution"]["observed"]["mean"],
    }


def compare(
    label: str,
    lake: dict[str, Any],
    hand: dict[str, Any],
    expected: dict[str, int],
    expected_rows: int,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Per check: expected, lakegate and hand-written failing rows; and the mismatches."""
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    missing = [c for c in BENCH_CHECKS if c not in lake["checks"]]
    if missing:
        problems.append(f"{label}: lakegate ran no check {', '.join(missing)}")
    for check, want in expected.items():
        got_lake = lake["failing"].get(check)
        got_hand = hand["failing"].get(check)
        ok = got_lake == got_hand == want
        rows.append(
            {"check": check, "expected": want, "lakegate": got_lake, "handwritten": got_hand}
        )
        if not ok:
            problems.append(
                f"{label}: {check}: expected {want}, lakegate {got_lake}, hand-written {got_hand}"
            )
        if lake["passed"].get(check) != hand["passed"].get(check):
            problems.append(f"{label}: {check}: lakegate and hand-written disagree on pass/fail")
    # Automatic type checks: the Parquet columns have the declared types.
    for check in lake["checks"]:
        if check.endswith(".type") and lake["failing"].get(check) != 0:
            problems.append(f"{label}: {check} failed {lake['failing'].get(check)} rows")
    if not lake["rows"] == hand["rows"] == expected_rows:
        problems.append(
            f"{label}: rows: expected {expected_rows}, lakegate {lake['rows']}, "
            f"hand-written {hand['rows']}"
        )
    if abs(lake["mean_quantity"] - hand["mean_quantity"]) > 1e-9:
        problems.append(
            f"{label}: mean l_quantity: lakegate {lake['mean_quantity']}, "
            f"hand-written {hand['mean_quantity']}"
        )
    for check in ("row_count", "l_quantity.distribution"):
        if lake["passed"].get(check) is not True or hand["passed"].get(check) is not True:
            problems.append(f"{label}: {check} should pass")
    return rows, problems


# ----------------------------------------------------------------------------- breakdown


def best_of(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def breakdown(runs: int) -> dict[str, Any]:
    """Where lakegate's time goes: start-up and each query, timed in one process."""
    import re

    from lakegate.checks.compile import Scope
    from lakegate.checks.evaluate import aggregate_select, compile_all
    from lakegate.config.contract import load_contract
    from lakegate.contracts.compile import contract_checks
    from lakegate.engines.duckdb import DuckDBEngine
    from lakegate.sources.files import resolve_input

    figures: dict[str, Any] = {}
    figures["startup_lakegate_version_seconds"] = min(
        run_measured([tool("lakegate"), "--version"]).seconds for _ in range(runs)
    )
    figures["startup_python_import_duckdb_seconds"] = min(
        run_measured([sys.executable, "-c", "import duckdb"]).seconds for _ in range(runs)
    )

    engine = DuckDBEngine()
    engine.register("dataset", resolve_input(str(CLEAN)))
    scope = Scope(table="dataset", columns=engine.columns("dataset"))
    compiled = compile_all(contract_checks(load_contract(CONTRACT)), scope)
    select, _ = aggregate_select(compiled, scope)
    unique_sql = next(c.queries["duplicates"] for c in compiled if c.check.id == UNIQUE_ID)

    hand = HANDWRITTEN.read_text()
    hand_sql = {
        name: re.search(rf'{name} = """(.*?)"""', hand, re.S).group(1)  # type: ignore[union-attr]
        for name in ("CHECKS_SQL", "UNIQUE_SQL")
    }
    con = engine.connection

    def sql_time(sql: str, params: list[Any] | None = None) -> float:
        return round(best_of(lambda: con.execute(sql, params).fetchall(), runs), 4)

    variants = {"lakegate aggregate SELECT, as generated": select}
    queries: dict[str, float] = {}
    for label, query in variants.items():
        queries[label] = sql_time(query.sql(dialect="duckdb"))
    queries["hand-written aggregate SELECT"] = sql_time(hand_sql["CHECKS_SQL"], [str(CLEAN)])
    queries["lakegate uniqueness GROUP BY"] = sql_time(unique_sql.sql(dialect="duckdb"))
    queries["hand-written uniqueness GROUP BY"] = sql_time(hand_sql["UNIQUE_SQL"], [str(CLEAN)])
    engine.close()
    figures["query_best_seconds"] = queries
    figures["aggregate_expressions"] = {
        "lakegate": len(select.expressions),
    }
    figures["lakegate_aggregate_sql"] = select.sql(dialect="duckdb", pretty=True)
    figures["lakegate_uniqueness_sql"] = unique_sql.sql(dialect="duckdb", pretty=True)
    return figures


# ----------------------------------------------------------------------------- report


def print_report(results: dict[str, Any]) -> None:
    m = results["machine"]
    print()
    print(
        f"machine: {m['nproc']} CPUs ({m['cpu']}), {gib(m['memory_bytes'])} RAM, "
        f"Python {m['python']}, DuckDB {m['duckdb']}, lakegate {m['lakegate']}"
    )
    print(
        f"data: {results['data']['rows']:,} rows, {results['data']['file_bytes'] / 1e6:,.0f} MB "
        f"Parquet; {results['checks']['total']} checks ran "
        f"({results['checks']['benchmark']} + {results['checks']['automatic_type']} automatic type)"
    )
    t = results["timing"]
    print()
    print(f"{'SF1 lineitem, whole process':36} {'best':>8} {'median':>8} {'peak RSS':>10}  runs")
    for key, label in (("lakegate", "lakegate validate"), ("handwritten", "hand-written query")):
        s = t[key]
        runs = " ".join(f"{x:.2f}" for x in s["runs_seconds"])
        print(
            f"{label:36} {s['best_seconds']:>7.2f}s {s['median_seconds']:>7.2f}s "
            f"{mib(s['peak_rss_bytes']):>10}  {runs}"
        )
    r = results["targets"]
    print(
        f"{'ratio lakegate / hand-written':36} {r['ratio_best']:>7.2f}x {r['ratio_median']:>7.2f}x"
        f"   target <= {TARGET_RATIO}x: {'met' if r['ratio_met'] else 'MISSED'}"
    )
    print(
        f"{'peak RSS, lakegate (both files)':36} {mib(r['lakegate_peak_rss_bytes']):>18}"
        f"   target <= 2 GiB: {'met' if r['memory_met'] else 'MISSED'}"
    )
    print()
    print("failing rows on the faulty copy (expected = injected faults):")
    print(f"  {'check':44} {'expected':>9} {'lakegate':>9} {'hand':>9}")
    for row in results["correctness"]["faulty"]:
        mark = "" if row["expected"] == row["lakegate"] == row["handwritten"] else "  MISMATCH"
        print(
            f"  {row['check']:44} {row['expected']:>9,} {row['lakegate']!s:>9} "
            f"{row['handwritten']!s:>9}{mark}"
        )
    clean_ok = all(
        r["expected"] == r["lakegate"] == r["handwritten"] for r in results["correctness"]["clean"]
    )
    print(f"  clean file: every check 0 failing rows in both: {'yes' if clean_ok else 'NO'}")
    f = results["timing"]["faulty"]
    print(
        f"  faulty file, whole process (best): lakegate {f['lakegate']['best_seconds']:.2f}s, "
        f"hand-written {f['handwritten']['best_seconds']:.2f}s"
    )
    if "breakdown" in results:
        b = results["breakdown"]
        print()
        print("where the time goes (best of runs, one process, warm cache):")
        print(f"  {'start-up: lakegate --version':72} {b['startup_lakegate_version_seconds']:.2f}s")
        label = "start-up: python -c 'import duckdb'"
        print(f"  {label:72} {b['startup_python_import_duckdb_seconds']:.2f}s")
        for key, label in (
            ("lakegate", "lakegate's own duration_seconds (the checks), median"),
            ("handwritten", "hand-written's own duration_seconds (both queries), median"),
        ):
            own = statistics.median(t[key]["in_process_seconds"])
            print(f"  {label:72} {own:.2f}s")
        for label, seconds in b["query_best_seconds"].items():
            print(f"  {label:72} {seconds:.2f}s")
    print()
    print(f"figures: {(OUT / 'results.json').relative_to(ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per command (default 3)")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the time breakdown")
    parser.add_argument(
        "--strict", action="store_true", help="exit 2 when a performance target is missed"
    )
    parser.add_argument("--inject-faults", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    if args.inject_faults:  # the child process started below
        print(json.dumps(inject_faults()))
        return 0
    generated = generate()
    print("injecting faults into", FAULTY.relative_to(ROOT), flush=True)
    # In a child process: DuckDB keeps the memory the copy used, and on Linux a
    # child's ru_maxrss starts at its parent's RSS (the high-water mark survives
    # exec), so this process must stay small while it measures its children.
    child = subprocess.run(
        [sys.executable, __file__, "--inject-faults"], check=True, capture_output=True, text=True
    )
    injected = json.loads(child.stdout)
    expected = expected_failing(injected)
    clean_expected = dict.fromkeys(expected, 0)

    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "commands": {
            "lakegate": " ".join(lakegate_cmd(CLEAN)),
            "handwritten": " ".join(handwritten_cmd(CLEAN)),
        },
        "data": {
            "file": str(CLEAN.relative_to(ROOT)),
            "file_bytes": CLEAN.stat().st_size,
            "generation_seconds": generated,
            "faulty_file": str(FAULTY.relative_to(ROOT)),
            "injected_faults": {
                name: {"rows": injected[name], "where": pred, "column": col, "set_to": value}
                for name, pred, col, value, _ in FAULTS
            },
        },
    }

    results["machine"]["bench_process_rss_bytes"] = psutil.Process().memory_info().rss
    # Warm-up (page cache, Python bytecode), then interleaved timed runs.
    print("warming up", flush=True)
    checked(run_measured(lakegate_cmd(CLEAN)), "lakegate", (0,))
    checked(run_measured(handwritten_cmd(CLEAN)), "hand-written", (0,))
    lake_runs: list[Run] = []
    hand_runs: list[Run] = []
    for i in range(args.runs):
        print(f"timed run {i + 1}/{args.runs}", flush=True)
        lake_runs.append(checked(run_measured(lakegate_cmd(CLEAN)), "lakegate", (0,)))
        hand_runs.append(checked(run_measured(handwritten_cmd(CLEAN)), "hand-written", (0,)))

    # The faulty copy: lakegate exits 1 (critical checks failed), as it should.
    print("running both on the faulty copy", flush=True)
    faulty_lake: list[Run] = []
    faulty_hand: list[Run] = []
    for _ in range(args.runs):
        faulty_lake.append(checked(run_measured(lakegate_cmd(FAULTY)), "lakegate", (1,)))
        faulty_hand.append(checked(run_measured(handwritten_cmd(FAULTY)), "hand-written", (0,)))
    (OUT / "lakegate.clean.json").write_text(lake_runs[-1].stdout)
    (OUT / "lakegate.faulty.json").write_text(faulty_lake[-1].stdout)
    (OUT / "handwritten.clean.json").write_text(hand_runs[-1].stdout)
    (OUT / "handwritten.faulty.json").write_text(faulty_hand[-1].stdout)

    lake_clean = lakegate_figures(json.loads(lake_runs[-1].stdout))
    lake_faulty = lakegate_figures(json.loads(faulty_lake[-1].stdout))
    clean_rows, problems = compare(
        "clean", lake_clean, json.loads(hand_runs[-1].stdout), clean_expected, SF1_ROWS
    )
    faulty_rows, more = compare(
        "faulty", lake_faulty, json.loads(faulty_hand[-1].stdout), expected, SF1_ROWS
    )
    problems += more
    n_type = sum(c.endswith(".type") for c in lake_clean["checks"])

    lake, hand = summary(lake_runs), summary(hand_runs)
    # What each process reports for its own work (after start-up and imports).
    lake["in_process_seconds"] = [json.loads(r.stdout)["duration_seconds"] for r in lake_runs]
    hand["in_process_seconds"] = [
        round(json.loads(r.stdout)["duration_seconds"], 4) for r in hand_runs
    ]
    results["data"]["rows"] = lake_clean["rows"]
    results["checks"] = {
        "benchmark": len(BENCH_CHECKS),
        "automatic_type": n_type,
        "total": len(lake_clean["checks"]),
        "ids": lake_clean["checks"],
    }
    results["timing"] = {
        "lakegate": lake,
        "handwritten": hand,
        "faulty": {"lakegate": summary(faulty_lake), "handwritten": summary(faulty_hand)},
    }
    results["targets"] = {
        "ratio_best": round(lake["best_seconds"] / hand["best_seconds"], 3),
        "ratio_median": round(lake["median_seconds"] / hand["median_seconds"], 3),
        "ratio_target": TARGET_RATIO,
        # The higher of the clean and the faulty runs.
        "lakegate_peak_rss_bytes": max(
            lake["peak_rss_bytes"], results["timing"]["faulty"]["lakegate"]["peak_rss_bytes"]
        ),
        "peak_target_bytes": TARGET_PEAK_BYTES,
    }
    results["targets"]["ratio_met"] = results["targets"]["ratio_best"] <= TARGET_RATIO
    results["targets"]["memory_met"] = (
        results["targets"]["lakegate_peak_rss_bytes"] <= TARGET_PEAK_BYTES
    )
    results["correctness"] = {"clean": clean_rows, "faulty": faulty_rows, "problems": problems}
    if not args.no_breakdown:
        print("timing the breakdown", flush=True)
        results["breakdown"] = breakdown(args.runs)

    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print_report(results)
    for problem in problems:
        print("MISMATCH:", problem, file=sys.stderr)
    if problems:
        return 1
    if args.strict and not (results["targets"]["ratio_met"] and results["targets"]["memory_met"]):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
