"""Pydantic models of a data contract file (the seeds' contract definition).

A contract has ``contract`` metadata, a JSON-Schema-like ``schema`` (``type:
object``, ``required``, ``properties``), ``quality`` SLAs (freshness,
completeness, uniqueness, validity, volume), ``versioning`` rules,
``consumers``, ``change_process`` and optional explicit ``checks``, per column
or for the whole table, of the form ``{type, params, severity}``.

Every model forbids unknown keys: a typo must never make a check pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    model_validator,
)

from lakegate.checks.model import LogicalType, Severity
from lakegate.config.yamlfile import Located, load_yaml, validate_model
from lakegate.errors import ConfigError


class Strict(BaseModel):
    """Base for every contract model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


CHECK_TYPES = (
    "not_null",
    "type",
    "accepted_values",
    "range",
    "regex",
    "format",
    "length",
    "expression",
    "unique",
    "unique_combination",
    "relationships",
    "row_count",
    "null_rate",
    "freshness",
    "distribution",
    "custom_sql",
    "volume_anomaly",
    "reconciliation",
)
# The seeds' template names: enum -> accepted_values, custom -> custom_sql.
CHECK_TYPE_ALIASES = {"enum": "accepted_values", "custom": "custom_sql"}


class CheckSpec(Strict):
    """An explicit check: ``{type, params, severity}`` (seeds' Data Contract Template).

    ``params`` are validated per type when the contract is compiled to checks.
    """

    type: Literal[CHECK_TYPES + tuple(CHECK_TYPE_ALIASES)]  # type: ignore[valid-type]
    params: dict[str, Any] = Field(default_factory=dict)
    severity: Severity = Severity.CRITICAL
    id: str | None = Field(default=None, description="Defaults to '<column>.<type>' or '<type>'.")
    description: str | None = None

    @property
    def kind(self) -> str:
        return CHECK_TYPE_ALIASES.get(self.type, self.type)


# Lifecycle statuses: lakegate's own (draft, active, deprecated, retired) and the other values
# ODCS v3 contracts use (proposed, development, production), kept so an import loses none.
ContractStatus = Literal[
    "proposed", "draft", "development", "active", "production", "deprecated", "retired"
]


class ContractMeta(Strict):
    """The ``contract:`` block: who owns which version of what."""

    name: str = Field(min_length=1)
    id: str | None = Field(
        default=None,
        min_length=1,
        description="A stable identifier across versions (ODCS 'id', e.g. a UUID); the ODCS "
        "export derives one from the name when it is not given.",
    )
    version: str = Field(
        pattern=r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$", description="Semantic version, e.g. 2.0.0"
    )
    owner: str | None = None
    team: str | None = None
    slack_channel: str | None = None
    domain: str | None = None
    status: ContractStatus | None = None
    tags: list[str] = Field(default_factory=list)


