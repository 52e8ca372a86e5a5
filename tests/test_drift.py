"""Schema drift at run time: the source's columns are fingerprinted on every run and
changes since the last successful run are classified; additive ones evolve the Delta
table, breaking ones stop the run before anything is written."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from lakegate.config.contract import load_contract
from lakegate.config.pipeline import load_pipeline
from lakegate.config.project import load_project
from lakegate.contracts.drift import classify_drift, fingerprint
from lakegate.engines.duckdb import DuckDBEngine
from lakegate.runner import RunOptions, RunResult, run_pipeline
from lakegate.sources.files import resolve_input
from lakegate.state.store import StateStore
from tests.conftest import lakegate

CONTRACT = """\
contract: {{name: airports, version: "1.0.0"}}
schema:
  type: object
  required: [faa, name]
  properties:
    faa: {{type: string}}
    name: {{type: string}}
    alt: {{type: integer}}
{versioning}
"""


def project(root: Path, flights_dir: Path, *, versioning: str = "") -> Path:
    (root / "pipelines").mkdir(parents=True)
    (root / "lakegate.yaml").write_text("name: drift\n")
    (root / "contract.yaml").write_text(CONTRACT.format(versioning=versioning))
    write_source(root, flights_dir, "faa, name, alt, tz")
    path = root / "pipelines" / "airports.yaml"
    path.write_text(
        "pipeline: {name: airports}\n"
        "extract: {source: {type: file, path: data/airports.parquet}}\n"
        "load: {target: airports, strategy: merge, merge_keys: [faa]}\n"
        "contract: contract.yaml\n"
    )
    return path


def write_source(root: Path, flights_dir: Path, select: str) -> None:
    """The source file: the real airports with the columns ``select`` gives."""
    (root / "data").mkdir(exist_ok=True)
    out = root / "data" / "airports.parquet"
    duckdb.execute(
        f"COPY (SELECT {select} FROM '{flights_dir / 'airports.parquet'}') TO '{out}' (FORMAT parquet)"
    )


def run(root: Path, path: Path, **options: bool) -> RunResult:
    return run_pipeline(load_project(root), load_pipeline(path), RunOptions(**options))


def columns(root: Path) -> dict[str, str]:
    engine = DuckDBEngine()
    try:
        engine.register("t", resolve_input(root / "lake" / "airports"))
        return {n: t.sql(dialect="duckdb") for n, t in engine.columns("t").items()}
    finally:
        engine.close()


def version(root: Path) -> int:
    from deltalake import DeltaTable

    return DeltaTable(str(root / "lake" / "airports")).version()


def test_an_added_column_evolves_the_table(tmp_path: Path, flights_dir: Path) -> None:
    path = project(tmp_path, flights_dir)
    assert run(tmp_path, path).ok
    write_source(tmp_path, flights_dir, "faa, name, alt, tz, dst")
    result = run(tmp_path, path)
    assert result.ok, result.record.error_message
    assert result.record.source_schema_changes == ("added dst TEXT",)
    assert "dst" in columns(tmp_path)
    with StateStore(load_project(tmp_path).state_url) as state:
        registered = state.source_schema("airports")
    assert registered is not None and registered[-1] == ("dst", "TEXT")
    assert run(tmp_path, path).record.source_schema_changes == ()  # registered now


def test_a_contract_that_calls_additions_breaking_stops_them(
    tmp_path: Path, flights_dir: Path
) -> None:
    rules = "versioning: {breaking_changes: [adding_optional_field]}"
    path = project(tmp_path, flights_dir, versioning=rules)
    assert run(tmp_path, path).ok
    before = version(tmp_path)
    write_source(tmp_path, flights_dir, "faa, name, alt, tz, dst")
    result = run(tmp_path, path)
    assert not result.ok
    assert "added dst TEXT (adding_optional_field" in result.record.error_message
    assert version(tmp_path) == before and "dst" not in columns(tmp_path)
    accepted = run(tmp_path, path, accept_schema_change=True)
    assert accepted.ok and "dst" in columns(tmp_path)


def test_a_retyped_column_outside_the_contract_stops_the_run(
    tmp_path: Path, flights_dir: Path
) -> None:
    path = project(tmp_path, flights_dir)
    assert run(tmp_path, path).ok
    before = version(tmp_path)
    write_source(tmp_path, flights_dir, "faa, name, alt, tz::VARCHAR AS tz")
    result = run(tmp_path, path)
    assert not result.ok and result.record.stage == "extract"
    assert "retyped tz: BIGINT -> TEXT (changing_field_type" in result.record.error_message
    assert "nothing was written" in result.record.error_message
    assert version(tmp_path) == before
    with StateStore(load_project(tmp_path).state_url) as state:
        assert dict(state.source_schema("airports") or [])["tz"] == "BIGINT"  # not registered


def test_a_retyped_column_the_contract_types_is_cast_and_loads(
    tmp_path: Path, flights_dir: Path
) -> None:
    path = project(tmp_path, flights_dir)
    assert run(tmp_path, path).ok
    write_source(tmp_path, flights_dir, "faa, name, alt::INTEGER AS alt, tz")
    result = run(tmp_path, path)
    assert result.ok, result.record.error_message
    assert result.record.source_schema_changes == ("retyped alt: BIGINT -> INT",)
    assert columns(tmp_path)["alt"] == "BIGINT"  # the contract's integer


def test_a_removed_required_column_is_breaking(tmp_path: Path, flights_dir: Path) -> None:
    path = project(tmp_path, flights_dir)
    assert run(tmp_path, path).ok
    write_source(tmp_path, flights_dir, "faa, alt, tz")
    result = run(tmp_path, path)
    assert not result.ok
    assert "removed name (removing_required_field: the contract requires it)" in (
        result.record.error_message
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            [("a", "INT")],
            [("a", "INT"), ("b", "TEXT")],
            [("added", "adding_optional_field", False)],
        ),
        (
            [("a", "INT"), ("b", "TEXT")],
            [("a", "INT")],
            [("removed", "removing_optional_field", True)],
        ),
        ([("faa", "TEXT")], [], [("removed", "removing_required_field", True)]),
        ([("alt", "INT")], [("alt", "BIGINT")], [("retyped", "changing_field_type", False)]),
        ([("x", "INT")], [("x", "BIGINT")], [("retyped", "changing_field_type", True)]),
    ],
)
def test_classification(
    tmp_path: Path, old: list, new: list, expected: list[tuple[str, str, bool]]
) -> None:
    (tmp_path / "c.yaml").write_text(CONTRACT.format(versioning=""))
    contract = load_contract(tmp_path / "c.yaml")
    changes = classify_drift(old, new, contract)
    assert [(c.kind, c.rule, c.breaking) for c in changes] == expected


def test_removals_the_contract_allows_are_not_breaking(tmp_path: Path) -> None:
    rules = "versioning: {non_breaking_changes: [removing_optional_field]}"
    (tmp_path / "c.yaml").write_text(CONTRACT.format(versioning=rules))
    (change,) = classify_drift([("b", "INT")], [], load_contract(tmp_path / "c.yaml"))
    assert not change.breaking and "non-breaking" in change.reason


def test_the_fingerprint_sees_names_types_and_order() -> None:
    base = [("a", "INT"), ("b", "TEXT")]
    assert fingerprint(base) == fingerprint(list(base))
    assert (
        len(
            {
                fingerprint(base),
                fingerprint(base[::-1]),
                fingerprint([("a", "BIGINT"), ("b", "TEXT")]),
            }
        )
        == 3
    )


def test_the_cli_shows_the_rule_and_reason_of_a_breaking_change(
    tmp_path: Path, flights_dir: Path
) -> None:
    path = project(tmp_path, flights_dir)
    first = lakegate("run", str(path), cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    write_source(tmp_path, flights_dir, "faa, name, alt")
    proc = lakegate("run", str(path), cwd=tmp_path)
    assert proc.returncode == 1
    shown = " ".join(proc.stdout.replace("│", " ").split())  # the run table, cells unwrapped
    assert "removed tz (removing_optional_field: the target table and its readers" in shown
    assert "removed tz ;" not in shown
