"""How one check-like item of a contract compares between two versions (for ``contract diff``).

A check-like item is a compiled check, or the constraints of a nested property: a
mapping of parameters and a severity. A critical item gates loads, so a stricter one
is ``tightening_constraint`` (breaking: yesterday's data can fail) and a looser one
``loosening_constraint``; a lower minimum or a higher maximum of a value range is
``widening_range`` (breaking by default: consumers may now receive values they never
did; dbt model contracts count a modified constraint as breaking, datacontract-cli
``field_minimum_updated``/``field_maximum_updated``); a warning or info item never stops
a load: ``changing_monitor``. The rules themselves are in :mod:`lakegate.contracts.diff`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lakegate.checks.model import Severity
from lakegate.config.durations import parse_duration

TIGHT, LOOSE, MONITOR = "tightening_constraint", "loosening_constraint", "changing_monitor"
WIDEN, TYPE = "widening_range", "changing_field_type"
# Parameters whose larger (HIGHER) or smaller (LOWER) value is stricter.
HIGHER = {"minimum", "exclusiveMinimum", "minLength", "min", "min_records", "mostly", "mean_min"}
HIGHER |= {"stddev_min"}
LOWER = {"maximum", "exclusiveMaximum", "maxLength", "max", "max_records", "max_age", "max_share"}
LOWER |= {"max_delay_minutes", "max_change", "mean_max", "tolerance", "anomaly_threshold"}
LOWER |= {"required_fields_null_rate", "optional_fields_null_rate", "max_rate"}
LOWER |= {"max_age_seconds", "stddev_max"}
ENUM_KEYS = {"enum", "allowed_values", "values"}
# The bounds of a value range: loosening one of them widens the range.
RANGE_KEYS = {"min", "max", "strict_min", "strict_max"}
RANGE_KEYS |= {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
PARAM_DEFAULTS = {"mostly": 1.0}


@dataclass(frozen=True)
class Found:
    """A difference found, before its rule is looked up in a policy.

    Attributes:
        rule: The rule it falls under (a key of ``lakegate.contracts.diff.DEFAULT_RULES``).
        field: The column (``a.b`` or ``a[]`` when nested), or None for the table.
        what: What changed (``type``, ``check year.range max``, ...).
        old: The old value (None when added).
        new: The new value (None when removed).
        note: Why the classification is what it is, when that is not obvious.
        was: A renamed field's old name.
    """

    rule: str
    field: str | None
    what: str
    old: Any = None
    new: Any = None
    note: str | None = None
    was: str | None = None


def compare_gate(
    field: str | None,
    what: str,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    old_sev: Severity | None,
    new_sev: Severity | None,
    *,
    value_range: bool = False,
) -> list[Found]:
    """The changes of one check-like item between two versions.

    Args:
        field: The column it is about, or None.
        what: Its label in the changes (``check <id>``); parameters are appended.
        old: Its parameters in OLD (``{}`` when it has none), None when absent.
        new: The same in NEW.
        old_sev: Its severity in OLD (None when absent); critical gates loads.
        new_sev: The same in NEW.
        value_range: The item bounds values (a range check, or a property's constraints):
            loosening one of its bounds (:data:`RANGE_KEYS`), or removing the gate, is
            ``widening_range`` rather than ``loosening_constraint``.

    Returns:
        One change per differing parameter (enum values one by one), plus one for the
        severity; one change when the item is added or removed.
    """
    gate_old, gate_new = old_sev is Severity.CRITICAL, new_sev is Severity.CRITICAL
    loose = WIDEN if value_range else LOOSE
    if old is None and new is None:
        return []
    if old is None or new is None:
        rule = (TIGHT if gate_new else MONITOR) if old is None else (loose if gate_old else MONITOR)
        shown = [None if p is None else p or True for p in (old, new)]  # {} (unique): True
        return [Found(rule, field, what, shown[0], shown[1])]
    out: list[Found] = []
    if old_sev != new_sev:
        rule = TIGHT if gate_new else loose if gate_old else MONITOR
        out.append(Found(rule, field, f"{what} severity".strip(), old_sev, new_sev))
    for key in dict.fromkeys([*old, *new]):
        a, b = old.get(key, PARAM_DEFAULTS.get(key)), new.get(key, PARAM_DEFAULTS.get(key))
        label = f"{what} {key}".strip()
        looser = WIDEN if value_range and key in RANGE_KEYS else LOOSE
        if a == b:
            continue
        if not (gate_old and gate_new):
            out.append(Found(MONITOR, field, label, a, b))
        elif key in ENUM_KEYS and a is not None and b is not None:
            out += [Found("removing_enum_value", field, label, v, None) for v in a if v not in b]
            out += [Found("adding_enum_value", field, label, None, v) for v in b if v not in a]
        elif a is None or b is None:
            out.append(Found(TIGHT if a is None else looser, field, label, a, b))
        elif (is_stricter := stricter(key, a, b)) is None:
            note = "cannot tell whether the new value accepts all the old one did"
            out.append(Found(TIGHT, field, label, a, b, note))
        else:
            out.append(Found(TIGHT if is_stricter else looser, field, label, a, b))
    return out


def stricter(key: str, a: Any, b: Any) -> bool | None:
    """Whether ``b`` is stricter than ``a`` for parameter ``key``; None when the key has no
    direction (a pattern, an expression) or the values do not compare."""
    if key not in HIGHER and key not in LOWER:
        return None
    try:
        if key == "max_age":
            a, b = parse_duration(a), parse_duration(b)
        return bool(b > a) if key in HIGHER else bool(b < a)
    except (TypeError, ValueError):
        return None