class Property(Strict):
    """One column of ``schema.properties``."""

    type: LogicalType
    description: str | None = None
    format: str | None = Field(default=None, description="uuid, email, date-time, date, uri, ...")
    enum: list[Any] | None = None
    minimum: float | int | None = None
    maximum: float | int | None = None
    exclusive_minimum: float | int | None = Field(
        default=None,
        validation_alias=AliasChoices("exclusiveMinimum", "exclusive_minimum"),
        serialization_alias="exclusiveMinimum",
    )
    exclusive_maximum: float | int | None = Field(
        default=None,
        validation_alias=AliasChoices("exclusiveMaximum", "exclusive_maximum"),
        serialization_alias="exclusiveMaximum",
    )
    pattern: str | None = None
    max_length: int | None = Field(
        default=None,
        ge=0,
        validation_alias=AliasChoices("maxLength", "max_length"),
        serialization_alias="maxLength",
    )
    min_length: int | None = Field(
        default=None,
        ge=0,
        validation_alias=AliasChoices("minLength", "min_length"),
        serialization_alias="minLength",
    )
    precision: int | None = Field(default=None, ge=1, le=38)
    scale: int | None = Field(default=None, ge=0, le=38)
    timezone: str | None = None
    unique: bool = False
    pii: bool = False
    retention_days: int | None = Field(default=None, ge=0)
    breaking_change: str | None = None
    default: Any = None
    examples: list[Any] | None = None
    items: Property | None = None
    properties: dict[str, Property] | None = None
    checks: list[CheckSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _decimal_scale(self) -> Property:
        if self.scale is not None and self.precision is not None and self.scale > self.precision:
            raise ValueError(f"scale {self.scale} exceeds precision {self.precision}")
        if (
            self.precision is not None or self.scale is not None
        ) and self.type != LogicalType.DECIMAL:
            raise ValueError("precision and scale apply to type: decimal only")
        return self


class Schema(Strict):
    """The JSON-Schema-like ``schema:`` block."""

    type: Literal["object"] = "object"
    required: list[str] = Field(default_factory=list)
    properties: dict[str, Property]


class FreshnessSla(Strict):
    max_delay_minutes: float = Field(gt=0)
    check_frequency: str | None = None
    column: str | None = Field(default=None, description="Defaults to the only timestamp column.")
    severity: Severity = Severity.CRITICAL


class CompletenessSla(Strict):
    required_fields_null_rate: float = Field(default=0.0, ge=0, le=1)
    optional_fields_null_rate: float | None = Field(default=None, ge=0, le=1)
    severity: Severity = Severity.WARNING


class UniquenessSla(Strict):
    """``{column: true, combination: [a, b]}``; ``combination`` may be a list of lists."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, bool] = Field(init=False)
    combination: list[str] | list[list[str]] | None = None
    severity: Severity = Severity.CRITICAL

    @property
    def columns(self) -> list[str]:
        return [name for name, on in (self.__pydantic_extra__ or {}).items() if on]

    @property
    def combinations(self) -> list[list[str]]:
        if not self.combination:
            return []
        if all(isinstance(c, str) for c in self.combination):
            return [list(self.combination)]  # type: ignore[arg-type]
        return [list(c) for c in self.combination]


class ValidityRule(Strict):
    min: float | int | None = None
    max: float | int | None = None
    allowed_values: list[Any] | None = None
    pattern: str | None = None
    severity: Severity = Severity.CRITICAL


class VolumeSla(Strict):
    min_records: int | None = Field(
        default=None, ge=0, validation_alias=AliasChoices("min_records", "min_daily_records")
    )
    max_records: int | None = Field(
        default=None, ge=0, validation_alias=AliasChoices("max_records", "max_daily_records")
    )
    anomaly_threshold: float | None = Field(
        default=None, gt=0, description="Relative deviation from the recent mean."
    )
    severity: Severity = Severity.CRITICAL


class Quality(Strict):
    freshness: FreshnessSla | None = None
    completeness: CompletenessSla | None = None
    uniqueness: UniquenessSla | None = None
    validity: dict[str, ValidityRule] = Field(default_factory=dict)
    volume: VolumeSla | None = None


VersioningRule = Literal[
    "removing_required_field",
    "removing_optional_field",
    "changing_field_type",
    "renaming_field",
    "adding_required_field",
    "making_field_required",
    "making_field_optional",
    "tightening_constraint",
    "widening_range",
    "removing_enum_value",
    "adding_optional_field",
    "adding_enum_value",
    "changing_description",
    "loosening_constraint",
]


class Versioning(Strict):
    breaking_changes: list[VersioningRule] = Field(default_factory=list)
    non_breaking_changes: list[VersioningRule] = Field(default_factory=list)


class Consumer(Strict):
    name: str
    team: str | None = None
    contact: str | None = None
    usage: str | None = None
    required_fields: list[str] = Field(default_factory=list)


class ChangeProcess(Strict):
    notification_lead_time_days: int | None = Field(default=None, ge=0)
    approval_required_from: list[str] = Field(default_factory=list)
    rollback_plan_required: bool = False


class Contract(Strict):
    """A data contract file.

    Use :func:`load_contract` to read one: it reports errors with file and line.
    """

    contract: ContractMeta
    description: str | None = None
    schema_: Annotated[Schema, Field(alias="schema")]
    quality: Quality = Field(default_factory=Quality)
    versioning: Versioning | None = None
    consumers: list[Consumer] = Field(default_factory=list)
    change_process: ChangeProcess | None = None
    checks: list[CheckSpec] = Field(
        default_factory=list, description="Whole-table checks (row_count, custom_sql, ...)."
    )

    _source: Located | None = PrivateAttr(default=None)

    @property
    def source(self) -> Located | None:
        """The YAML document the contract was loaded from, for error positions."""
        return self._source

    @property
    def path(self) -> Path | None:
        return self._source.path if self._source else None

    def error(self, message: str, loc: tuple[str | int, ...]) -> ConfigError:
        """A ConfigError positioned at ``loc`` (a key path) in the contract file."""
        if self._source is None:
            return ConfigError(message, key=".".join(map(str, loc)) or None)
        return self._source.error(message, loc)


def _check_references(c: Contract) -> None:
    """Every column a contract names must be one of its properties."""
    props = c.schema_.properties

    def need(name: str, loc: tuple[str | int, ...]) -> None:
        if name not in props:
            raise c.error(f"names column {name!r}, which is not in schema.properties", loc)

    for i, name in enumerate(c.schema_.required):
        need(name, ("schema", "required", i))
    q = c.quality
    if q.freshness and q.freshness.column:
        need(q.freshness.column, ("quality", "freshness", "column"))
    if q.uniqueness:
        for name in q.uniqueness.columns:
            need(name, ("quality", "uniqueness", name))
        for i, combo in enumerate(q.uniqueness.combinations):
            for name in combo:
                need(name, ("quality", "uniqueness", "combination", i))
    for name in q.validity:
        need(name, ("quality", "validity", name))
    for i, consumer in enumerate(c.consumers):
        for j, name in enumerate(consumer.required_fields):
            need(name, ("consumers", i, "required_fields", j))


def load_contract(path: str | Path, text: str | None = None) -> Contract:
    """Read and validate a contract file.

    Args:
        path: The YAML file.
        text: Its content, if already in memory (``path`` is then used in messages).

    Returns:
        The validated contract; ``contract.source`` keeps key positions.

    Raises:
        ConfigError: Malformed YAML, an unknown or missing key, a wrong value, or a
            column reference that is not a property; the message names the file,
            line, column and key.
    """
    doc = load_yaml(path, text)
    contract = validate_model(Contract, doc)
    contract._source = doc
    _check_references(contract)
    return contract


def contract_json_schema() -> dict[str, Any]:
    """The JSON Schema of contract files, for editors (yaml-language-server)."""
    schema = Contract.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "lakegate data contract"
    return schema
