"""Breaking-change rules between two versions of a contract (``lakegate contract diff``).

:func:`diff_contracts` lists every difference between an OLD and a NEW contract,
classifies each under a rule as ``breaking``, ``non_breaking`` or ``info``
(non-breaking, documentation only), names the consumers it affects and computes the
smallest semantic-version bump the changes need. Rules ([seeds]: the seeds'
``versioning`` block and schema change management; [dbt]: dbt model contracts, whose
breaking changes include removing or modifying a column's constraint; [dcc]:
datacontract-cli's breaking rules; [lakegate]: our own):

========================  ============  ====================================================
rule                      default       when
========================  ============  ====================================================
removing_required_field   breaking      a required field is removed [seeds]
removing_optional_field   breaking      an optional field is removed: a query selecting it
                                        breaks, declared consumer or not [seeds]
renaming_field            breaking      a removed and an added field of the same type with
                                        similar names, the same description or the same
                                        constraints (:mod:`lakegate.contracts.diff_fields`)
                                        [seeds]
changing_field_type       breaking      another logical type (integer -> number too: float64
                                        cannot hold every int64), a narrower decimal, another
                                        timezone, another nested shape [seeds]
adding_required_field     breaking      producers must now send it [lakegate]
making_field_required     breaking      a nullable field becomes required [lakegate]
making_field_optional     breaking      a required field becomes nullable: consumers may now
                                        receive nulls [dbt: a removed not_null constraint;
                                        dcc: field_required_updated]
tightening_constraint     breaking      a higher minimum, lower maximum or maxLength, a
                                        pattern/format/enum/unique added, a pattern or any
                                        parameter without a direction changed, a critical
                                        check or SLA added or made stricter, a check made
                                        critical: yesterday's data can fail the gate [lakegate]
widening_range            breaking      a lower minimum, a higher maximum, an exclusive bound
                                        made inclusive, a critical range removed or made
                                        non-critical: consumers may now receive values
                                        outside the old range [dbt: a modified constraint;
                                        dcc: field_minimum/maximum_updated]
removing_enum_value       breaking      an enum or allowed_values value is removed [lakegate]
renaming_contract         breaking      contract.name changes [lakegate]
adding_optional_field     non_breaking  [seeds]
adding_enum_value         non_breaking  [seeds]
loosening_constraint      non_breaking  the reverse of tightening (but for ranges); a decimal
                                        widened so every old value fits (as Delta Lake's
                                        type widening) [lakegate]
changing_classification   non_breaking  pii or retention_days changes [lakegate]
changing_monitor          non_breaking  a warning/info check or SLA is added, removed or
                                        changed: it never stops a load [lakegate]
changing_description      info          descriptions, examples, defaults (the seeds list it
                                        as non-breaking; it needs only a patch) [seeds]
changing_metadata         info          id, owner, team, tags, status, consumers, versioning,
                                        change process, check_frequency [lakegate]
========================  ============  ====================================================

Constraints, quality SLAs and checks are compared as the checks they compile to,
normalised (:mod:`lakegate.contracts.diff_checks`): two spellings of one check (an SLA
and an explicit check, an ODCS export imported back) are no change.

NEW's ``versioning`` lists (OLD's when NEW has none) override the defaults: a rule
listed as breaking is breaking, one listed as non-breaking is non-breaking (an info
default stays info). Exception: removing or renaming a field that a declared consumer
lists in ``required_fields`` stays breaking. ``renaming_contract``,
``changing_classification``, ``changing_monitor`` and ``changing_metadata`` are not in
the contract vocabulary, so they keep their default.

Bumps: breaking needs major, non_breaking minor, info patch; while OLD's major is 0
(semver's initial development) breaking needs minor and the rest patch, as Cargo does.
From a pre-release to a later pre-release or the release of the same version any
change is accepted: semver promises nothing across pre-releases.

Reuse: :func:`classify_schema_change` runs the same field rules (added, removed,
renamed, retyped, nullability) on plain ``{name: Column(type, nullable)}`` or
``{name: (type, nullable)}`` mappings, e.g. for a source's schema drift at run time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from lakegate.checks.model import ColumnType
from lakegate.config.contract import Consumer, Contract, Versioning
from lakegate.contracts.compile import contract_checks
from lakegate.contracts.diff_checks import (
    compare_check_docs,
    compare_checks,
    compare_quality_extras,
    required_columns,
)
from lakegate.contracts.diff_fields import FieldShape, diff_fields, fields, renames
from lakegate.contracts.diff_gate import Found


class Kind(StrEnum):
    """How a change is classified; ``info`` is non-breaking and documentation only."""

    BREAKING = "breaking"
    NON_BREAKING = "non_breaking"
    INFO = "info"


class Bump(StrEnum):
    """A semantic-version bump, in increasing order."""

    NONE = "none"
    PATCH = "patch"
    MINOR = "minor"
    MAJOR = "major"

    @property
    def rank(self) -> int:
        return list(Bump).index(self)


DEFAULT_RULES: dict[str, Kind] = {
    "removing_required_field": Kind.BREAKING,
    "removing_optional_field": Kind.BREAKING,
    "renaming_field": Kind.BREAKING,
    "changing_field_type": Kind.BREAKING,
    "adding_required_field": Kind.BREAKING,
    "making_field_required": Kind.BREAKING,
    "making_field_optional": Kind.BREAKING,
    "tightening_constraint": Kind.BREAKING,
    "widening_range": Kind.BREAKING,
    "removing_enum_value": Kind.BREAKING,
    "renaming_contract": Kind.BREAKING,
    "adding_optional_field": Kind.NON_BREAKING,
    "adding_enum_value": Kind.NON_BREAKING,
    "loosening_constraint": Kind.NON_BREAKING,
    "changing_classification": Kind.NON_BREAKING,
    "changing_monitor": Kind.NON_BREAKING,
    "changing_description": Kind.INFO,
    "changing_metadata": Kind.INFO,
}
_TAKES_FIELD_AWAY = {"removing_required_field", "removing_optional_field", "renaming_field"}
# Why a rule that other tools may call non-breaking is breaking here, shown with its changes.
_EXPLAINED = {
    "making_field_optional": "consumers may now receive nulls; dbt model contracts (a removed "
    "not_null constraint) and datacontract-cli (field_required_updated) call it breaking",
    "widening_range": "consumers may now receive values outside the old range; dbt model "
    "contracts (a modified constraint) and datacontract-cli (field_minimum/maximum_updated) "
    "call it breaking",
}


@dataclass(frozen=True)
class Change:
    """One classified difference between two contracts (or two column lists).

    Attributes:
        rule: The rule it falls under (see the module docstring).
        kind: breaking, non_breaking or info.
        field: The column (NEW's name; ``a.b`` or ``a[]`` when nested), or None for
            a table-level change.
        what: What changed: ``field``, ``name``, ``type``, ``required``, ``maximum``,
            ``check <id> severity``, ``freshness SLA max_delay_minutes``, ...
        old: The old value (None when added), JSON-friendly.
        new: The new value (None when removed), JSON-friendly.
        consumers: Declared consumers (of OLD or NEW) affected: those listing the field
            (old or new name) in required_fields; all of them for a table-level change
            that is not info.
        note: Why the classification is what it is, when that is not obvious.
    """

    rule: str
    kind: Kind
    field: str | None
    what: str
    old: Any = None
    new: Any = None
    consumers: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class ContractDiff:
    """Every change from OLD to NEW and whether NEW's version is bumped enough.

    Attributes:
        old_version: OLD's ``contract.version``.
        new_version: NEW's ``contract.version``.
        changes: Contract metadata first, then fields (NEW's order, removed ones
            last), quality SLAs and table checks.
        required_bump: The smallest bump the changes need (none when identical).
        version_bump: The bump from old_version to new_version.
        bump_ok: False when NEW's version goes backwards or is not bumped enough.
        verdict: One sentence saying why, with the smallest acceptable version.
    """

    old_version: str
    new_version: str
    changes: tuple[Change, ...]
    required_bump: Bump
    version_bump: Bump
    bump_ok: bool
    verdict: str

    @property
    def breaking(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind is Kind.BREAKING)

    def to_dict(self) -> dict[str, Any]:
        """The diff as JSON-friendly data, with the number of changes of each kind."""
        counts = {k.value: sum(c.kind is k for c in self.changes) for k in Kind}
        return {**asdict(self), "counts": counts}


@dataclass(frozen=True)
class Column:
    """A column as schema drift sees it: a type (logical, or an engine's name) and nullability."""

    type: ColumnType | str
    nullable: bool = True


@dataclass(frozen=True)
class Policy:
    """Lakegate's default rules, overridden by a contract's ``versioning`` lists."""

    breaking: frozenset[str] = frozenset()
    non_breaking: frozenset[str] = frozenset()

    @classmethod
    def of(cls, v: Versioning | None) -> Policy:
        return cls(frozenset(v.breaking_changes), frozenset(v.non_breaking_changes)) if v else cls()

    def kind(self, rule: str) -> Kind:
        """The class of ``rule``; a rule listed both ways is breaking."""
        default = DEFAULT_RULES[rule]
        if rule in self.breaking:
            return Kind.BREAKING
        if rule in self.non_breaking and default is Kind.BREAKING:
            return Kind.NON_BREAKING
        return default


def _plain(value: Any) -> Any:
    """JSON-friendly: models dumped as written, enums as their values, types as text."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, StrEnum | ColumnType):
        return str(value)
    return value


def _compare_contract(old: Contract, new: Contract) -> list[Found]:
    m, n = old.contract, new.contract
    out = [Found("renaming_contract", None, "name", m.name, n.name)] if m.name != n.name else []
    for key in ("id", "owner", "team", "slack_channel", "domain", "status", "tags"):
        if getattr(m, key) != getattr(n, key):
            out.append(Found("changing_metadata", None, key, getattr(m, key), getattr(n, key)))
    if old.description != new.description:
        out.append(
            Found("changing_description", None, "description", old.description, new.description)
        )
    pairs: dict[str, tuple[BaseModel | None, BaseModel | None]] = {
        "versioning": (old.versioning, new.versioning)
    }
    pairs["change_process"] = (old.change_process, new.change_process)
    before, after = ({c.name: c for c in x.consumers} for x in (old, new))
    pairs |= {f"consumer {k}": (before.get(k), after.get(k)) for k in {**before, **after}}
    for what, (x, y) in pairs.items():
        if x != y:
            out.append(Found("changing_metadata", None, what, *_delta(x, y)))
    return out


def _delta(x: BaseModel | None, y: BaseModel | None) -> tuple[Any, Any]:
    """The keys whose values differ (or None for a side that is absent)."""
    a, b = _plain(x) or {}, _plain(y) or {}
    keys = [k for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)]
    return ({k: a.get(k) for k in keys} if x else None), (
        {k: b.get(k) for k in keys} if y else None
    )


# ----------------------------------------------------------------------------- classification


def _classify(
    found: Found, policy: Policy, consumers: Sequence[Consumer], never: set[str]
) -> Change:
    kind, note = policy.kind(found.rule), found.note
    if found.field is None:
        names = [c.name for c in consumers] if kind is not Kind.INFO else []
    else:
        tops = {re.split(r"[.\[]", f)[0] for f in (found.field, found.was) if f}
        names = [c.name for c in consumers if tops & set(c.required_fields)]
    names = list(dict.fromkeys(names))
    if found.rule in _TAKES_FIELD_AWAY and names and kind is not Kind.BREAKING:
        kind, note = Kind.BREAKING, f"breaking whatever versioning says: {', '.join(names)} need it"
    if found.rule in _EXPLAINED:
        why = _EXPLAINED[found.rule]
        if kind is Kind.BREAKING:
            why += f"; list {found.rule} in versioning.non_breaking_changes to allow it"
        else:
            why = f"non-breaking because versioning lists {found.rule}, though {why}"
        note = "; ".join(filter(None, [note, why]))
    if kind is Kind.BREAKING and found.field and re.split(r"[.\[]", found.field)[0] in never:
        note = "; ".join(filter(None, [note, "the old contract says breaking_change: never"]))
    old, new = _plain(found.old), _plain(found.new)
    return Change(found.rule, kind, found.field, found.what, old, new, tuple(names), note)


def classify_schema_change(
    old_columns: Mapping[str, Column | tuple[ColumnType | str, bool]],
    new_columns: Mapping[str, Column | tuple[ColumnType | str, bool]],
    *,
    versioning: Versioning | None = None,
    consumers: Sequence[Consumer] = (),
) -> list[Change]:
    """Classify a change of columns with the same field rules as :func:`diff_contracts`.

    Args:
        old_columns: ``{name: Column(type, nullable)}`` or ``{name: (type, nullable)}``
            in column order; a type is a :class:`ColumnType` or an engine's type name
            (compared as text, so only decimals between ColumnTypes can widen).
        new_columns: The same for the new columns.
        versioning: A contract's versioning lists, overriding the default rules.
        consumers: Declared consumers, to name the affected ones.

    Returns:
        Added, renamed, retyped and nullability changes in the new order, then removed
        columns.
    """

    def shapes(cols: Mapping[str, Column | tuple[ColumnType | str, bool]]) -> dict[str, FieldShape]:
        spec = {n: c if isinstance(c, Column) else Column(*c) for n, c in cols.items()}
        return {n: FieldShape(c.type, not c.nullable) for n, c in spec.items()}

    found = diff_fields(shapes(old_columns), shapes(new_columns))
    return [_classify(f, Policy.of(versioning), consumers, set()) for f in found]


# ----------------------------------------------------------------------------- versions

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def _semver(c: Contract) -> tuple[tuple[int, int, int], tuple[Any, ...]]:
    """The version's core and its precedence key after the core (a release sorts last)."""
    match = _SEMVER.match(c.contract.version)
    if match is None:
        message = f"version {c.contract.version!r} is not a semantic version (MAJOR.MINOR.PATCH)"
        raise c.error(message, ("contract", "version"))
    major, minor, patch, pre = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch)), (1,)
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (int(major), int(minor), int(patch)), (0, ids)


