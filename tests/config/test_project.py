"""lakegate.yaml: an engine that is not built is refused, never silently replaced."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakegate.config.project import load_project
from lakegate.errors import ConfigError
from tests.conftest import lakegate


def test_engine_spark_is_refused_with_its_position(tmp_path: Path) -> None:
    (tmp_path / "lakegate.yaml").write_text("name: demo\nengine: spark\n")
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    message = str(caught.value)
    assert "lakegate.yaml:2" in message
    assert "engine 'spark' is not available" in message


def test_a_run_on_engine_spark_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "lakegate.yaml").write_text("name: demo\nengine: spark\n")
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "p.yaml").write_text(
        "pipeline: {name: p}\nextract: {source: {type: file, path: x.parquet}}\nload: {target: t}\n"
    )
    done = lakegate("run", "--project", str(tmp_path), str(tmp_path / "pipelines" / "p.yaml"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "engine 'spark' is not available" in done.stdout + done.stderr
    assert not (tmp_path / "lake").exists()


def test_engine_duckdb_is_the_default(tmp_path: Path) -> None:
    (tmp_path / "lakegate.yaml").write_text("name: demo\n")
    assert load_project(tmp_path).engine == "duckdb"
