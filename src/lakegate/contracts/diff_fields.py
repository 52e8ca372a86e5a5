"""The field rules of ``contract diff``: added, removed, renamed, retyped and nullability
changes, and a property's documentation and nested shape.

The constraints of top-level properties are compared as compiled checks
(:mod:`lakegate.contracts.diff_checks`); those of nested properties (``items``,
``properties``), which compile to no check, are compared here as written.

Renames: a removed and an added field (at the same level) are taken for a rename
only when their types are equal and one of these holds: their names are similar
(:data:`RENAME_SIMILARITY`, difflib's ratio, as in ``difflib.get_close_matches``), they
have the same description, or the same constraints and checks (none on both sides does
not count). A pair that matches none of them stays a removal and an addition; both are
breaking by default, so a rename missed costs no safety.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from lakegate.checks.model import ColumnType, LogicalType, Severity
from lakegate.config.contract import Property
from lakegate.contracts.compile import column_type
from lakegate.contracts.diff_gate import LOOSE, TYPE, Found, compare_gate

# The smallest difflib.SequenceMatcher ratio of two names taken as similar (get_close_matches
# uses 0.6 for suggestions; a rename claims more): tzone / t_zone is 0.91,
# tailnum / tail_number 0.78, tzone / wind_speed 0.27.
RENAME_SIMILARITY = 0.8


@dataclass(frozen=True)
class FieldShape:
    """A field as the diff sees it.

    Attributes:
        type: Its logical type, or an engine's type name (schema drift).
        required: Whether nulls fail a critical check.
        prop: The contract property, when the field comes from a contract.
    """

    type: ColumnType | str
    required: bool
    prop: Property | None = None


def fields(props: Mapping[str, Property], required: Collection[str] = ()) -> dict[str, FieldShape]:
    """``{name: FieldShape}`` of contract properties; ``required`` names the non-null ones."""
    return {n: FieldShape(column_type(p), n in required, p) for n, p in props.items()}


def diff_fields(
    old: Mapping[str, FieldShape], new: Mapping[str, FieldShape], at: str = ""
) -> list[Found]:
    """Every field change from ``old`` to ``new``: NEW's order, removed fields last.

    Args:
        old: The fields of OLD, in order.
        new: The fields of NEW.
        at: The prefix of nested names (``parent.``); empty at the top level, where
            constraints are left to the compiled checks.
    """
    renamed = renames(old, new)
    out: list[Found] = []
    for name, f in new.items():
        if name in old:
            out += compare_field(at + name, old[name], f, nested=bool(at))
        elif name in renamed:
            was = at + renamed[name]
            note = rename_reason(renamed[name], name, old[renamed[name]], f)
            out.append(Found("renaming_field", at + name, "name", was, at + name, note, was=was))
            out += compare_field(at + name, old[renamed[name]], f, nested=bool(at))
        else:
            rule = "adding_required_field" if f.required else "adding_optional_field"
            out.append(Found(rule, at + name, "field", None, typed(f)))
    for name, f in old.items():
        if name not in new and name not in renamed.values():
            rule = "removing_required_field" if f.required else "removing_optional_field"
            out.append(Found(rule, at + name, "field", typed(f), None))
    return out


def typed(f: FieldShape) -> str:
    """``string (required)``: a field as shown in an added or removed change."""
    return f"{f.type} ({'required' if f.required else 'optional'})"


def _description(f: FieldShape) -> str | None:
    return f.prop.description if f.prop else None


def _rules(f: FieldShape) -> tuple[dict[str, Any], list[Any]] | None:
    """The field's constraints and checks, or None when it has neither."""
    if f.prop is None or not (constraints(f.prop) or f.prop.checks):
        return None
    return constraints(f.prop), list(f.prop.checks)


def rename_reason(old: str, new: str, a: FieldShape, b: FieldShape) -> str | None:
    """Why a removed ``old`` and an added ``new`` field are one renamed field (None: they
    are not): the types are equal and the names similar, or the descriptions or the
    constraints are the same."""
    if a.type != b.type:
        return None
    ratio = difflib.SequenceMatcher(None, old, new).ratio()
    if ratio >= RENAME_SIMILARITY:
        return f"same type, similar names (ratio {ratio:.2f} >= {RENAME_SIMILARITY})"
    if _description(a) is not None and _description(a) == _description(b):
        return "same type and description"
    if _rules(a) is not None and _rules(a) == _rules(b):
        return "same type and constraints"
    return None


