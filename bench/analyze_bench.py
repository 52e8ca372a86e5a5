"""Benchmark `lakegate analyze` against `sqlfluff lint` on 1,000 generated SQL files
(`make bench`, after the other benchmarks).

1. Generates the corpus into build/bench/sql-corpus with bench/sql_corpus.py (seed 1):
   TPC-H- and TPC-DS-like queries, report packs and dbt-like models, two files in five
   with injected anti-patterns. Regenerated on every run (about a second).
2. Times whole processes, from spawn to exit, with one warm-up each:
       lakegate analyze CORPUS --dialect duckdb --format json          (--runs, default 3)
       sqlfluff lint CORPUS --dialect duckdb --processes 1 ...         (--sqlfluff-runs, default 1)
       sqlfluff lint CORPUS --dialect duckdb --processes <cores> ...   (once; --no-sqlfluff-parallel)
   sqlfluff gets `--config build/bench/sqlfluff.cfg`, which only lifts its 20,000-byte
   large-file skip so that it lints every file lakegate reads, and `-v` so that every
   finished file is printed. Its runs stop after --sqlfluff-timeout seconds; a stopped
   run reports the files it finished and an extrapolation to the whole corpus by bytes,
   labelled as such. Before each timed run the script waits up to --settle seconds for
   other processes to leave the CPUs idle, and it records the CPU time they used during
   the run (the machine may be shared).
3. In a child process: `analyze_paths` in process (its own time, without start-up) and
   sqlglot's parse of every file alone, to show where the analyzer's time goes.
4. Prints a table and writes every figure to build/bench/analyze_results.json (and the
   last outputs of both tools next to it).

The two tools do different work: sqlfluff checks style and layout (its `all` rules)
against a full grammar of the dialect; lakegate checks performance and correctness
anti-patterns on sqlglot's syntax tree. The comparison is of the time each takes to
check the same corpus, not of what it finds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import sql_corpus
from common import (
    OUT,
    ROOT,
    Run,
    checked,
    gib,
    machine,
    mib,
    run_measured,
    summary,
    tool,
    wait_quiet,
)

BUILD = ROOT / "build" / "bench"
CORPUS = BUILD / "sql-corpus"
RESULTS = BUILD / "analyze_results.json"
SQLFLUFF_CONFIG = BUILD / "sqlfluff.cfg"
TIMED_OUT = 124  # exit status of timeout(1) when it stopped the command

# The analyzer rule (by name) expected to flag each anti-pattern the corpus injects.
RULE_FOR_ANTI_PATTERN = {
    "select_star": "select-star",
    "not_in_subquery": "not-in-nullable-subquery",
    "leading_wildcard_like": "leading-wildcard-like",
    "function_on_column": "function-on-filtered-column",
    "order_by_without_limit": "order-by-without-limit",
    "union_distinct": "union-instead-of-union-all",
    "implicit_cross_join": "cartesian-join",
    "correlated_scalar_subquery": "correlated-subquery",
    "distinct": "distinct-large-result",
}

# sqlfluff's human output, one line per finished file with -v, one per violation
SQLFLUFF_FILE = re.compile(r"^== \[(?P<path>.+)\] (?P<status>PASS|FAIL)$", re.M)
SQLFLUFF_VIOLATION = re.compile(r"^L:\s*\d+ \| P:\s*\d+ \| (?P<code>\w+) \|", re.M)


# ----------------------------------------------------------------------------- commands


def lakegate_cmd(jobs: int = 1) -> list[str]:
    rel = str(CORPUS.relative_to(ROOT))
    return [
        *(tool("lakegate"), "analyze", rel, "--dialect", "duckdb", "--format", "json"),
        *("--jobs", str(jobs)),
    ]


def sqlfluff_cmd(processes: int, folder: Path = CORPUS) -> list[str]:
    """``sqlfluff lint`` of ``folder``; exit 1 means violations were found, not a failure."""
    return [
        tool("sqlfluff"),
        "lint",
        str(folder.relative_to(ROOT)),
        "--dialect",
        "duckdb",
        "--processes",
        str(processes),
        "--config",
        str(SQLFLUFF_CONFIG.relative_to(ROOT)),
        "--nocolor",
        "--disable-progress-bar",
        "-v",
    ]


def with_timeout(cmd: list[str], seconds: float) -> list[str]:
    """``cmd`` stopped after ``seconds`` by timeout(1) (its whole process group: the
    workers of ``--processes`` too), which exits 124 then. wait4 on timeout(1) still
    gives the command's CPU time and high-water RSS (a parent's usage includes its
    waited-for children)."""
    found = shutil.which("timeout")
    if found is None:
        print("timeout(1) not found: sqlfluff runs without a time limit", flush=True)
        return cmd
    return [found, "--kill-after=30", str(int(seconds)), *cmd]


# ----------------------------------------------------------------------------- reading outputs


def lakegate_figures(stdout: str) -> dict[str, Any]:
    """Counts from a ``lakegate analyze --format json`` report."""
    report = json.loads(stdout)
    by_rule = Counter(f"{f['rule']} {f['name']}" for f in report["findings"])
    return {
        "sources": report["summary"]["sources"],
        "statements": report["summary"]["statements"],
        "findings": report["summary"]["findings"],
        "by_severity": report["summary"]["by_severity"],
        "by_rule": dict(sorted(by_rule.items())),
        "parse_errors": sum(n for r, n in by_rule.items() if r.startswith("LG000")),
        "own_seconds": report["summary"]["seconds"],
    }


def anti_pattern_coverage(
    stdout: str, files: list[sql_corpus.CorpusFile]
) -> dict[str, dict[str, Any]]:
    """Per injected anti-pattern: the files that carry it, how many of them the expected
    rule flagged, and how many other files that rule flagged (queries that have the
    pattern without it being injected, e.g. a TPC-DS query's own arithmetic, or false
    positives: read the findings)."""
    flagged: dict[str, set[str]] = {}
    for finding in json.loads(stdout)["findings"]:
        flagged.setdefault(finding["name"], set()).add(Path(finding["path"]).name)
    coverage = {}
    for kind, rule in RULE_FOR_ANTI_PATTERN.items():
        carry = {f.name for f in files if kind in f.anti_patterns}
        hits = flagged.get(rule, set())
        coverage[kind] = {
            "rule": rule,
            "files_injected": len(carry),
            "flagged": len(carry & hits),
            "flagged_in_other_files": len(hits - carry),
        }
    return coverage


def sqlfluff_figures(stdout: str, sizes: dict[str, int]) -> dict[str, Any]:
    """Counts from sqlfluff's ``-v`` human output: the files it finished (PASS/FAIL),
    violations by code, and the files it could not parse (a ``PRS`` violation)."""
    blocks = SQLFLUFF_FILE.split(stdout)  # [head, path, status, body, path, status, body, ...]
    files = {
        Path(p).name: (s, body)
        for p, s, body in zip(blocks[1::3], blocks[2::3], blocks[3::3], strict=True)
    }
    codes = Counter(m["code"] for m in SQLFLUFF_VIOLATION.finditer(stdout))
    unparsable = sorted(n for n, (_, body) in files.items() if "| PRS |" in body)
    return {
        "files_finished": len(files),
        "bytes_finished": sum(sizes.get(n, 0) for n in files),
        "files_passed": sum(s == "PASS" for s, _ in files.values()),
        "violations": sum(codes.values()),
        "by_code": dict(codes.most_common()),
        "unparsable_files": len(unparsable),
        "unparsable_examples": unparsable[:10],
        "templating_errors": codes.get("TMP", 0),
    }


# ----------------------------------------------------------------------------- in process


def in_process(folder: Path, runs: int) -> dict[str, Any]:
    """Run in a child process: analyze_paths' own time, and sqlglot's parse alone."""
    started = time.perf_counter()
    import sqlglot

    from lakegate.analyze import analyze_paths

    imported = time.perf_counter() - started
    analyze: list[float] = []
    report = None
    for _ in range(runs + 1):  # the first run loads the rules: reported apart
        report = analyze_paths([folder], dialect="duckdb", catalog=None)
        analyze.append(report.seconds)
    assert report is not None
    texts = [p.read_text() for p in sorted(folder.rglob("*.sql"))]
    parse: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        for text in texts:
            sqlglot.parse(text, read="duckdb")
        parse.append(time.perf_counter() - started)
    return {
        "import_seconds": round(imported, 4),
        "analyze_first_seconds": round(analyze[0], 4),
        "analyze_seconds": [round(t, 4) for t in analyze[1:]],
        "sqlglot_parse_seconds": [round(t, 4) for t in parse],
        "sources": report.sources,
        "statements": report.statements,
        "findings": len(report.findings),
    }


# ----------------------------------------------------------------------------- measuring


def measured(cmd: list[str], settle: float) -> Run:
    """``cmd`` run and measured, after waiting up to ``settle`` seconds for other
    processes to leave the CPUs idle (the machine may be shared)."""
    if settle > 0:
        wait_quiet(settle)
    return run_measured(cmd)


def timing(runs: list[Run]) -> dict[str, Any]:
    """Wall times and peak RSS (common.summary), CPU time of the process and of others."""
    return summary(runs) | {
        "cpu_seconds": [round(r.cpu_seconds, 2) for r in runs],
        "other_cpu_seconds": [round(r.other_cpu_seconds, 2) for r in runs],
        "load_average_at_start": [round(r.load_average_at_start, 2) for r in runs],
    }


def time_lakegate(runs: int, settle: float, jobs: int = 1) -> tuple[list[Run], dict[str, Any]]:
    label = f"lakegate analyze --jobs {jobs}"
    print(f"{label}: warm-up", flush=True)
    checked(run_measured(lakegate_cmd(jobs)), label, (0, 1))
    done: list[Run] = []
    for i in range(runs):
        print(f"{label}: timed run {i + 1}/{runs}", flush=True)
        done.append(checked(measured(lakegate_cmd(jobs), settle), label, (0, 1)))
    (BUILD / f"lakegate.analyze.jobs{jobs}.json").write_text(done[-1].stdout)
    return done, lakegate_figures(done[-1].stdout) | {"jobs": jobs}


def time_sqlfluff(
    processes: int, runs: int, timeout: float, settle: float, sizes: dict[str, int]
) -> dict[str, Any]:
    """Whole-process runs of sqlfluff lint; figures of the last, extrapolated if stopped."""
    done: list[Run] = []
    figures: dict[str, Any] = {}
    for i in range(runs):
        print(f"sqlfluff lint --processes {processes}: run {i + 1}/{runs}", flush=True)
        run = measured(with_timeout(sqlfluff_cmd(processes), timeout), settle)
        if run.returncode not in (0, 1, TIMED_OUT):
            sys.exit(f"sqlfluff exited {run.returncode}:\n{run.stderr[-4000:]}")
        done.append(run)
        (BUILD / f"sqlfluff.lint.p{processes}.txt").write_text(run.stdout)
        figures = sqlfluff_figures(run.stdout, sizes)
        if run.returncode == TIMED_OUT:
            break  # no second run of something that takes this long
    timed_out = done[-1].returncode == TIMED_OUT
    result = timing(done) | figures | {"timed_out": timed_out, "processes": processes}
    if timed_out:
        total = sum(sizes.values())
        factor = total / max(figures["bytes_finished"], 1)
        result["extrapolation_factor"] = round(factor, 3)
        result["extrapolated_seconds"] = round(done[-1].seconds * factor, 1)
        result["extrapolation"] = (
            f"stopped after {done[-1].seconds:.0f} s with {figures['files_finished']} of "
            f"{len(sizes)} files ({figures['bytes_finished']:,} of {total:,} bytes) linted; "
            "the whole corpus estimated in proportion to bytes"
        )
    return result


def warm_up_sqlfluff(files: list[str]) -> None:
    """Lint a few files once (imports, bytecode, page cache), untimed."""
    folder = BUILD / "sqlfluff-warm-up"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name in files:
        shutil.copy(CORPUS / name, folder / name)
    print("sqlfluff lint: warm-up on", len(files), "files", flush=True)
    checked(run_measured(sqlfluff_cmd(1, folder)), "sqlfluff warm-up", (0, 1))
    shutil.rmtree(folder)


# ----------------------------------------------------------------------------- report


def per_second(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def print_report(results: dict[str, Any]) -> None:
    m, c = results["machine"], results["corpus"]
    print()
    print(
        f"machine: {m['nproc']} CPUs ({m['cpu']}), {gib(m['memory_bytes'])} RAM, "
        f"Python {m['python']}, sqlglot {m['sqlglot']}, sqlfluff {m['sqlfluff']}, "
        f"lakegate {m['lakegate']} ({m['lakegate_commit']})"
    )
    print(
        f"corpus: {c['files']:,} files, {c['statements']:,} statements, {c['lines']:,} lines, "
        f"{c['bytes'] / 1e6:.2f} MB; {c['files_with_anti_patterns']} files with injected "
        f"anti-patterns ({CORPUS.relative_to(ROOT)}, seed {results['seed']})"
    )
    print()
    print(
        f"{'whole process':32} {'best':>9} {'median':>9} {'CPU':>9} {'files/s':>8} "
        f"{'peak RSS':>9}  runs (s)"
    )
    rows = [("lakegate analyze --jobs 1", results["lakegate"])]
    if "lakegate_parallel" in results:
        rows.append(
            (
                f"lakegate analyze --jobs {results['lakegate_parallel']['jobs']}",
                results["lakegate_parallel"],
            )
        )
    rows += [
        (f"sqlfluff lint --processes {s['processes']}", s) for s in results["sqlfluff"].values()
    ]
    for label, s in rows:
        runs = " ".join(f"{x:.2f}" for x in s["runs_seconds"])
        mark = "*" if s.get("timed_out") else ""
        cpu = statistics.median(s["cpu_seconds"])
        print(
            f"{label:32} {s['best_seconds']:>8.2f}s{mark} {s['median_seconds']:>8.2f}s "
            f"{cpu:>8.2f}s {s['files_per_second']:>8.1f} {mib(s['peak_rss_bytes']):>9}  {runs}"
        )
        if s.get("timed_out"):
            print(f"{'':32} * {s['extrapolation']}: {s['extrapolated_seconds']:.0f} s")
        others = max(s["other_cpu_seconds"]) / max(min(s["runs_seconds"]), 1e-9)
        print(f"{'':32} (other processes used up to {others:.2f} CPUs meanwhile)")
    for r in results["ratios"].values():
        extra = ", extrapolated" if r["extrapolated"] else ""
        print(
            f"sqlfluff --processes {r['processes']} / lakegate --jobs {r['lakegate_jobs']}{extra}: "
            f"{r['best']}x (best), "
            f"{r['median']}x (median), {r['cpu']}x (CPU time)"
        )
    p = results["in_process"]
    print()
    print(
        f"in process: analyze_paths {statistics.median(p['analyze_seconds']):.2f}s (median; "
        f"first run {p['analyze_first_seconds']:.2f}s), of which sqlglot's parse alone "
        f"{statistics.median(p['sqlglot_parse_seconds']):.2f}s; imports {p['import_seconds']:.2f}s"
    )
    lake = results["lakegate"]
    print(
        f"lakegate: {lake['findings']:,} findings {lake['by_severity']}, "
        f"{lake['parse_errors']} parse errors"
    )
    for rule, n in lake["by_rule"].items():
        print(f"    {rule:50} {n:>6,}")
    print(f"    {'injected anti-pattern (files)':36} {'rule':28} {'flagged':>8} {'elsewhere':>9}")
    for kind, cov in lake["anti_patterns"].items():
        label = f"{kind} ({cov['files_injected']})"
        print(
            f"    {label:36} {cov['rule']:28} {cov['flagged']:>8} "
            f"{cov['flagged_in_other_files']:>9}"
        )
    for s in results["sqlfluff"].values():
        print(
            f"sqlfluff --processes {s['processes']}: {s['violations']:,} violations in "
            f"{s['files_finished']:,} files ({s['files_passed']} passed), "
            f"{s['unparsable_files']} files unparsable"
        )
    first = next(iter(results["sqlfluff"].values()), None)
    if first:
        top = ", ".join(f"{k} {v:,}" for k, v in list(first["by_code"].items())[:8])
        print(f"    most frequent codes: {top}")
    print()
    print(f"figures: {RESULTS.relative_to(ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="corpus files (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    parser.add_argument("--runs", type=int, default=3, help="timed lakegate runs (default 3)")
    parser.add_argument(
        "--sqlfluff-runs",
        type=int,
        default=1,
        help="timed single-process sqlfluff runs (default 1)",
    )
    parser.add_argument(
        "--sqlfluff-timeout",
        type=float,
        default=1800,
        help="stop a sqlfluff run after this many seconds and extrapolate (default 1800)",
    )
    parser.add_argument(
        "--no-sqlfluff-parallel",
        action="store_true",
        help="skip the sqlfluff run with --processes = the machine's cores",
    )
    parser.add_argument("--no-sqlfluff", action="store_true", help="time lakegate only")
    parser.add_argument(
        "--settle",
        type=float,
        default=20,
        help="before each timed run, wait up to this many seconds for idle CPUs (default 20)",
    )
    parser.add_argument("--in-process", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.in_process:  # the child process started below
        print(json.dumps(in_process(args.in_process, args.runs)))
        return 0
    BUILD.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)  # run_measured's scratch files
    started = time.perf_counter()
    corpus = sql_corpus.generate(CORPUS, files=args.files, seed=args.seed)
    generated = time.perf_counter() - started
    totals = corpus.totals()
    sizes = {f.name: f.bytes for f in corpus.files}
    SQLFLUFF_CONFIG.write_text(
        "# bench/analyze_bench.py: lint every file, however large (the default skips\n"
        "# files over 20,000 bytes); everything else is sqlfluff's default.\n"
        "[sqlfluff]\nlarge_file_skip_byte_limit = 0\n"
    )
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "seed": args.seed,
        "corpus": {
            **totals,
            "folder": str(CORPUS.relative_to(ROOT)),
            "seconds": round(generated, 2),
        },
        "commands": {
            "lakegate": " ".join(lakegate_cmd()),
            "sqlfluff": " ".join(sqlfluff_cmd(1)),
        },
    }
    from importlib.metadata import version

    results["machine"]["sqlglot"] = version("sqlglot")
    results["machine"]["sqlfluff"] = version("sqlfluff") if not args.no_sqlfluff else None
    print(
        f"corpus: {totals['files']} files, {totals['statements']} statements, "
        f"{totals['lines']} lines in {CORPUS.relative_to(ROOT)} ({generated:.1f} s)",
        flush=True,
    )

    lake_runs, lake = time_lakegate(args.runs, args.settle)
    results["lakegate"] = timing(lake_runs) | lake
    results["lakegate"]["anti_patterns"] = anti_pattern_coverage(lake_runs[-1].stdout, corpus.files)
    if lake["sources"] != totals["files"] or lake["statements"] != totals["statements"]:
        sys.exit(f"lakegate read {lake['sources']} files, {lake['statements']} statements")

    cores = results["machine"]["nproc"] or 1
    if cores > 1:
        parallel_runs, parallel = time_lakegate(args.runs, args.settle, jobs=cores)
        results["lakegate_parallel"] = timing(parallel_runs) | parallel
        if parallel["findings"] != lake["findings"]:
            sys.exit(f"--jobs {cores} found {parallel['findings']}, --jobs 1 {lake['findings']}")

    print("analyze_paths in process (child process)", flush=True)
    child = subprocess.run(
        [sys.executable, __file__, "--in-process", str(CORPUS), "--runs", str(args.runs)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    results["in_process"] = json.loads(child.stdout)

    results["sqlfluff"] = {}
    if not args.no_sqlfluff:
        warm_up_sqlfluff([f.name for f in corpus.files[:5]])
        results["sqlfluff"]["single"] = time_sqlfluff(
            1, args.sqlfluff_runs, args.sqlfluff_timeout, args.settle, sizes
        )
        cores = results["machine"]["nproc"] or 1
        if cores > 1 and not args.no_sqlfluff_parallel:
            results["sqlfluff"]["parallel"] = time_sqlfluff(
                cores, 1, args.sqlfluff_timeout, args.settle, sizes
            )

    lake = results["lakegate"]
    lake_parallel = results.get("lakegate_parallel", lake)
    for entry in (lake, lake_parallel, *results["sqlfluff"].values()):
        factor = entry.get("extrapolation_factor", 1.0)
        entry["files_per_second"] = per_second(totals["files"], entry["median_seconds"] * factor)
        entry["statements_per_second"] = per_second(
            totals["statements"], entry["median_seconds"] * factor
        )
        entry["lines_per_second"] = per_second(totals["lines"], entry["median_seconds"] * factor)
    results["ratios"] = {}
    for key, entry in results["sqlfluff"].items():
        factor = entry.get("extrapolation_factor", 1.0)
        # Like for like: one process each, or both tools on every core.
        ours = lake if entry["processes"] == 1 else lake_parallel
        results["ratios"][key] = {
            "processes": entry["processes"],
            "extrapolated": entry["timed_out"],
            "lakegate_jobs": ours["jobs"],
            "best": round(entry["best_seconds"] * factor / ours["best_seconds"], 1),
            "median": round(entry["median_seconds"] * factor / ours["median_seconds"], 1),
            "cpu": round(
                statistics.median(entry["cpu_seconds"])
                * factor
                / statistics.median(ours["cpu_seconds"]),
                1,
            ),
        }
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["machine"]["lakegate_commit_at_end"] = machine()["lakegate_commit"]

    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print_report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