def _verdict(
    old: Contract, new: Contract, changes: Sequence[Change]
) -> tuple[Bump, Bump, bool, str]:
    (a, pre_a), (b, pre_b) = _semver(old), _semver(new)
    bumps = {Kind.BREAKING: Bump.MAJOR, Kind.NON_BREAKING: Bump.MINOR, Kind.INFO: Bump.PATCH}
    if a[0] == 0:  # initial development: breaking -> minor, the rest -> patch
        bumps = {Kind.BREAKING: Bump.MINOR, Kind.NON_BREAKING: Bump.PATCH, Kind.INFO: Bump.PATCH}
    needed = max((bumps[c.kind] for c in changes), key=lambda x: x.rank, default=Bump.NONE)
    got = (
        Bump.MAJOR
        if b[0] > a[0]
        else Bump.MINOR
        if b[:2] > a[:2]
        else Bump.PATCH
        if b > a
        else Bump.NONE
    )
    least = {
        Bump.MAJOR: f"{a[0] + 1}.0.0",
        Bump.MINOR: f"{a[0]}.{a[1] + 1}.0",
        Bump.PATCH: f"{a[0]}.{a[1]}.{a[2] + 1}",
    }.get(needed, old.contract.version)
    v1, v2 = old.contract.version, new.contract.version
    if (b, pre_b) < (a, pre_a):
        return needed, got, False, f"the version goes backwards ({v1} -> {v2}); use {least}"
    if pre_a != (1,) and b == a and (b, pre_b) > (a, pre_a):
        return needed, got, True, f"{v1} is a pre-release: {v2} may change anything"
    need = "no bump" if needed is Bump.NONE else f"a {needed} bump (at least {least})"
    is_bump = "the same version" if got is Bump.NONE else f"a {got} bump"
    return (
        needed,
        got,
        got.rank >= needed.rank,
        f"{v1} -> {v2} is {is_bump}; the changes need {need}",
    )


