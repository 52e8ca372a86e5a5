"""Schema drift at run time: the source's columns against the ones registered by the
last successful run (the seeds' "Schema Change Management").

Every run fingerprints the extract's columns (name and engine type, in order) and, when
they differ from the registered ones, classifies each change with the contract's
versioning vocabulary:

========================  ===========================  ==========================================
change                    rule                         breaking?
========================  ===========================  ==========================================
a column is added         ``adding_optional_field``    no, unless the contract's ``versioning``
                                                       lists that rule under ``breaking_changes``;
                                                       the Delta table gains the column (schema
                                                       merge)
a column is removed       ``removing_required_field``  yes (the contract requires it)
                          ``removing_optional_field``  yes unless the contract lists the rule as
                                                       non-breaking: the target and its readers
                                                       still have the column
a column's type changes   ``changing_field_type``      no when the contract types the column (the
                                                       load casts to the contract's type and its
                                                       type check gates every value); yes
                                                       otherwise (a Delta column keeps its type)
========================  ===========================  ==========================================

A breaking change stops the run before anything is written, naming each change and its
rule; ``lakegate run --accept-schema-change`` loads anyway and registers the new columns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from lakegate.config.contract import Contract

Columns = Sequence[tuple[str, str]]  # [(name, engine type)], in order


@dataclass(frozen=True)
class SchemaChange:
    """One difference between the registered source columns and the current ones.

    Attributes:
        kind: ``added``, ``removed`` or ``retyped``.
        column: The column's name.
        old_type: Its registered engine type (None when added).
        new_type: Its current engine type (None when removed).
        rule: The versioning rule it falls under (``adding_optional_field``, ...).
        breaking: Whether the run must stop.
        reason: Why it is (or is not) breaking.
    """

    kind: Literal["added", "removed", "retyped"]
    column: str
    old_type: str | None
    new_type: str | None
    rule: str
    breaking: bool
    reason: str

    def describe(self) -> str:
        """``added x VARCHAR``, ``removed y``, ``retyped z: INTEGER -> BIGINT``."""
        if self.kind == "added":
            return f"added {self.column} {self.new_type}"
        if self.kind == "removed":
            return f"removed {self.column}"
        return f"retyped {self.column}: {self.old_type} -> {self.new_type}"


def fingerprint(columns: Columns) -> str:
    """A short stable hash (16 hex digits) of the columns' names, types and order."""
    text = "\n".join(f"{name}\t{kind}" for name, kind in columns)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def classify_drift(old: Columns, new: Columns, contract: Contract | None) -> list[SchemaChange]:
    """Every change from ``old`` to ``new``, classified (see the module docstring).

    Args:
        old: The columns the last successful run registered.
        new: The extract's columns now.
        contract: The pipeline's contract (its schema and versioning), or None.

    Returns:
        Added columns (in the new order), then removed and retyped ones (in the old order).
    """
    before, after = dict(old), dict(new)
    props = contract.schema_.properties if contract else {}
    required = set(contract.schema_.required) if contract else set()
    versioning = contract.versioning if contract else None
    breaking = set(versioning.breaking_changes) if versioning else set()
    allowed = set(versioning.non_breaking_changes) if versioning else set()

    changes: list[SchemaChange] = []
    for name, kind in new:
        if name in before:
            continue
        stop = "adding_optional_field" in breaking
        why = (
            "the contract's versioning lists adding_optional_field as breaking"
            if stop
            else "additive: the target table gains the column"
        )
        changes.append(SchemaChange("added", name, None, kind, "adding_optional_field", stop, why))
    for name, kind in old:
        if name not in after:
            if name in required:
                rule, stop = "removing_required_field", "removing_required_field" not in allowed
                why = "the contract requires it"
            else:
                rule, stop = "removing_optional_field", "removing_optional_field" not in allowed
                why = "the target table and its readers still have it"
            if not stop:
                why = f"the contract's versioning lists {rule} as non-breaking"
            changes.append(SchemaChange("removed", name, kind, None, rule, stop, why))
        elif after[name] != kind:
            typed = name in props
            why = (
                "the load casts it to the contract's type and the type check gates each value"
                if typed
                else "not in the contract: the Delta column would keep its old type"
            )
            changes.append(
                SchemaChange(
                    "retyped", name, kind, after[name], "changing_field_type", not typed, why
                )
            )
    return changes


def drift_error(changes: Sequence[SchemaChange], registered_by: str | None) -> str:
    """The message of a run stopped by breaking changes: each change with its rule and
    reason in parentheses, ``removed tzone (removing_optional_field: ...)``.

    Parentheses, not brackets: the message is shown by rich (the run table, ``error:``
    lines), which reads ``[...]`` as markup and would drop the rule and reason.

    Args:
        changes: The classified changes (those not breaking are left out).
        registered_by: The run that registered the old columns, if known.
    """
    stops = [c for c in changes if c.breaking]
    listed = "; ".join(f"{c.describe()} ({c.rule}: {c.reason})" for c in stops)
    since = f" since run {registered_by}" if registered_by else ""
    return (
        f"breaking source schema change{since}: {listed}; nothing was written. Fix the source, "
        "or update the contract and run with --accept-schema-change"
    )
