"""Reports of evaluator summaries: terminal / Markdown tables, scores.json, IoU-vs-occlusion plot.

`results` everywhere is {model name: `AmodalEvaluator.summarize()` dict}. IoUs are stored as
fractions in scores.json and shown as percentages in the tables.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from amodal.eval.evaluator import ORDER_MIN_PIXELS
from amodal.eval.metrics import VARIANTS
from amodal.utils.files import atomic_write_json, atomic_write_text, write_figure

Results = Mapping[str, Mapping[str, Any]]

HEADERS = {"full": "full", "strict": "occ strict", "savos": "occ savos",
           "pasted_full": "pasted full", "pasted_occ": "pasted occ"}


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{100.0 * value:.2f}"


def _render(header: Sequence[str], rows: List[Sequence[str]], markdown: bool, labels: int = 2) -> str:
    """Table as Markdown or aligned text; the first `labels` columns are left-aligned."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    fmt = "  ".join("{:<%d}" % w if i < labels else "{:>%d}" % w for i, w in enumerate(widths))
    lines = [fmt.format(*header), "  ".join("-" * w for w in widths)]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(lines)


def main_table(results: Results, markdown: bool = False) -> str:
    """mIoU (%) of every variant, one row per model and averaging ("frame", "object")."""
    header = ["model", "average"] + [HEADERS[v] for v in VARIANTS] + ["object-frames"]
    rows = []
    for name, summary in results.items():
        for avg in ("frame", "object"):
            m = summary["metrics"]
            rows.append([name, avg] + [_pct(m[v][avg]) for v in VARIANTS] + [str(summary["object_frames"])])
    return _render(header, rows, markdown)


def bucket_table(results: Results, markdown: bool = False) -> str:
    """Object-averaged mIoU (%) per occlusion bucket, one row per model and bucket."""
    header = ["model", "occlusion"] + [HEADERS[v] for v in VARIANTS] + ["object-frames"]
    rows = []
    for name, summary in results.items():
        for b in summary["buckets"]:
            lo, hi = b["range"]
            label = f"[{lo:g}, {hi:g}{']' if b['closed'] else ')'}"
            rows.append([name, label] + [_pct(b[v]["object"]) for v in VARIANTS] + [str(b["count"])])
    return _render(header, rows, markdown)


def extra_table(results: Results, markdown: bool = False) -> Optional[str]:
    """Visible quality (J, F: object-frame means, %) and track matching counts, if any."""
    if not any("visible" in s or "tracking" in s for s in results.values()):
        return None
    header = ["model", "J", "F", "gt objects", "matched", "missed", "false positives"]
    rows = []
    for name, s in results.items():
        vis = s.get("visible", {})
        tr = s.get("tracking", {})
        rows.append([name, _pct(vis.get("J", {}).get("object")), _pct(vis.get("F", {}).get("object"))]
                    + [str(tr[k]) if k in tr else "-" for k in ("gt_objects", "matched", "missed", "false_positives")])
    return _render(header, rows, markdown, labels=1)


def order_table(results: Results, markdown: bool = False) -> Optional[str]:
    """Depth-order accuracy (% of ranked true occluding pairs ordered right), if ranks were scored."""
    if not any("order" in s for s in results.values()):
        return None
    header = ["model", "order accuracy", "pairs", "ranked", "correct"]
    rows = []
    for name, s in results.items():
        o = s.get("order")
        rows.append([name, _pct(o["accuracy"]), str(o["pairs"]), str(o["ranked"]), str(o["correct"])] if o
                    else [name, "-", "-", "-", "-"])
    return _render(header, rows, markdown, labels=1)


def _settings_line(results: Results) -> str:
    s = next(iter(results.values()))["settings"]
    lo = "-inf" if s["occ_min"] is None else f"{s['occ_min']:g}"
    hi = "+inf" if s["occ_max"] is None else f"{s['occ_max']:g}"
    return (f"occlusion filter: {lo} < occ < {hi}; pasted_occ erosion kernel {s['pasted_erode']}; "
            f"IoU in %")


def render_text(results: Results, markdown: bool = False) -> str:
    """All tables as one string (terminal or Markdown)."""
    parts = []
    if markdown:
        parts.append("# Amodal evaluation\n")
    parts.append(_settings_line(results) + "\n")
    parts.append(("## mIoU\n\n" if markdown else "mIoU\n") + main_table(results, markdown) + "\n")
    parts.append(("## mIoU per occlusion bucket (object average)\n\n" if markdown
                  else "mIoU per occlusion bucket (object average)\n") + bucket_table(results, markdown) + "\n")
    extra = extra_table(results, markdown)
    if extra:
        parts.append(("## Visible masks and track matching\n\n" if markdown
                      else "visible masks and track matching\n") + extra + "\n")
    order = order_table(results, markdown)
    if order:
        title = f"depth order: true occluding pairs (one hides >= {ORDER_MIN_PIXELS} px of the other) ranked right"
        parts.append((f"## {title[0].upper() + title[1:]}\n\n" if markdown else title + "\n") + order + "\n")
    return "\n".join(parts)


def plot_buckets(results: Results, path: Path) -> None:
    """Write a PNG: object-averaged mIoU per occlusion bucket, one panel per variant, one line per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(VARIANTS), figsize=(3.2 * len(VARIANTS), 3.2), sharey=True)
    for ax, variant in zip(axes, VARIANTS):
        for name, summary in results.items():
            buckets = summary["buckets"]
            xs = [(b["range"][0] + b["range"][1]) / 2 for b in buckets]
            ys = [float("nan") if b[variant]["object"] is None else 100 * b[variant]["object"] for b in buckets]
            ax.plot(xs, ys, marker="o", label=name)
        ax.set_title(HEADERS[variant])
        ax.set_xlabel("occlusion rate")
        ax.set_xlim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("mIoU (%)")
    axes[0].set_ylim(0, 100)
    axes[-1].legend(fontsize=8)
    fig.tight_layout()
    write_figure(fig, path, dpi=100)


def write_reports(out_dir: Path, results: Results, extra: Optional[Dict[str, Any]] = None) -> None:
    """Write scores.json, scores.md and iou_vs_occlusion.png into `out_dir`."""
    out_dir = Path(out_dir)
    atomic_write_json(out_dir / "scores.json", {**(extra or {}), "models": dict(results)}, indent=2)
    atomic_write_text(out_dir / "scores.md", render_text(results, markdown=True))
    plot_buckets(results, out_dir / "iou_vs_occlusion.png")
