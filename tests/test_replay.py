"""`lakegate dlq replay`: quarantined rows re-gated with the current contract, exactly once."""

from __future__ import annotations

import json

import pytest

from lakegate.config.pipeline import load_pipeline
from lakegate.config.project import load_project
from lakegate.errors import UserInputError
from lakegate.runner import REPLAY_KILL_POINTS, Replay, RunOptions, run_pipeline
from lakegate.state.store import StateStore
from tests.conftest import lakegate, lakegate_killed_at
from tests.test_runner import (
    CONTRACT,
    DUPLICATE_KEYS_SQL,
    cap_dep_delay,
    dead_letters,
    pipeline_yaml,
    run,
    source_rows,
    table_rows,
)
from tests.test_runner import (
    project as project,  # a fixture
)

PENDING = "SELECT count(*) FROM d WHERE replayed_in IS NULL"


def replay(root, path, **filters):
    options = RunOptions(replay=Replay(**filters))
    return run_pipeline(load_project(root), load_pipeline(path), options)


def set_cap(root, maximum: int) -> None:
    (root / "contracts" / "flights.yaml").write_text(
        CONTRACT.replace("maximum: 1440", f"maximum: {maximum}")
    )


def test_a_contract_fix_then_replay_loads_the_rows_once(project) -> None:
    root, write = project
    cap_dep_delay(root)
    path = write(pipeline_yaml())
    first = run(root, path)
    total, bad = source_rows(
        root, "SELECT count(*), count(*) FILTER (WHERE dep_delay > 300) FROM s"
    )[0]
    assert first.ok and first.record.rows_rejected == bad > 0
    assert table_rows(root)[0][0] == total - bad

    set_cap(root, 1440)  # the fix
    replayed = replay(root, path)
    assert replayed.ok, replayed.record.error_message
    r = replayed.record
    assert r.run_id.startswith("replay-")
    assert (r.rows_extracted, r.rows_loaded, r.rows_rejected) == (bad, bad, 0)
    assert table_rows(root)[0][0] == total
    assert table_rows(root, DUPLICATE_KEYS_SQL)[0][0] == 0
    # The replayed rows are the source's rows, value for value (types survived the JSON).
    differing = table_rows(
        root,
        f"SELECT count(*) FROM (SELECT * EXCLUDE (day) FROM t WHERE dep_delay > 300 "
        f"EXCEPT SELECT * EXCLUDE (day) FROM read_parquet('{root / 'data' / '*.parquet'}'))",
    )[0][0]
    assert differing == 0
    assert dead_letters(root, "SELECT count(*) FROM d")[0][0] == 0
    # The watermark did not move; a second replay finds nothing and changes nothing.
    with StateStore(load_project(root).state_url) as state:
        assert state.get_watermark("flights_daily").version == 2
    again = replay(root, path)
    assert again.ok and again.record.rows_extracted == 0
    assert table_rows(root)[0][0] == total


def test_rows_that_still_fail_stay_quarantined(project) -> None:
    root, write = project
    set_cap(root, 200)
    path = write(pipeline_yaml())
    assert run(root, path).ok
    over_200, over_400 = source_rows(
        root,
        "SELECT count(*) FILTER (WHERE dep_delay > 200), count(*) FILTER (WHERE dep_delay > 400) FROM s",
    )[0]
    assert over_200 > over_400 > 0
    set_cap(root, 400)  # a partial fix
    result = run_pipeline(
        load_project(root), load_pipeline(path), RunOptions(dry_run=True, replay=Replay())
    )
    assert result.ok and result.record.rows_loaded == over_200 - over_400
    assert dead_letters(root, PENDING)[0][0] == over_200  # the dry run changed nothing
    result = replay(root, path, check="dep_delay.range")
    assert result.ok, result.record.error_message
    assert result.record.rows_loaded == over_200 - over_400
    assert result.record.rows_rejected == over_400
    left = dead_letters(
        root, "SELECT count(*), min(json_extract(record, '$.dep_delay')::INT) FROM d"
    )
    assert left[0] == (
        over_400,
        source_rows(root, "SELECT min(dep_delay) FROM s WHERE dep_delay > 400")[0][0],
    )
    # A filter that selects nothing replays nothing.
    assert replay(root, path, run_id="no-such-run").record.rows_extracted == 0


@pytest.mark.parametrize("step", REPLAY_KILL_POINTS)
def test_a_replay_killed_at_any_step_loads_each_row_exactly_once(project, step: str) -> None:
    root, write = project
    cap_dep_delay(root)
    path = write(pipeline_yaml())
    assert run(root, path).ok
    set_cap(root, 1440)
    lakegate_killed_at(step, "dlq", "replay", "flights", cwd=root)
    # Whatever the next run is, it settles the dead-letter table first.
    proc = lakegate("dlq", "replay", "flights", "--format", "json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    total = source_rows(root, "SELECT count(*) FROM s")[0][0]
    assert table_rows(root)[0][0] == total
    assert table_rows(root, DUPLICATE_KEYS_SQL)[0][0] == 0
    assert dead_letters(root, "SELECT count(*) FROM d")[0][0] == 0


def test_replay_refuses_overwrite_targets_and_unknown_targets(project) -> None:
    root, write = project
    cap_dep_delay(root)
    path = write(
        pipeline_yaml(
            load="target: flights\n  strategy: partition_overwrite\n  partition_by: [day]"
        )
    )
    assert run(root, path).ok
    with pytest.raises(UserInputError, match="re-run the pipeline"):
        replay(root, path)
    proc = lakegate("dlq", "replay", "flights", cwd=root)
    assert proc.returncode == 2 and "partition_overwrite" in proc.stderr
    proc = lakegate("dlq", "replay", "planes", cwd=root)
    assert proc.returncode == 2 and "0 pipelines" in proc.stderr


def test_dlq_replay_cli_reports_what_stays(project) -> None:
    root, write = project
    set_cap(root, 200)
    write(pipeline_yaml())
    assert lakegate("run", "pipelines/flights.yaml", cwd=root).returncode == 0
    set_cap(root, 400)
    proc = lakegate("dlq", "replay", "flights", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert "still fail and stay in the dead-letter table" in proc.stdout
    shown = json.loads(lakegate("dlq", "show", "flights", "--format", "json", cwd=root).stdout)
    assert shown["total"] == source_rows(root, "SELECT count(*) FROM s WHERE dep_delay > 400")[0][0]
