"""Helpers of tools/measure_adaptation.sh.

    python tools/adaptation_table.py merge GT.json FOLDER     # FOLDER/<video>/predictions.json -> FOLDER/predictions.json
    python tools/adaptation_table.py table OUT VIDEOS TTA_STEPS [PROTOCOLS]   # OUT/table.md (PROTOCOLS: "gv e2e")
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional, Tuple


def merge(gt_path: Path, folder: Path) -> None:
    """One prediction file for all per-video `amodal adapt` runs; video ids from the GT by mp4 name."""
    gt = json.loads(gt_path.read_text())
    ids = {Path(v["video_file"]).stem: v["id"] for v in gt["videos"] if v.get("video_file")}
    merged = []
    for sub in sorted(p for p in folder.iterdir() if (p / "predictions.json").is_file()):
        for rec in json.loads((sub / "predictions.json").read_text()):
            rec["video_id"] = ids[sub.name]
            merged.append(rec)
    (folder / "predictions.json").write_text(json.dumps(merged))


def _scores(out: Path, folder: str) -> Tuple[Optional[float], Optional[float]]:
    s = json.loads((out / folder / "scores.json").read_text())
    m = next(iter(s["models"].values()))["metrics"]
    return m["full"]["object"], m["strict"]["object"]


def _finetune(out: Path, folder: str) -> Tuple[str, str]:
    r = json.loads((out / folder / "report.json").read_text())
    return f'{r["steps_run"]} (best {r["best_step"]})', f'{r["seconds"] + r["pseudo_label_seconds"]:.0f}'


def _tta(out: Path, mode: str) -> Tuple[str, str]:
    reps = [json.loads(p.read_text()) for p in sorted((out / f"tta_{mode}").glob("*/adaptation.json"))]
    n = max(len(reps), 1)
    steps = sum(r["steps_run"] for r in reps) / n
    early = sum(bool(r["stopped_early"]) for r in reps)
    sec = sum(r["seconds"] + r["pseudo_label_seconds"] for r in reps) / n
    return f"{steps:.0f} mean, {early}/{len(reps)} stopped early", f"{sec:.0f} per video"


def table(out: Path, videos: str, tta_steps: str, protocols: str = "gv e2e") -> str:
    rows: List[Tuple[str, str, str, str, str]] = []
    for mode, label in (("gv", "given visible"), ("e2e", "end to end")):
        if mode not in protocols.split():
            continue
        rows.append((label, "shipped checkpoint", f"base_{mode}", "-", "-"))
        rows.append((label, f"fine-tuned on the {videos} test videos (`train --data`)", f"ft_test_{mode}_eval",
                     *_finetune(out, f"ft_test_{mode}")))
        rows.append((label, f"fine-tuned on {videos} other videos of the world", f"ft_other_{mode}_eval",
                     *_finetune(out, f"ft_other_{mode}")))
        rows.append((label, f"adapted per video (`adapt --steps {tta_steps}`)", f"tta_{mode}_eval", *_tta(out, mode)))
    pct = lambda x: "-" if x is None else f"{100 * x:.1f}"  # noqa: E731 (None: nothing matched)
    lines = ["| protocol | weights | full mIoU | strict occluded mIoU | steps | adaptation seconds |",
             "|---|---|---|---|---|---|"]
    for label, name, folder, steps, sec in rows:
        full, strict = _scores(out, folder)
        lines.append(f"| {label} | {name} | {pct(full)} | {pct(strict)} | {steps} | {sec} |")
    text = "\n".join(lines) + "\n"
    (out / "table.md").write_text(text)
    return text


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "merge":
        merge(Path(sys.argv[2]), Path(sys.argv[3]))
    elif len(sys.argv) in (5, 6) and sys.argv[1] == "table":
        print(table(Path(sys.argv[2]), *sys.argv[3:]), end="")
    else:
        sys.exit(__doc__)