def renames(old: Mapping[str, FieldShape], new: Mapping[str, FieldShape]) -> dict[str, str]:
    """``{new name: old name}`` for the removed and added fields taken for renames (see the
    module doc), the most similar pairs first."""
    scored = []
    for r in (n for n in old if n not in new):
        for a in (n for n in new if n not in old):
            if rename_reason(r, a, old[r], new[a]) is not None:
                same_doc = _description(old[r]) is not None and (
                    _description(old[r]) == _description(new[a])
                )
                ratio = difflib.SequenceMatcher(None, r, a).ratio()
                scored.append(((same_doc, ratio), r, a))
    pairs: dict[str, str] = {}
    for _, r, a in sorted(scored, key=lambda s: s[0], reverse=True):
        if a not in pairs and r not in pairs.values():
            pairs[a] = r
    return pairs


def _widens(old: ColumnType | str, new: ColumnType | str) -> bool:
    """True when both are decimals and ``new`` holds every value of ``old``."""
    if not (isinstance(old, ColumnType) and isinstance(new, ColumnType)):
        return False
    if {old.name, new.name} != {LogicalType.DECIMAL}:
        return False
    # Unset precision and scale are read as arrow_schema() does: decimal128(38, 9).
    (p1, s1), (p2, s2) = (
        (t.precision or 38, 9 if t.scale is None else t.scale) for t in (old, new)
    )
    return s2 >= s1 and p2 - s2 >= p1 - s1


def compare_field(name: str, a: FieldShape, b: FieldShape, *, nested: bool) -> list[Found]:
    """The changes of one field kept (or renamed) from OLD to NEW.

    Args:
        name: Its name in NEW (with its parents' when nested).
        a: The field in OLD.
        b: The field in NEW.
        nested: True below the top level, where constraints are compared as written.
    """
    out: list[Found] = []
    if a.type != b.type:
        widens = _widens(a.type, b.type)
        note = "every old value fits" if widens else None
        out.append(Found(LOOSE if widens else TYPE, name, "type", a.type, b.type, note))
    if a.required != b.required:
        rule = "making_field_required" if b.required else "making_field_optional"
        out.append(Found(rule, name, "required", a.required, b.required))
    if a.prop is not None and b.prop is not None:
        out += _compare_property(name, a.prop, b.prop, nested)
    return out


def constraints(p: Property) -> dict[str, Any]:
    """A property's constraints as written (``minimum``, ``pattern``, ``enum``, ...)."""
    values = {
        "minimum": p.minimum,
        "exclusiveMinimum": p.exclusive_minimum,
        "maximum": p.maximum,
        "exclusiveMaximum": p.exclusive_maximum,
        "minLength": p.min_length,
        "maxLength": p.max_length,
        "pattern": p.pattern,
        "format": p.format if p.type is LogicalType.STRING else None,  # only checked there
        "unique": True if p.unique else None,
        "enum": p.enum,
    }
    return {k: v for k, v in values.items() if v is not None}


_PROPERTY_DOCS = {
    "timezone": TYPE,
    "pii": "changing_classification",
    "retention_days": "changing_classification",
    "description": "changing_description",
    "examples": "changing_description",
    "default": "changing_description",
    "breaking_change": "changing_metadata",
}


def _compare_property(name: str, p: Property, q: Property, nested: bool) -> list[Found]:
    out: list[Found] = []
    if nested:
        crit = Severity.CRITICAL
        out += compare_gate(name, "", constraints(p), constraints(q), crit, crit, value_range=True)
    for key, rule in _PROPERTY_DOCS.items():
        if getattr(p, key) != getattr(q, key):
            out.append(Found(rule, name, key, getattr(p, key), getattr(q, key)))
    if p.format != q.format and p.type is not LogicalType.STRING:
        out.append(Found("changing_description", name, "format", p.format, q.format))
    if p.items and q.items:
        items = [FieldShape(column_type(i), False, i) for i in (p.items, q.items)]
        out += compare_field(f"{name}[]", *items, nested=True)
    elif p.items != q.items:
        out.append(Found(TYPE, name, "items", p.items, q.items))
    if p.properties is not None and q.properties is not None:
        out += diff_fields(fields(p.properties), fields(q.properties), f"{name}.")
    elif p.properties != q.properties:
        out.append(Found(TYPE, name, "properties", p.properties, q.properties))
    return out
