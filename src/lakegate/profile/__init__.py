"""Profile a dataset and suggest a data contract from what was observed."""

from __future__ import annotations

from lakegate.profile.stats import (
    ColumnProfile,
    Profile,
    logical_type,
    profile_dataset,
    profile_table,
)
from lakegate.profile.suggest import suggest_contract, suggest_contract_yaml

__all__ = [
    "ColumnProfile",
    "Profile",
    "logical_type",
    "profile_dataset",
    "profile_table",
    "suggest_contract",
    "suggest_contract_yaml",
]
