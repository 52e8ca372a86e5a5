"""The pricing table behind the cost estimates: dated list prices, validated and overridable.

The table ships as ``pricing.yaml`` next to this module: dated public list prices
(USD, AWS us-east-1 and Google Cloud's US multi-region) plus a few labelled
assumptions (scan throughput, to turn bytes into seconds for platforms that bill
time). A project overrides any value with a ``pricing:`` mapping in ``lakegate.yaml``,
deep-merged over the packaged table. Prices change and contracts differ: every
figure here is an estimate to compare queries and tables, not a bill.

How the prices are applied: :mod:`lakegate.analyze.platforms`.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lakegate.config.yamlfile import Located, load_yaml, validate_model
from lakegate.errors import UserInputError

GIB = 2**30
PRICING_FILE = Path(__file__).with_name("pricing.yaml")

Usd = Annotated[float, Field(ge=0)]
Rate = Annotated[float, Field(gt=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def normalize_size(text: str) -> str:
    """A warehouse size in lakegate's short form: ``X-Small``/``xsmall``/``XS`` -> ``XS``,
    ``2X-Large``/``XXLARGE``/``X2LARGE`` -> ``2XL``, ``Medium`` -> ``M``.

    Raises:
        ValueError: ``text`` is not a T-shirt size.
    """
    key = re.sub(r"[\s_-]", "", text.upper())
    if key in ("M", "MEDIUM"):
        return "M"
    found = re.fullmatch(r"(?:(\d+)X|X(\d+)|(X*))(SMALL|LARGE|S|L)", key)
    if found is None:
        raise ValueError(f"{text!r} is not a warehouse size (XS, S, M, L, XL, 2XL, ...)")
    digits = found.group(1) or found.group(2)
    count = int(digits) if digits else len(found.group(3) or "")
    letter = found.group(4)[0]
    return letter if count == 0 else f"X{letter}" if count == 1 else f"{count}X{letter}"


def _sizes(value: dict[str, float]) -> dict[str, float]:
    return {normalize_size(str(k)): v for k, v in value.items()}


class BigQueryPricing(_Strict):
    """BigQuery on-demand: USD per TiB (2**40 bytes) of logical bytes, the bytes billed
    at least per table referenced, and the rounding unit (bytes) per table."""

    usd_per_tib: Usd
    minimum_bytes_per_table: int = Field(ge=0)
    rounding_bytes: int = Field(ge=1)


class WarehousePricing(_Strict):
    """A platform billing a warehouse's running time: units (credits, DBUs) per hour by
    size, a price per unit, a minimum billed time and an assumed scan throughput."""

    default_size: str
    minimum_seconds: float = Field(ge=0)
    throughput_bytes_per_second_per_unit: Rate

    @property
    def sizes(self) -> dict[str, float]:
        """``{size: units per hour}``."""
        raise NotImplementedError

    def size(self, wanted: str | None, platform: str) -> str:
        """The normalized size ``wanted`` (default: :attr:`default_size`).

        Raises:
            UserInputError: The platform has no such size.
        """
        try:
            size = normalize_size(wanted or self.default_size)
        except ValueError as exc:
            raise UserInputError(str(exc)) from None
        if size not in self.sizes:
            raise UserInputError(
                f"{platform} has no warehouse size {wanted!r} (sizes: {', '.join(self.sizes)})"
            )
        return size

    @field_validator("default_size")
    @classmethod
    def _default_size(cls, value: str) -> str:
        return normalize_size(value)

    @model_validator(mode="after")
    def _default_is_priced(self) -> WarehousePricing:
        if self.default_size not in self.sizes:
            raise ValueError(f"default_size {self.default_size!r} has no units per hour")
        return self


class SnowflakePricing(WarehousePricing):
    """Snowflake: credits per hour by warehouse size, USD per credit by edition."""

    edition: str
    usd_per_credit: dict[str, Usd]
    credits_per_hour: dict[str, Rate]

    @property
    def sizes(self) -> dict[str, float]:
        return self.credits_per_hour

    @field_validator("credits_per_hour")
    @classmethod
    def _normalize(cls, value: dict[str, float]) -> dict[str, float]:
        return _sizes(value)

    @model_validator(mode="after")
    def _edition_is_priced(self) -> SnowflakePricing:
        if self.edition not in self.usd_per_credit:
            raise ValueError(f"edition {self.edition!r} has no usd_per_credit entry")
        return self


class DatabricksPricing(WarehousePricing):
    """Databricks SQL: DBUs per hour by warehouse size, USD per DBU by warehouse type."""

    warehouse_type: str
    usd_per_dbu: dict[str, Usd]
    dbu_per_hour: dict[str, Rate]

    @property
    def sizes(self) -> dict[str, float]:
        return self.dbu_per_hour

    @field_validator("dbu_per_hour")
    @classmethod
    def _normalize(cls, value: dict[str, float]) -> dict[str, float]:
        return _sizes(value)

    @model_validator(mode="after")
    def _type_is_priced(self) -> DatabricksPricing:
        if self.warehouse_type not in self.usd_per_dbu:
            raise ValueError(f"warehouse_type {self.warehouse_type!r} has no usd_per_dbu entry")
        return self


class RedshiftPricing(_Strict):
    """Redshift: Spectrum's USD per TB (10**12 bytes) scanned with its minimum and rounding
    (bytes); Serverless' USD per RPU-hour, base RPUs, minimum seconds and the assumed
    scan throughput per RPU (bytes per second)."""

    spectrum_usd_per_tb: Usd
    spectrum_minimum_bytes: int = Field(ge=0)
    spectrum_rounding_bytes: int = Field(ge=1)
    serverless_usd_per_rpu_hour: Usd
    serverless_base_rpus: Rate
    serverless_minimum_seconds: float = Field(ge=0)
    throughput_bytes_per_second_per_rpu: Rate


class StorageClass(_Strict):
    """One object-storage class: price per GiB-month, the smallest size it bills an
    object as, the minimum days it bills, and request and retrieval prices."""

    name: str
    usd_per_gb_month: Usd
    minimum_object_bytes: int = Field(ge=0)
    minimum_days: int = Field(ge=0)
    retrieval_usd_per_gb: Usd
    usd_per_1000_get: Usd
    usd_per_1000_put: Usd

    def monthly_usd(self, sizes: Sequence[int]) -> float:
        """USD per month to store objects of ``sizes`` (bytes) in this class."""
        billed = sum(max(s, self.minimum_object_bytes) for s in sizes)
        return billed / GIB * self.usd_per_gb_month


class StorageClasses(_Strict):
    """The storage class of each lifecycle tier."""

    hot: StorageClass
    warm: StorageClass
    cold: StorageClass


class StoragePricing(_Strict):
    """Object storage of the lake: its provider and the class of each tier."""

    provider: str
    classes: StorageClasses


class Pricing(_Strict):
    """The validated pricing table (see ``pricing.yaml`` for every field's meaning)."""

    as_of: dt.date
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    region: str
    sources: list[Annotated[str, Field(pattern=r"^https?://\S+$")]]
    bigquery: BigQueryPricing
    snowflake: SnowflakePricing
    redshift: RedshiftPricing
    databricks: DatabricksPricing
    storage: StoragePricing

    def info(self) -> PricingInfo:
        """Where the prices come from, for reports."""
        return PricingInfo(self.as_of, self.currency, self.region, tuple(self.sources))


class _ProjectPricing(BaseModel):
    pricing: Pricing


@dataclass(frozen=True)
class PricingInfo:
    """Where a report's prices come from.

    Attributes:
        as_of: The date the list prices were taken.
        currency: Their currency (USD).
        region: The region they are for.
        sources: The public pricing pages.
    """

    as_of: dt.date
    currency: str
    region: str
    sources: tuple[str, ...]


@functools.cache
def _packaged() -> Located:
    return load_yaml(PRICING_FILE)


def packaged_pricing() -> Pricing:
    """The pricing table shipped with lakegate, without project overrides."""
    return validate_model(Pricing, _packaged())


def load_pricing(project: Any | None = None) -> Pricing:
    """The packaged pricing table with the project's ``pricing:`` overrides deep-merged
    over it (mappings merge key by key; any other value replaces the packaged one).

    Args:
        project: A :class:`~lakegate.config.project.Project`, or None for the packaged table.

    Raises:
        ConfigError: An override is invalid (an unknown key, a negative price, a size
            or edition without a price); the message names lakegate.yaml, the line and
            the dotted key (``pricing.snowflake.usd_per_credit.standard``).
    """
    from lakegate.config.project import PROJECT_FILE

    override = dict(getattr(project, "pricing", None) or {})
    if project is None or not override:
        return packaged_pricing()
    merged = _merge(copy.deepcopy(_packaged().data), override)
    file = project.root / PROJECT_FILE
    positions = load_yaml(file).positions if file.is_file() else {}
    doc = Located(data={"pricing": merged}, path=file, positions=positions)
    return validate_model(_ProjectPricing, doc).pricing


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            base[key] = _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base
