"""Fixtures for the check-kind tests: an engine and a loader for Parquet data.

The engine is DuckDB, or Spark with ``pytest --engine spark`` (``make test-spark`` runs the
check-kind suite that way): one behaviour suite over every engine, as narwhals and ibis run
theirs. A known gap is an explicit ``spark_gap`` marker naming the error, never a skip::

    @pytest.mark.spark_gap(EngineError, match="DATETIME_FIELD_OUT_OF_BOUNDS", reason="...")

On Spark such a test still runs, and passes only if it raises that error (an instance of
the class whose message matches the regular expression): a gap that closes, or fails in
another way, shows up as a failure. On DuckDB the marker does nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakegate.engines import Engine, create_engine
from lakegate.sources.files import resolve_input

Load = Callable[..., str]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "spark_gap(error, match, reason): on --engine spark the test must raise `error` "
        "with a message matching `match` (a known gap of the Spark engine)",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Run a ``spark_gap`` test on Spark and demand the error its marker names."""
    marker = item.get_closest_marker("spark_gap")
    if marker is None or item.config.getoption("engine") != "spark":
        return (yield)
    error: type[BaseException] = marker.args[0]
    match: str = marker.kwargs["match"]
    reason: str = marker.kwargs["reason"]
    try:
        yield
    except error as exc:
        if re.search(match, str(exc)) is None:
            raise
        return None
    pytest.fail(
        f"spark_gap ({reason}): expected {error.__name__} matching {match!r}, but the test "
        "passed on Spark: remove the marker",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def _spark_engine(request: pytest.FixtureRequest) -> Iterator[Engine | None]:
    if request.config.getoption("engine") != "spark":
        yield None
        return
    eng = create_engine("spark", master="local[2]", conf={"spark.sql.shuffle.partitions": "2"})
    yield eng
    eng.session.stop()  # type: ignore[attr-defined]


@pytest.fixture
def engine(request: pytest.FixtureRequest, _spark_engine: Engine | None) -> Iterator[Engine]:
    if _spark_engine is not None:
        # A per-test engine on the shared session: close() drops its views, not the session.
        eng = create_engine("spark", session=_spark_engine.session)  # type: ignore[attr-defined]
        yield eng
        eng.close()
        return
    eng = create_engine()
    yield eng
    eng.close()


@pytest.fixture
def load(engine: Engine, tmp_path: Path) -> Load:
    """``load(data, name="dataset")`` writes ``data`` (a pyarrow Table or a dict of
    columns) to a Parquet file, registers it on the engine and returns ``name``."""

    def _load(data: pa.Table | dict[str, Any], name: str = "dataset") -> str:
        table = data if isinstance(data, pa.Table) else pa.table(data)
        path = tmp_path / f"{name}.parquet"
        pq.write_table(table, path)
        engine.register(name, resolve_input(path))
        return name

    return _load
