"""Plug-ins registered by name as ``"module:Class"`` strings, imported on first use,
so heavy libraries load only with the plug-in that needs them."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from lakegate.errors import UserInputError


def load_plugin(registry: Mapping[str, str], name: str, kind: str) -> Any:
    """The class registered as ``name``.

    Args:
        registry: ``{name: "module:Class"}``.
        name: The name to look up.
        kind: What the registry holds (``engine``, ``sink``), for the error message.

    Raises:
        UserInputError: No plug-in has that name; the message lists those that exist.
    """
    try:
        target = registry[name]
    except KeyError:
        raise UserInputError(
            f"unknown {kind} {name!r}; available: {', '.join(sorted(registry))}"
        ) from None
    module_name, cls_name = target.split(":")
    return getattr(importlib.import_module(module_name), cls_name)
