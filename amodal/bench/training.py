"""Training throughput (clips per second) and the time the default recipe takes to reach its quality.

Throughput: a few optimizer steps of the measured model's recipe (its config: batch size, clip
length, data workers, augmentation) on a small generated training set, through
`amodal.engine.trainer.train` with a log record every step; the figure is `batch_size` divided
by the median seconds per step, the first step (data-loader start-up) excluded. The runs start
from random weights, not from the recipe's `train.init` (see `throughput_config`).

Recipe time: read from the finished training runs of the recipe's stages, in order (their
`log.jsonl`, given with `--train-log stage1,stage2`): the stages' wall times add up, and the
recipe reaches its quality when its last stage does.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

from amodal.bench.stats import median, rnd
from amodal.errors import FormatError


def training_set(out_dir: Path, videos: int, frames: int, size: Tuple[int, int], seed: int) -> Path:
    """Generate a small synthetic training set (default generator settings); its annotations.json."""
    from amodal.data.synth.config import load_synth_config, replace_size
    from amodal.data.synth.dataset import generate_dataset

    cfg = replace_size(load_synth_config(), size[0], size[1], frames)
    generate_dataset(cfg, Path(out_dir), videos=videos, seed=seed, workers=1, with_mp4=False, overwrite=True,
                     progress=False)
    return Path(out_dir) / "annotations.json"


def throughput_config(base: Any, annotations: Path, steps: int, out_dir: Path, init: str = "") -> Any:
    """`base` Config with the training data, `steps` steps, a log record per step, no validation,
    and `train.init` replaced by `init` (default: none, random weights).

    The recipe's `train.init` is an earlier stage's checkpoint, named relative to the folder that
    stage ran in (the shipped checkpoint's says `amodal/weights/default.pt`). It only sets the
    starting values of the weights, loaded once before the first step, and a step costs the same
    whatever those values are; so the throughput runs start from random weights: the same work
    per step, from any current folder, without the recipe's files.
    """
    data = dataclasses.replace(base.data, train=str(annotations), val="")
    train = dataclasses.replace(base.train, steps=int(steps), log_every=1, val_every=0, ckpt_every=int(steps),
                                out_dir=str(out_dir), init=init)
    return dataclasses.replace(base, data=data, train=train)


def teacher_init(cfg: Any, work_dir: Path, seed: int) -> str:
    """A `train.init` for the throughput runs: "" unless the recipe's `future_teacher` term runs
    `train.init`'s completion network at every step; then a randomly initialised checkpoint of
    `cfg`'s model written in `work_dir`, so that the teacher's forward pass is timed too."""
    import torch

    from amodal.engine.checkpoint import save_checkpoint
    from amodal.losses import resolve_weights
    from amodal.models.build import build_model

    if not resolve_weights(cfg).get("future_teacher", 0.0):
        return ""
    torch.manual_seed(seed)
    return str(save_checkpoint(Path(work_dir) / "train_init.pt", build_model(cfg), cfg, step=0))


def train_once(cfg: Any, run_dir: Path) -> Dict[str, Any]:
    """Run the trainer; per-step seconds from its log (first step excluded)."""
    from amodal.engine.trainer import train

    train(cfg, str(run_dir), overwrite=True, show_progress=False, device="cpu")
    recs = [json.loads(line) for line in (Path(run_dir) / "log.jsonl").read_text().splitlines() if line.strip()]
    secs = [float(r["sec_per_step"]) for r in recs if r.get("kind") == "train" and int(r["step"]) > 1]
    sec = median(secs)
    bs = cfg.train.batch_size
    return {"sec_per_step": sec, "clips_per_s": bs / sec if sec > 0 else float("nan"), "steps": len(secs) + 1}


def bench_training(base_cfg: Any, work_dir: Path, steps: int, videos: int, frames: int, size: Tuple[int, int],
                   repeats: int, seed: int, log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Median clips/s over `repeats` short training runs of the recipe `base_cfg`."""
    ann = training_set(Path(work_dir) / "train_data", videos, frames, size, seed)
    clip = min(base_cfg.data.clip_length, frames)
    base = dataclasses.replace(base_cfg, data=dataclasses.replace(base_cfg.data, clip_length=clip))
    init = teacher_init(base, Path(work_dir), seed)
    runs = []
    for r in range(repeats):
        cfg = throughput_config(base, ann, steps, Path(work_dir) / f"train_run{r}", init)
        runs.append(train_once(cfg, Path(work_dir) / f"train_run{r}"))
        log(f"  training run {r + 1}/{repeats}: {runs[-1]['clips_per_s']:.2f} clips/s")
    return {"clips_per_s": rnd(median(x["clips_per_s"] for x in runs), 3),
            "clips_per_s_runs": [rnd(x["clips_per_s"], 3) for x in runs],
            "sec_per_step": rnd(median(x["sec_per_step"] for x in runs), 3),
            "batch_size": base.train.batch_size, "clip_length": clip, "max_objects": base.data.max_objects,
            "num_workers": base.data.num_workers, "steps_per_run": steps,
            "data": f"{videos} generated videos x {frames} frames, {size[0]}x{size[1]}",
            "crop_size": base.model.completion.crop_size, "width": base.model.completion.width}


def recipe_time(path: Path, tolerance: float = 0.01) -> Dict[str, Any]:
    """Wall time of a training run from its JSON-lines log, and when it reached its final quality.

    Args:
        path: the run folder or its log.jsonl.
        tolerance: "reached" = first validation within this fraction of the final value.

    Returns:
        {"log", "total_minutes", "steps", "metric", "final", "reached_step", "reached_minutes"}
        (metric fields None when the log has no validation records).

    Raises:
        FormatError: no readable log or no training records (names the file).
    """
    p = Path(path)
    log_path = p / "log.jsonl" if p.is_dir() else p
    if not log_path.is_file():
        raise FormatError(f"--train-log {path}: no log.jsonl found")
    recs: List[Dict[str, Any]] = []
    for i, line in enumerate(log_path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            raise FormatError(f"{log_path}: line {i} is not JSON") from None
        if not isinstance(rec, dict) or "time" not in rec or "step" not in rec:
            raise FormatError(f"{log_path}: line {i} lacks 'time' or 'step'")
        recs.append(rec)
    train = [r for r in recs if r.get("kind", "train") == "train"]
    if not train:
        raise FormatError(f"{log_path}: no training records")
    first = train[0]
    start = float(first["time"]) - float(first.get("sec_per_step", 0.0) or 0.0) * int(first["step"])
    end = max(float(r["time"]) for r in recs)
    out: Dict[str, Any] = {"log": str(log_path), "total_minutes": rnd((end - start) / 60.0, 2),
                           "steps": max(int(r["step"]) for r in train), "metric": None, "final": None,
                           "reached_step": None, "reached_minutes": None}
    val = [r for r in recs if r.get("kind") == "val"]
    metric = next((m for m in ("occluded_miou", "full_miou") if val and isinstance(val[-1].get(m), (int, float))), None)
    if metric is not None:
        final = float(val[-1][metric])
        hit = next(r for r in val if isinstance(r.get(metric), (int, float)) and float(r[metric]) >= final * (1 - tolerance))
        out.update(metric=metric, final=rnd(final, 4), reached_step=int(hit["step"]),
                   reached_minutes=rnd((float(hit["time"]) - start) / 60.0, 2))
    return out


def recipe_stages_time(paths: Sequence[Path], tolerance: float = 0.01) -> Dict[str, Any]:
    """`recipe_time` of each stage of a multi-stage recipe (in order) and of the whole.

    Returns:
        {"stages": [recipe_time(...) per stage], "total_minutes": sum of the stages,
        "reached_minutes": earlier stages' total + the last stage's reached (or total) minutes,
        "metric", "final", "reached_step": those of the last stage that validated}.
    """
    if not paths:
        raise FormatError("--train-log: no training run given")
    stages = [recipe_time(p, tolerance) for p in paths]
    before = sum(st["total_minutes"] for st in stages[:-1])
    last = stages[-1]
    reached_last = last["reached_minutes"] if last["reached_minutes"] is not None else last["total_minutes"]
    validated = next((st for st in reversed(stages) if st["metric"] is not None), None)
    return {"stages": stages, "total_minutes": rnd(before + last["total_minutes"], 2),
            "reached_minutes": rnd(before + reached_last, 2),
            "metric": validated["metric"] if validated else None, "final": validated["final"] if validated else None,
            "reached_step": validated["reached_step"] if validated else None}
