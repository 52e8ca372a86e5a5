"""The price of a scan on each platform, from the pricing table.

How each platform is priced (see :func:`price_scan`); the figures are in
:mod:`lakegate.analyze.pricing`:

==========  ==================================================================
bigquery    logical bytes per table, rounded up to 1 MiB, at least 10 MiB per
            table referenced, times ``usd_per_tib`` / 2**40
snowflake   seconds = compressed bytes / (throughput * credits per hour of the
            size), at least 60; credits per hour * hours * ``usd_per_credit``
redshift    Spectrum: compressed bytes rounded up to 1 MB, at least 10 MB, times
            ``spectrum_usd_per_tb`` / 10**12; Serverless: base RPUs * hours (at
            least 60 s, from an assumed throughput per RPU) * the RPU-hour price
databricks  like Snowflake, with DBUs per hour and the price of a DBU
==========  ==================================================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from lakegate.analyze.pricing import (
    BigQueryPricing,
    Pricing,
    RedshiftPricing,
    WarehousePricing,
)
from lakegate.errors import UserInputError

PLATFORMS = ("bigquery", "snowflake", "redshift", "databricks")
TIB = 2**40
TB = 10**12


@dataclass(frozen=True)
class PlatformCost:
    """The estimated price of running a statement (or a set of them) on one platform.

    Attributes:
        platform: ``bigquery``, ``snowflake``, ``redshift`` or ``databricks``.
        model: How it bills: ``on-demand``, ``XS warehouse, standard edition``,
            ``spectrum``, ``serverless 128 RPU``, ``S serverless warehouse``.
        usd: The price (USD).
        billed_bytes: Bytes billed (after minimums and rounding) for per-byte models.
        seconds: The estimated run time (seconds) for per-time models.
        billed_seconds: Seconds billed (after the minimum) for per-time models.
        basis: The formula, in words, with the figures used.
    """

    platform: str
    model: str
    usd: float
    billed_bytes: int | None = None
    seconds: float | None = None
    billed_seconds: float | None = None
    basis: str = ""


def price_scan(
    pricing: Pricing,
    compressed: Mapping[str, int],
    logical: Mapping[str, int],
    *,
    platforms: Sequence[str] = PLATFORMS,
    warehouse_size: str | None = None,
) -> list[PlatformCost]:
    """What reading ``compressed``/``logical`` bytes costs on each of ``platforms``.

    Args:
        pricing: The pricing table.
        compressed: ``{table: bytes}`` read from storage (compressed Parquet bytes).
        logical: ``{table: bytes}`` uncompressed (BigQuery's logical bytes).
        platforms: Which platforms, in :data:`PLATFORMS` order; ``redshift`` yields two
            costs (Spectrum and Serverless).
        warehouse_size: Snowflake's and Databricks' warehouse size; None uses each
            platform's ``default_size``.

    Raises:
        UserInputError: An unknown platform, or a size the platform does not have.
    """
    unknown = [p for p in platforms if p not in PLATFORMS]
    if unknown:
        raise UserInputError(f"unknown platform {unknown[0]!r} (platforms: {', '.join(PLATFORMS)})")
    scanned = sum(compressed.values())
    costs: list[PlatformCost] = []
    if "bigquery" in platforms:
        costs.append(_bigquery(pricing.bigquery, logical))
    if "snowflake" in platforms:
        sf = pricing.snowflake
        size = sf.size(warehouse_size, "snowflake")
        costs.append(
            _warehouse(
                "snowflake",
                f"{size} warehouse, {sf.edition} edition",
                scanned,
                sf,
                sf.credits_per_hour[size],
                sf.usd_per_credit[sf.edition],
                "credit",
            )
        )
    if "redshift" in platforms:
        costs.extend(_redshift(pricing.redshift, scanned))
    if "databricks" in platforms:
        db = pricing.databricks
        size = db.size(warehouse_size, "databricks")
        costs.append(
            _warehouse(
                "databricks",
                f"{size} {db.warehouse_type} SQL warehouse",
                scanned,
                db,
                db.dbu_per_hour[size],
                db.usd_per_dbu[db.warehouse_type],
                "DBU",
            )
        )
    return costs


def _bigquery(bq: BigQueryPricing, logical: Mapping[str, int]) -> PlatformCost:
    billed = sum(
        max(math.ceil(n / bq.rounding_bytes) * bq.rounding_bytes, bq.minimum_bytes_per_table)
        for n in logical.values()
    )
    return PlatformCost(
        platform="bigquery",
        model="on-demand",
        usd=billed / TIB * bq.usd_per_tib,
        billed_bytes=billed,
        basis=(
            f"{billed:,} logical bytes (at least {bq.minimum_bytes_per_table:,} per table, "
            f"{len(logical)} table(s)) / 2^40 * {bq.usd_per_tib} USD per TiB"
        ),
    )


def _warehouse(
    platform: str,
    model: str,
    scanned: int,
    table: WarehousePricing,
    units_per_hour: float,
    usd_per_unit: float,
    unit: str,
) -> PlatformCost:
    seconds = scanned / (table.throughput_bytes_per_second_per_unit * units_per_hour)
    billed = max(seconds, table.minimum_seconds)
    return PlatformCost(
        platform=platform,
        model=model,
        usd=units_per_hour * billed / 3600 * usd_per_unit,
        seconds=seconds,
        billed_seconds=billed,
        basis=(
            f"{scanned:,} bytes at an assumed {table.throughput_bytes_per_second_per_unit:,.0f} "
            f"bytes/s per {unit}/h = {seconds:.2f} s, billed {billed:.2f} s (minimum "
            f"{table.minimum_seconds:g} s) * {units_per_hour:g} {unit}/h * {usd_per_unit} USD "
            f"per {unit}"
        ),
    )


def _redshift(rs: RedshiftPricing, scanned: int) -> list[PlatformCost]:
    billed = max(
        math.ceil(scanned / rs.spectrum_rounding_bytes) * rs.spectrum_rounding_bytes,
        rs.spectrum_minimum_bytes,
    )
    spectrum = PlatformCost(
        platform="redshift",
        model="spectrum",
        usd=billed / TB * rs.spectrum_usd_per_tb,
        billed_bytes=billed,
        basis=(
            f"{billed:,} bytes scanned (at least {rs.spectrum_minimum_bytes:,}) / 10^12 * "
            f"{rs.spectrum_usd_per_tb} USD per TB; the cluster's hourly price is not included"
        ),
    )
    rpus = rs.serverless_base_rpus
    seconds = scanned / (rs.throughput_bytes_per_second_per_rpu * rpus)
    billed_s = max(seconds, rs.serverless_minimum_seconds)
    serverless = PlatformCost(
        platform="redshift",
        model=f"serverless {rpus:g} RPU",
        usd=rpus * billed_s / 3600 * rs.serverless_usd_per_rpu_hour,
        seconds=seconds,
        billed_seconds=billed_s,
        basis=(
            f"{scanned:,} bytes at an assumed {rs.throughput_bytes_per_second_per_rpu:,.0f} "
            f"bytes/s per RPU = {seconds:.2f} s, billed {billed_s:.2f} s (minimum "
            f"{rs.serverless_minimum_seconds:g} s) * {rpus:g} RPU * "
            f"{rs.serverless_usd_per_rpu_hour} USD per RPU-hour"
        ),
    )
    return [spectrum, serverless]


def sum_costs(costs: Sequence[PlatformCost]) -> list[PlatformCost]:
    """The costs added up per platform and model, in first-seen order."""
    totals: dict[tuple[str, str], PlatformCost] = {}
    for cost in costs:
        key = (cost.platform, cost.model)
        if key not in totals:
            totals[key] = replace(cost, basis="the sum over the statements")
            continue
        total = totals[key]
        totals[key] = replace(
            total,
            usd=total.usd + cost.usd,
            billed_bytes=_add(total.billed_bytes, cost.billed_bytes),
            seconds=_add_float(total.seconds, cost.seconds),
            billed_seconds=_add_float(total.billed_seconds, cost.billed_seconds),
        )
    return list(totals.values())


def _add(a: int | None, b: int | None) -> int | None:
    return None if a is None and b is None else (a or 0) + (b or 0)


def _add_float(a: float | None, b: float | None) -> float | None:
    return None if a is None and b is None else (a or 0.0) + (b or 0.0)
