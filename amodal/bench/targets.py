"""Checks of the measured figures against the speed and memory targets (for the report's summary)."""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

from amodal.bench.settings import (TARGET_GIVEN_FPS, TARGET_MEMORY_GROWTH_MB, TARGET_OWN_FPS,
                                   TARGET_RECIPE_MINUTES)


def _status(ok: Optional[bool]) -> str:
    return "not measured" if ok is None else ("met" if ok else "NOT met")


def _worst_fps(results: Dict[str, Any], mode: str, max_objects: int = 4) -> Optional[float]:
    rows = (results.get("stream") or {}).get("rows") or []
    fps = [r["fps"] for r in rows if r["mode"] == mode and r["objects"] <= max_objects and math.isfinite(r["fps"])]
    return min(fps) if fps else None


def check_targets(results: Dict[str, Any]) -> List[Dict[str, Any]]:
    """One row per target: {"target", "goal", "measured", "status"} (status: met / NOT met / not measured)."""
    rows = []
    own = _worst_fps(results, "own")
    rows.append({"target": "streaming, own visible-mask network, up to 4 objects", "goal": f">= {TARGET_OWN_FPS:.0f} frames/s",
                 "measured": "–" if own is None else f"{own:.1f} frames/s (slowest of <= 4 objects)",
                 "status": _status(None if own is None else own >= TARGET_OWN_FPS)})
    given = _worst_fps(results, "given")
    rows.append({"target": "streaming, visible masks given, up to 4 objects", "goal": f">= {TARGET_GIVEN_FPS:.0f} frames/s",
                 "measured": "–" if given is None else f"{given:.1f} frames/s (slowest of <= 4 objects)",
                 "status": _status(None if given is None else given >= TARGET_GIVEN_FPS)})
    mem = results.get("memory") or {}
    if "warm_max_growth_mb" in mem:
        growth = float(mem["warm_max_growth_mb"])
        short = mem["frames"] < 10000
        rows.append({"target": "resident memory growth over 10,000 frames", "goal": f"< {TARGET_MEMORY_GROWTH_MB:.0f} MB",
                     "measured": f"{growth:.1f} MB over {mem['frames']} frames" + (" (shorter run)" if short else ""),
                     "status": _status(growth < TARGET_MEMORY_GROWTH_MB) + (" (run too short to count)" if short else "")})
    else:
        rows.append({"target": "resident memory growth over 10,000 frames", "goal": f"< {TARGET_MEMORY_GROWTH_MB:.0f} MB",
                     "measured": "–", "status": _status(None)})
    recipe = results.get("recipe")
    minutes = None
    if recipe:
        minutes = recipe.get("reached_minutes") if recipe.get("reached_minutes") is not None else recipe.get("total_minutes")
    rows.append({"target": "default recipe reaches its quality", "goal": f"< {TARGET_RECIPE_MINUTES:.0f} min",
                 "measured": "not measured (no --train-log)" if minutes is None else f"{minutes:.1f} min",
                 "status": _status(None if minutes is None else minutes < TARGET_RECIPE_MINUTES)})
    return rows
