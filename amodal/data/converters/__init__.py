"""Converters from the amodal benchmarks' own layouts into the native format.

`CONVERTERS` maps a format name to `"module:function"`; `get_converter(name)` imports it on
first use, so importing this package is cheap. Every converter is
`convert(src: Path, opts: ConvertOptions) -> ConversionResult` (both in `.common`).
See docs/CONVERTERS.md for each source layout.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Dict

if TYPE_CHECKING:  # pragma: no cover
    from amodal.data.converters.common import ConverterFn

CONVERTERS: Dict[str, str] = {
    "fishbowl": "amodal.data.converters.fishbowl:convert_savos",
    "fishbowl-raw": "amodal.data.converters.fishbowl:convert_raw",
    "kins": "amodal.data.converters.kins:convert",
    "movi": "amodal.data.converters.movi:convert",
    "sailvos": "amodal.data.converters.sailvos:convert",
    "tao": "amodal.data.converters.tao:convert",
}

__all__ = ["CONVERTERS", "ConversionResult", "ConvertOptions", "get_converter"]


def get_converter(name: str) -> "ConverterFn":
    """The converter function registered under `name` (see `CONVERTERS`)."""
    from amodal.errors import ConfigError

    if name not in CONVERTERS:
        raise ConfigError(f"unknown dataset format {name!r}; choose from {', '.join(CONVERTERS)}")
    module, func = CONVERTERS[name].split(":")
    return getattr(importlib.import_module(module), func)


def __getattr__(name: str) -> Any:
    if name in ("ConversionResult", "ConvertOptions"):
        from amodal.data.converters import common

        return getattr(common, name)
    raise AttributeError(f"module 'amodal.data.converters' has no attribute {name!r}")
