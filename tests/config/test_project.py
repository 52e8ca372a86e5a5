"""lakegate.yaml: the engine, the spark: block, and the engine a project builds."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlglot import exp

from lakegate.config.project import load_project
from lakegate.errors import ConfigError


def test_engine_spark_is_read(tmp_path: Path) -> None:
    (tmp_path / "lakegate.yaml").write_text("name: demo\nengine: spark\n")
    assert load_project(tmp_path).engine == "spark"


def test_an_engine_that_does_not_exist_is_refused_with_its_position(tmp_path: Path) -> None:
    (tmp_path / "lakegate.yaml").write_text("name: demo\nengine: flink\n")
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert "lakegate.yaml:2" in str(caught.value) and "spark" in str(caught.value)


def test_engine_duckdb_is_the_default(tmp_path: Path) -> None:
    (tmp_path / "lakegate.yaml").write_text("name: demo\n")
    assert load_project(tmp_path).engine == "duckdb"


def test_the_spark_block_is_read_with_its_defaults_and_conf_as_text(tmp_path: Path) -> None:
    (tmp_path / "lakegate.yaml").write_text(
        "name: demo\n"
        "spark:\n"
        "  master: spark://127.0.0.1:7077\n"
        "  conf: {spark.sql.shuffle.partitions: 8, spark.sql.adaptive.enabled: true}\n"
        "  jars: null\n"
    )
    spark = load_project(tmp_path).spark
    assert spark.session_options("flights") == {
        "master": "spark://127.0.0.1:7077",
        "app_name": "lakegate-flights",
        "conf": {"spark.sql.shuffle.partitions": "8", "spark.sql.adaptive.enabled": "true"},
        "jars": None,
    }
    assert load_project(tmp_path).engine == "duckdb"  # the block alone changes no engine
    (tmp_path / "lakegate.yaml").write_text("name: demo\n")
    assert load_project(tmp_path).spark.session_options()["master"] == "local[*]"


def test_an_unknown_spark_key_is_refused_with_its_position(tmp_path: Path) -> None:
    (tmp_path / "lakegate.yaml").write_text("name: demo\nspark:\n  mastr: local[2]\n")
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert "lakegate.yaml:3" in str(caught.value) and "mastr" in str(caught.value)


def test_the_project_engine_is_duckdb_with_the_projects_memory_limit(tmp_path: Path) -> None:
    from lakegate.engines import project_engine

    (tmp_path / "lakegate.yaml").write_text("name: demo\nengine_memory_limit: 1GB\n")
    engine = project_engine(load_project(tmp_path))
    try:
        assert engine.name == "duckdb"
        (limit,) = engine.query(exp.select("current_setting('memory_limit')"))[0]
        assert limit in ("1.0 GiB", "953.6 MiB"), limit  # 1GB as DuckDB shows it
    finally:
        engine.close()
