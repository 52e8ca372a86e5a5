"""Fixtures for the check-kind tests: a DuckDB engine and a loader for Parquet data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakegate.engines import Engine, create_engine
from lakegate.sources.files import resolve_input

Load = Callable[..., str]


@pytest.fixture
def engine() -> Iterator[Engine]:
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
