"""The JDBC URL and properties a SQL source becomes on the spark engine (no Spark, no server),
and the Spark-only partitioning keys: validated, and refused on the duckdb engine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from lakegate.config.pipeline import SqlSource, load_pipeline
from lakegate.config.project import load_project
from lakegate.errors import ConfigError
from lakegate.sources.extract import plan_extract
from lakegate.sources.spark_jdbc import JdbcDataset, jdbc_target


def sql(url: str, **fields: object) -> SqlSource:
    return SqlSource(type="sql", url=url, table="Flight Data", **fields)  # type: ignore[arg-type]


def test_postgresql_url_becomes_jdbc_url_and_properties() -> None:
    target = jdbc_target(sql("postgresql://ana:p%40ss@db.example.com:6543/sales?sslmode=require"))
    assert target.url == "jdbc:postgresql://db.example.com:6543/sales"
    assert target.driver == "org.postgresql.Driver"
    assert target.properties == {
        "user": "ana",
        "password": "p@ss",
        "sslmode": "require",
        "connectTimeout": "10",  # seconds (the defaults of the duckdb path)
        "loginTimeout": "10",
        "socketTimeout": "300",
    }
    assert "p@ss" not in repr(target) and "p%40ss" not in repr(target)
    assert target.limits.host == "db.example.com" and target.limits.port == 6543


@pytest.mark.parametrize("scheme", ["postgres", "postgresql+psycopg"])
def test_postgres_scheme_variants_and_default_port(scheme: str) -> None:
    target = jdbc_target(sql(f"{scheme}://u@h/d", connect_timeout_seconds=2.5))
    assert target.url == "jdbc:postgresql://h:5432/d"
    assert target.properties["connectTimeout"] == "3"  # whole seconds, rounded up
    assert "password" not in target.properties


@pytest.mark.parametrize("scheme", ["mysql", "mariadb", "mysql+pymysql"])
def test_mysql_and_mariadb_urls_use_the_mariadb_driver(scheme: str) -> None:
    target = jdbc_target(
        sql(f"{scheme}://root:pw@127.0.0.1/shop?charset=utf8mb4&read_timeout=2.5&connect_timeout=3")
    )
    # jdbc:mysql: Spark's MySQL dialect (backquotes); the flag lets the MariaDB driver take it.
    assert target.url == "jdbc:mysql://127.0.0.1:3306/shop?permitMysqlScheme"
    assert target.driver == "org.mariadb.jdbc.Driver"
    assert target.properties == {
        "user": "root",
        "password": "pw",
        "connectTimeout": "3000",  # milliseconds
        "socketTimeout": "2500",
    }


def test_ipv6_host_is_bracketed() -> None:
    assert jdbc_target(sql("postgresql://u@[::1]:5433/d")).url == "jdbc:postgresql://[::1]:5433/d"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("sqlite:///local.db", "duckdb engine"),
        ("postgresql://u@h/d?host=/tmp", "host"),
        ("mysql://u@h/d?charset=latin1", "latin1"),
    ],
)
def test_what_jdbc_cannot_express_is_refused(url: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as info:
        jdbc_target(sql(url))
    assert "extract.source.url" in str(info.value)


def test_the_label_masks_the_password() -> None:
    dataset = JdbcDataset.from_source(sql("postgresql://u:hunter2@h:5432/d"), key="id")
    assert "hunter2" not in dataset.label and "***" in dataset.label
    assert "hunter2" not in repr(dataset)


def test_a_writing_query_is_refused_before_spark_reads_it() -> None:
    source = SqlSource(
        type="sql",
        url="postgresql://u@h/d?connect_timeout=1",
        query='WITH d AS (SELECT 1) SELECT * FROM "t"',
    )
    JdbcDataset.from_source(source)  # a plain SELECT is fine
    with pytest.raises(ValueError, match="only read"):
        SqlSource(type="sql", url="postgresql://u@h/d", query="SELECT * INTO t2 FROM t")


# ---------------------------------------------------------------------- partitioning keys


def test_partitioning_keys_are_validated() -> None:
    url = "postgresql://u@h/d"
    ok = sql(url, partition_column="id", num_partitions=3, lower_bound=1, upper_bound=90)
    assert ok.partitioning_keys == (
        "partition_column",
        "num_partitions",
        "lower_bound",
        "upper_bound",
    )
    dated = sql(url, partition_column="day", num_partitions=2, lower_bound="2024-01-01")
    assert dated.lower_bound == dt.datetime(2024, 1, 1)
    for fields, words in [
        ({"num_partitions": 3}, "num_partitions needs partition_column"),
        ({"upper_bound": 3}, "upper_bound needs partition_column"),
        ({"partition_column": "id"}, "needs num_partitions"),
        ({"partition_column": "id", "num_partitions": 0}, "greater than or equal to 1"),
        (
            {"partition_column": "id", "num_partitions": 2, "lower_bound": 9, "upper_bound": 1},
            "above",
        ),
    ]:
        with pytest.raises(ValueError, match=words):
            sql(url, **fields)


def test_partitioning_keys_are_refused_on_duckdb(tmp_path: Path) -> None:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "lakegate.yaml").write_text("name: p\n")
    path = tmp_path / "pipelines" / "p.yaml"
    path.write_text(
        "pipeline: {name: p}\n"
        "extract:\n"
        "  source:\n"
        "    type: sql\n"
        "    url: postgresql://u@127.0.0.1:1/d\n"
        "    table: t\n"
        "    partition_column: id\n"
        "    num_partitions: 4\n"
        "load: {target: t}\n"
    )
    pipeline = load_pipeline(path)
    with pytest.raises(ConfigError) as info:
        plan_extract(
            load_project(tmp_path), pipeline, watermark=None, run_date=None, loaded_files={}
        )
    assert info.value.key == "extract.source.partition_column" or "partition_column" in str(
        info.value
    )
    assert "spark engine only" in str(info.value) and "p.yaml:7" in str(info.value)
    # On spark the same source plans a JdbcDataset, nothing read yet (port 1 is closed).
    plan = plan_extract(
        load_project(tmp_path),
        pipeline,
        watermark=None,
        run_date=None,
        loaded_files={},
        engine="spark",
    )
    assert isinstance(plan.dataset, JdbcDataset) and plan.pushed_down
