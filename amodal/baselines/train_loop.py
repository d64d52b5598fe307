"""Generic training loop of the baselines: seeded, step or time budget, JSON lines, atomic checkpoints.

`train_baseline(name, data, out_dir, cfg)` loads the dataset WITHOUT amodal fields, holds out a
fraction of the videos for a self-supervised validation loss (computed with `model.eval()` and
`torch.no_grad()` on fixed batches), trains with Adam (rate halved every `lr_halve_every` steps),
and writes into `out_dir`: `config.yaml` (resolved), `log.jsonl` (one JSON record per logged
step, `kind` = train | val | end) and `checkpoint.pt` (see `checkpoint.py`), rewritten atomically
every `ckpt_every` steps and at the end.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
import yaml

from amodal.baselines.checkpoint import save_baseline_checkpoint
from amodal.baselines.config import BaselineConfig, config_dict
from amodal.errors import TrainingError
from amodal.utils.files import atomic_write_text, prepare_output_dir


def split_videos(video_ids: List[int], val_fraction: float) -> Tuple[List[int], List[int]]:
    """Last ceil(fraction * n) videos (at least 1 when n >= 2 and fraction > 0) for validation."""
    n = len(video_ids)
    n_val = 0 if n < 2 or val_fraction <= 0 else min(n - 1, max(1, math.ceil(val_fraction * n)))
    return list(video_ids[: n - n_val]), list(video_ids[n - n_val:])


def build_task(name: str, dataset: Any, train_ids: List[int], val_ids: List[int], cfg: BaselineConfig) -> Any:
    """The task object of a baseline (model factory, batch samplers, loss)."""
    if name == "pcnet":
        from amodal.baselines.pcnet_train import PCNetTask

        return PCNetTask(dataset, train_ids, val_ids, cfg.model, cfg.train)
    if name == "savos":
        from amodal.baselines.savos_train import SaVosTask

        return SaVosTask(dataset, train_ids, val_ids, cfg.model, cfg.train)
    raise TrainingError(f"unknown baseline {name!r}")


def _scalars(terms: Dict[str, Any]) -> Dict[str, float]:
    return {k: float(v.detach()) if hasattr(v, "detach") else float(v) for k, v in terms.items()}


def train_baseline(name: str, data: Union[str, Path], out_dir: Union[str, Path], cfg: BaselineConfig,
                   overwrite: bool = False, image_root: Optional[str] = None, quiet: bool = False) -> Dict[str, Any]:
    """Train baseline `name` on the dataset `data` (native JSON); returns the last logged values.

    Stops at `cfg.train.steps` steps or after `cfg.train.minutes` minutes (> 0), whichever first.
    """
    import torch

    from amodal.data.format import load_dataset

    tc = cfg.train
    dataset = load_dataset(data, image_root=image_root, read_amodal=False, check_files=(name == "savos"))
    out = prepare_output_dir(out_dir, overwrite)  # after the inputs are known to be good
    torch.set_num_threads(max(1, tc.threads))
    torch.manual_seed(tc.seed)
    rng = np.random.default_rng(tc.seed)
    train_ids, val_ids = split_videos([v.id for v in dataset.videos], tc.val_fraction)
    task = build_task(name, dataset, train_ids, val_ids, cfg)
    model = task.build_model()
    resolved = {"baseline": name, "data": str(data), "model": config_dict(cfg.model), "train": config_dict(tc)}
    atomic_write_text(out / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))
    val_batches = []
    if task.val is not None and tc.val_batches > 0:
        vrng = np.random.default_rng(tc.seed + 1)
        val_batches = [task.val_batch(vrng) for _ in range(tc.val_batches)]
    opt = torch.optim.Adam(model.parameters(), lr=tc.lr)
    sched = (torch.optim.lr_scheduler.StepLR(opt, step_size=tc.lr_halve_every, gamma=0.5)
             if tc.lr_halve_every > 0 else None)
    ckpt_path = out / "checkpoint.pt"
    model_dict = config_dict(cfg.model)
    start = time.monotonic()
    deadline = start + tc.minutes * 60 if tc.minutes > 0 else math.inf
    last: Dict[str, Any] = {}
    step = 0
    log = open(out / "log.jsonl", "a", encoding="utf-8")

    def write(kind: str, values: Dict[str, Any]) -> None:
        rec = {"kind": kind, "step": step, "elapsed_s": round(time.monotonic() - start, 2), **values}
        log.write(_json(rec) + "\n")
        log.flush()
        if not quiet:
            print(f"[{name}] {kind} step {step}: " + ", ".join(f"{k}={v:.4g}" for k, v in values.items()
                                                                if isinstance(v, float)), flush=True)

    try:
        while step < tc.steps and time.monotonic() < deadline:
            model.train()
            batch = task.train_batch(rng)
            terms = task.loss(model, batch)
            total = terms["total"]
            if not torch.isfinite(total):
                raise TrainingError(f"{name}: loss became {float(total)} at step {step}; stopping")
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            if sched is not None:
                sched.step()
            step += 1
            if step % tc.log_every == 0 or step == 1:
                last = {**_scalars(terms), "lr": opt.param_groups[0]["lr"]}
                write("train", last)
            if val_batches and step % tc.val_every == 0:
                write("val", evaluate(task, model, val_batches))
            if step % tc.ckpt_every == 0:
                save_baseline_checkpoint(ckpt_path, name, model, model_dict, step)
        final = evaluate(task, model, val_batches) if val_batches else {}
        if final:
            write("val", final)
        save_baseline_checkpoint(ckpt_path, name, model, model_dict, step)
        write("end", {"steps": float(step), "minutes": (time.monotonic() - start) / 60})
    finally:
        log.close()
    return {"steps": step, "train": last, "val": final, "checkpoint": str(ckpt_path)}


def evaluate(task: Any, model: Any, batches: List[Any]) -> Dict[str, float]:
    """Mean loss terms over fixed validation batches, in eval mode without gradients."""
    import torch

    was_training = model.training
    model.eval()
    sums: Dict[str, float] = {}
    with torch.no_grad():
        for b in batches:
            for k, v in _scalars(task.loss(model, b)).items():
                sums[k] = sums.get(k, 0.0) + v
    model.train(was_training)
    return {f"val_{k}": v / len(batches) for k, v in sums.items()}


def _json(rec: Dict[str, Any]) -> str:
    import json

    return json.dumps({k: (v if not isinstance(v, float) or math.isfinite(v) else str(v)) for k, v in rec.items()})
