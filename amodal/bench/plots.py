"""Benchmark plots (matplotlib, Agg backend): streaming speed, memory over time, time per component."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

from amodal.bench.settings import TARGET_GIVEN_FPS, TARGET_MEMORY_GROWTH_MB, TARGET_OWN_FPS
from amodal.utils.files import write_figure


def _save(fig: Any, path: Path) -> Path:
    return write_figure(fig, path, dpi=110, bbox_inches="tight")


def _figure(*args: Any, **kwargs: Any) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def plot_streaming(stream: Dict[str, Any], decode_fps: float, path: Path) -> Path:
    """Frames/s and latency (median, 95th percentile) per object count and mode, targets drawn."""
    rows = stream["rows"]
    counts = sorted({r["objects"] for r in rows})
    modes = [m for m in ("own", "motion", "given") if any(r["mode"] == m for r in rows)]
    fig, (ax1, ax2) = _figure(1, 2, figsize=(10, 3.8))
    width = 0.8 / max(len(modes), 1)
    colours = {"own": "#1f77b4", "motion": "#2ca02c", "given": "#ff7f0e"}
    labels = {"own": "own visible net", "motion": "objects from motion", "given": "visible masks given"}
    for j, m in enumerate(modes):
        by = {r["objects"]: r for r in rows if r["mode"] == m}
        xs = [i + (j - (len(modes) - 1) / 2) * width for i in range(len(counts))]
        ax1.bar(xs, [by[c]["fps"] if c in by else 0 for c in counts], width, color=colours[m], label=labels[m])
        ax2.bar(xs, [by[c]["latency_p50_ms"] if c in by else 0 for c in counts], width, color=colours[m],
                label=f"{labels[m]} (median)")
        ax2.scatter(xs, [by[c]["latency_p95_ms"] if c in by else 0 for c in counts], color="k", marker="_", s=200,
                    zorder=3, label="95th percentile" if j == 0 else None)
    ax1.axhline(TARGET_OWN_FPS, color=colours["own"], ls="--", lw=1, label=f"target own ({TARGET_OWN_FPS:.0f})")
    ax1.axhline(TARGET_GIVEN_FPS, color=colours["given"], ls="--", lw=1, label=f"target given ({TARGET_GIVEN_FPS:.0f})")
    if decode_fps and decode_fps == decode_fps:
        ax1.axhline(decode_fps, color="grey", ls=":", lw=1, label=f"decode only ({decode_fps:.0f})")
    for ax in (ax1, ax2):
        ax.set_xticks(range(len(counts)))
        ax.set_xticklabels([str(c) for c in counts])
        ax.set_xlabel("objects in the video")
        ax.grid(axis="y", alpha=0.3)
    ax1.set_ylabel("frames / s (end to end)")
    ax1.set_yscale("log")
    positive = [r["fps"] for r in rows if r["fps"] and r["fps"] > 0]
    if positive:
        ax1.set_ylim(bottom=min(positive) / 2)
    ax2.set_ylabel("latency per frame (ms, decode + step)")
    ax1.legend(fontsize=7, loc="best")
    ax2.legend(fontsize=7, loc="best")
    ax1.set_title("streaming throughput")
    ax2.set_title("streaming latency")
    return _save(fig, path)


def plot_memory(memory: Dict[str, Any], path: Path) -> Path:
    """RSS over the stream, with the growth allowance above the post-warm-up start."""
    s = memory["samples"]
    fig, ax = _figure(figsize=(7, 3.5))
    ax.plot([x["frame"] for x in s], [x["rss_mb"] for x in s], marker=".", label="resident memory (VmRSS)")
    warm = [x for x in s if x["frame"] >= memory.get("warm_start_frame", 1)] or s
    base = warm[0]["rss_mb"]
    ax.axhline(base + TARGET_MEMORY_GROWTH_MB, color="r", ls="--", lw=1,
               label=f"start + {TARGET_MEMORY_GROWTH_MB:.0f} MB (target bound)")
    lo = min(x["rss_mb"] for x in s)
    ax.set_ylim(lo - 10, max(base + TARGET_MEMORY_GROWTH_MB, max(x["rss_mb"] for x in s)) + 10)
    ax.set_xlabel("frames streamed")
    ax.set_ylabel("MB")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"memory over a {memory['frames']}-frame stream (objects come and go)")
    return _save(fig, path)


def plot_profile(profiles: List[Dict[str, Any]], path: Path) -> Path:
    """Stacked horizontal bars: milliseconds per frame per component, one bar per profiled run."""
    import matplotlib.cm as cm

    labels: List[str] = []
    for p in profiles:
        for c in p["components"]:
            if c["component"] not in labels:
                labels.append(c["component"])
    colours = {lab: cm.tab20(i % 20) for i, lab in enumerate(labels)}
    fig, ax = _figure(figsize=(9, 1.2 + 0.8 * len(profiles)))
    names = []
    for i, p in enumerate(profiles):
        left = 0.0
        for c in p["components"]:
            ax.barh(i, c["ms_per_frame"], left=left, color=colours[c["component"]],
                    label=c["component"] if i == 0 or c["component"] not in
                    {x["component"] for q in profiles[:i] for x in q["components"]} else None)
            left += c["ms_per_frame"]
        names.append(f"{p['mode']}, {p['objects']} objects")
    ax.set_yticks(range(len(profiles)))
    ax.set_yticklabels(names)
    ax.set_xlabel("ms per frame")
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.35))
    ax.set_title("where the time of a streaming frame goes")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)
