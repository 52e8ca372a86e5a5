"""The gate rules of ``contract diff``, on compiled checks.

A contract can say one thing in several ways: ``unique: true`` or
``quality.uniqueness: {x: true}``, ``quality.uniqueness.combination`` or an explicit
``unique_combination`` check, ``enum`` or an ``accepted_values`` check, a completeness SLA
or ``null_rate`` checks (an ODCS export and import turns the one into the other). The
diff therefore compares what both versions compile to
(:func:`lakegate.contracts.compile.contract_checks`), normalised:

1. Checks a field owns (its type check, and a critical ``not_null`` without ``mostly``:
   the field is required) are left to the field rules.
2. Checks on a field removed or added are left to that field's change; an OLD check on a
   renamed field is read with the field's new name.
3. Checks equal in kind, columns, parameters and severity are no change, whatever
   their ids or where they were written.
4. The rest are paired by kind and columns (by id first, then in order) and their
   parameters and severities compared (:func:`lakegate.contracts.diff_gate.compare_gate`);
   unpaired ones are added or removed.

What compiles to no check is compared as written: a freshness SLA's
``check_frequency``, a volume SLA's ``anomaly_threshold`` (read by ``lakegate status``),
an explicit check's ``description``.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence, Set
from typing import Any

from lakegate.checks import model as m
from lakegate.checks.results import to_jsonable
from lakegate.config.contract import CheckSpec, Contract, Property, Quality
from lakegate.contracts.compile import column_type
from lakegate.contracts.diff_gate import MONITOR, Found, compare_gate


def required_columns(checks: Sequence[m.Check]) -> set[str]:
    """The columns a critical ``not_null`` without ``mostly`` makes required."""
    return {
        c.column
        for c in checks
        if isinstance(c, m.NotNull) and c.severity is m.Severity.CRITICAL and c.mostly == 1
    }


def _field_owned(check: m.Check, props: Mapping[str, Property]) -> bool:
    plain = check.severity is m.Severity.CRITICAL and getattr(check, "mostly", 1.0) == 1
    if isinstance(check, m.NotNull):
        return plain
    if isinstance(check, m.TypeCheck) and check.column in props:
        return plain and check.type == column_type(props[check.column])
    return False


_Key = tuple[str, tuple[str, ...]]
_Signature = tuple[str, tuple[str, ...], str, str]  # kind, columns, parameters, severity


class _Item:
    """A compiled check, normalised: its kind and columns (OLD's renamed), its parameters
    as JSON-friendly data, its severity."""

    def __init__(self, check: m.Check, columns: tuple[str, ...]) -> None:
        self.check, self.columns = check, columns
        self.params: dict[str, Any] = to_jsonable(check.threshold())
        self.key: _Key = (check.kind, columns)
        params = json.dumps(self.params, sort_keys=True, default=str)
        self.signature: _Signature = (check.kind, columns, params, check.severity.value)


def _items(
    checks: Sequence[m.Check],
    props: Mapping[str, Property],
    gone: Set[str],
    renamed: Mapping[str, str],
) -> list[_Item]:
    out = []
    for check in checks:
        if _field_owned(check, props) or gone & set(check.columns):
            continue
        out.append(_Item(check, tuple(renamed.get(c, c) for c in check.columns)))
    return out


def _pairs(old: list[_Item], new: list[_Item]) -> list[tuple[_Item | None, _Item | None]]:
    """OLD and NEW checks of one kind and columns, paired by id first, then in order."""
    pairs: list[tuple[_Item | None, _Item | None]] = []
    by_id = {i.check.id: i for i in new}
    rest_old = []
    for item in old:
        twin = by_id.pop(item.check.id, None)
        if twin is None:
            rest_old.append(item)
        else:
            pairs.append((item, twin))
    rest_new = [i for i in new if i.check.id in by_id]
    for k in range(max(len(rest_old), len(rest_new))):
        a = rest_old[k] if k < len(rest_old) else None
        b = rest_new[k] if k < len(rest_new) else None
        pairs.append((a, b))
    return pairs


def compare_checks(
    old: Contract,
    new: Contract,
    compiled: tuple[Sequence[m.Check], Sequence[m.Check]],
    *,
    gone: tuple[Set[str], Set[str]],
    renamed: Mapping[str, str],
) -> list[Found]:
    """The changes between the compiled checks of two contracts (see the module doc).

    Args:
        old: OLD, for its properties.
        new: NEW, for its properties.
        compiled: ``(contract_checks(old), contract_checks(new))``.
        gone: ``(fields only OLD has, fields only NEW has)``: their checks are left out.
        renamed: ``{old name: new name}`` of renamed fields.

    Returns:
        The changes in NEW's check order, then the checks only OLD has.
    """
    a = _items(compiled[0], old.schema_.properties, gone[0], renamed)
    b = _items(compiled[1], new.schema_.properties, gone[1], {})
    same = Counter(i.signature for i in a) & Counter(i.signature for i in b)
    left: list[list[_Item]] = [[], []]
    for side, items in zip(left, (a, b), strict=True):
        seen: Counter[_Signature] = Counter()
        for item in items:
            seen[item.signature] += 1
            if seen[item.signature] > same[item.signature]:
                side.append(item)
    groups: dict[_Key, tuple[list[_Item], list[_Item]]] = defaultdict(lambda: ([], []))
    for item in left[1]:
        groups[item.key][1].append(item)
    for item in left[0]:
        groups[item.key][0].append(item)
    out: list[Found] = []
    for olds, news in groups.values():
        for x, y in _pairs(olds, news):
            shown = y or x
            assert shown is not None
            columns = shown.columns
            field = columns[0] if len(columns) == 1 else None
            out += compare_gate(
                field,
                f"check {shown.check.id}",
                x.params if x else None,
                y.params if y else None,
                x.check.severity if x else None,
                y.check.severity if y else None,
                value_range=shown.check.kind == "range",
            )
    return out


def _specs(c: Contract) -> dict[str, tuple[str | None, CheckSpec]]:
    """Explicit checks by id: given, else ``<column>.<kind>`` or ``<kind>``, then ``#2``..."""
    found: list[tuple[str | None, CheckSpec]] = []
    for name, prop in c.schema_.properties.items():
        found += [(name, spec) for spec in prop.checks]
    found += [(spec.params.get("column"), spec) for spec in c.checks]
    items: dict[str, tuple[str | None, CheckSpec]] = {}
    for column, spec in found:
        key = base = spec.id or (f"{column}.{spec.kind}" if column else spec.kind)
        n = 1
        while key in items:
            n += 1
            key = f"{base}#{n}"
        items[key] = (column, spec)
    return items


def compare_check_docs(old: Contract, new: Contract) -> list[Found]:
    """Description changes of explicit checks (a description compiles to nothing)."""
    a, b = _specs(old), _specs(new)
    out = []
    for key in dict.fromkeys([*a, *b]):
        x, y = a.get(key), b.get(key)
        if x and y and x[1].description != y[1].description:
            what = f"check {key} description"
            out.append(
                Found("changing_description", y[0], what, x[1].description, y[1].description)
            )
    return out


def compare_quality_extras(old: Quality, new: Quality) -> list[Found]:
    """Changes of the SLA settings that compile to no check."""
    out = []
    a = old.freshness.check_frequency if old.freshness else None
    b = new.freshness.check_frequency if new.freshness else None
    if a != b:
        out.append(Found("changing_metadata", None, "freshness SLA check_frequency", a, b))
    x = old.volume.anomaly_threshold if old.volume else None
    y = new.volume.anomaly_threshold if new.volume else None
    if x != y:
        note = "lakegate status alerts on it; it stops no load"
        out.append(Found(MONITOR, None, "volume SLA anomaly_threshold", x, y, note))
    return out