def diff_contracts(old: Contract, new: Contract) -> ContractDiff:
    """Every change from ``old`` to ``new``, classified, and the version verdict.

    Args:
        old: The published contract.
        new: The proposed one; its ``versioning`` lists (OLD's when it has none)
            override the default rules.

    Returns:
        The changes, the smallest bump they need and whether NEW's version has it.

    Raises:
        ConfigError: A ``contract.version`` is not a semantic version, or a contract's
            checks do not compile (positioned in its file when the contract was loaded
            from one).
    """
    never = {n for n, p in old.schema_.properties.items() if p.breaking_change == "never"}
    compiled = contract_checks(old), contract_checks(new)
    before = fields(old.schema_.properties, required_columns(compiled[0]))
    after = fields(new.schema_.properties, required_columns(compiled[1]))
    renamed = {was: now for now, was in renames(before, after).items()}
    gone = (
        {n for n in before if n not in after and n not in renamed},
        {n for n in after if n not in before and n not in renamed.values()},
    )
    found = _compare_contract(old, new)
    found += diff_fields(before, after)
    found += compare_checks(old, new, compiled, gone=gone, renamed=renamed)
    found += compare_quality_extras(old.quality, new.quality)
    found += compare_check_docs(old, new)
    policy, consumers = (
        Policy.of(new.versioning or old.versioning),
        [*old.consumers, *new.consumers],
    )
    changes = tuple(_classify(f, policy, consumers, never) for f in found)
    needed, got, ok, verdict = _verdict(old, new, changes)
    return ContractDiff(
        old.contract.version, new.contract.version, changes, needed, got, ok, verdict
    )
