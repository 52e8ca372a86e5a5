"""``--output`` paths: every command that writes a file creates a missing folder, and a path
that cannot be written exits 2 with a message naming it (never a traceback)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import FLIGHTS_CONTRACT, lakegate

CONTRACT = """\
contract: {name: people, version: 1.0.0}
schema:
  required: [id]
  properties:
    id: {type: integer, unique: true}
    age: {type: integer, minimum: 0, maximum: 130}
"""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A dataset that passes its contract, the contract, and an ODCS export of flights."""
    tmp_path = tmp_path_factory.mktemp("inputs")
    data = tmp_path / "people.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3], "age": [30, 40, None]}), data)
    contract = tmp_path / "people.yaml"
    contract.write_text(CONTRACT)
    odcs = tmp_path / "flights.odcs.yaml"
    proc = lakegate("contract", "export", str(FLIGHTS_CONTRACT), "-f", "odcs", "-o", str(odcs))
    assert proc.returncode == 0, proc.stderr
    return {"data": data, "contract": contract, "odcs": odcs}


# Each command that writes a file: its arguments before --output, and the file name.
COMMANDS = {
    "validate-json": (["validate", "-i", "{data}", "-c", "{contract}", "-f", "json"], "r.json"),
    "validate-html": (["validate", "-i", "{data}", "-c", "{contract}", "-f", "html"], "r.html"),
    "validate-table": (["validate", "-i", "{data}", "-c", "{contract}"], "r.txt"),
    "export-odcs": (["contract", "export", "{contract}", "-f", "odcs"], "c.odcs.yaml"),
    "export-jsonschema": (["contract", "export", "{contract}", "-f", "jsonschema"], "c.json"),
    "export-dbt-folder": (["contract", "export", "{contract}", "-f", "dbt"], "dbt"),
    "import-odcs": (["contract", "import", "{odcs}", "--from", "odcs"], "flights.yaml"),
    "contract-schema": (["contract", "schema"], "contract.schema.json"),
}


def _args(name: str, inputs: dict[str, Path], output: Path) -> list[str]:
    args, _ = COMMANDS[name]
    return [a.format(**{k: str(v) for k, v in inputs.items()}) for a in args] + ["-o", str(output)]


@pytest.mark.parametrize("name", COMMANDS)
def test_a_missing_output_folder_is_created(
    name: str, inputs: dict[str, Path], tmp_path: Path
) -> None:
    target = tmp_path / "new" / "nested" / COMMANDS[name][1]
    proc = lakegate(*_args(name, inputs, target))
    assert proc.returncode == 0, proc.stderr
    assert target.is_dir() if name == "export-dbt-folder" else target.is_file()
    assert f"wrote {target}" in proc.stderr.replace("\n", "")


@pytest.mark.parametrize("name", COMMANDS)
def test_an_output_under_a_regular_file_exits_2_naming_it(
    name: str, inputs: dict[str, Path], tmp_path: Path
) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("a file, not a folder\n")
    target = blocker / "sub" / COMMANDS[name][1]
    proc = lakegate(*_args(name, inputs, target))
    assert proc.returncode == 2, proc.stderr
    message = " ".join(proc.stderr.split())
    assert f"error: --output {target}: {blocker} is a file, not a folder" in message
    assert "Traceback" not in proc.stderr


def test_an_output_that_is_a_folder_exits_2(inputs: dict[str, Path], tmp_path: Path) -> None:
    proc = lakegate(*_args("validate-json", inputs, tmp_path))
    assert proc.returncode == 2 and "is a folder" in proc.stderr
    assert "Traceback" not in proc.stderr
