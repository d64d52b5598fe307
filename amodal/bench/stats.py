"""Small statistics helpers (NaN-safe medians and percentiles, rounding for reports)."""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np


def median(values: Iterable[float]) -> float:
    """Median of the finite values (NaN when there are none)."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return float(np.median(xs)) if xs else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """q-th percentile (0..100) of the finite values (NaN when there are none)."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return float(np.percentile(xs, q)) if xs else float("nan")


def rnd(x: float, digits: int = 2) -> float:
    """Round for JSON/markdown; NaN and inf stay as they are."""
    return round(float(x), digits) if x is not None and math.isfinite(float(x)) else float(x if x is not None else "nan")


def fmt(x: float, digits: int = 1) -> str:
    """Number for a markdown table ("–" for NaN/None)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{digits}f}"
