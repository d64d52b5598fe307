"""Resident memory over a long stream: it must stay flat (bounded memory, no leaks).

A world's video is looped (decoded again each loop) for `frames` frames through the streaming
predictor with its ground-truth visible masks, and objects come and go: every loop gives the
objects new ids (all old objects disappear, new ones appear), and within a loop each object
leaves for a while, sometimes shorter than the session's `max_lost` (its memory is kept),
sometimes longer (its memory must be dropped). RSS (VmRSS) is sampled every `every` frames.

By default the run happens in a fresh process (spawn), so the baseline is not inflated or
masked by the earlier benchmark stages.
"""
from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from amodal.bench.machine import rss_mb
from amodal.bench.stats import rnd

LOOP_ID_STRIDE = 1000
ABSENCE_PERIOD = 80


def churn(masks: Dict[int, np.ndarray], t: int, loop: int) -> Dict[int, np.ndarray]:
    """Frame t's masks with objects coming and going (see the module docstring)."""
    out = {}
    for k, (oid, m) in enumerate(sorted(masks.items())):
        gap = 20 if k % 2 == 0 else 45  # shorter / longer than the session's max_lost (30)
        if (t + 17 * k) % ABSENCE_PERIOD < gap:
            continue
        out[oid + LOOP_ID_STRIDE * loop] = m
    return out


def memory_run(video: str, annotations: str, frames: int, every: int, checkpoint: Optional[str] = None,
               config: Optional[str] = None, seed: int = 0, threads: int = 2) -> Dict[str, Any]:
    """Stream `frames` frames (looping the video) and sample RSS; see the module docstring.

    Returns:
        {"frames", "loops" (passes over the video, the last one maybe partial), "video_frames",
         "samples": [{"frame", "rss_mb", "objects_in_memory", "memory_entries", "ms_per_frame"}],
         "start_mb", "end_mb", "max_mb", "growth_mb", "max_growth_mb", "warm_growth_mb", "warm_max_growth_mb"}.
    """
    import torch

    from amodal.bench.models import load_bench_models
    from amodal.bench.stream import make_predictor
    from amodal.bench.worlds import visible_masks
    from amodal.data.readers import open_source

    torch.set_num_threads(threads)
    models = load_bench_models(Path(checkpoint) if checkpoint else None, Path(config) if config else None, seed)
    masks = visible_masks(Path(annotations))
    predictor, driver = make_predictor(models.given)
    session = getattr(predictor, "session", predictor)
    samples: List[Dict[str, Any]] = []
    done, loop = 0, 0
    t_window = time.perf_counter()
    while done < frames:
        with open_source(video) as src:
            for frame in src:
                if done >= frames:
                    break
                predictor.step(frame.image, churn(masks[frame.index], frame.index, loop))
                done += 1
                if done == 1 or done % every == 0 or done == frames:
                    now = time.perf_counter()
                    span = 1 if done == 1 else (done - samples[-1]["frame"])
                    samples.append({"frame": done, "rss_mb": rnd(rss_mb(), 2),
                                    "objects_in_memory": session.num_memories,
                                    "memory_entries": session.memory_entries,
                                    "ms_per_frame": rnd((now - t_window) * 1000.0 / max(span, 1), 2)})
                    t_window = now
        loop += 1
    rss = [s["rss_mb"] for s in samples]
    warm = [s["rss_mb"] for s in samples if s["frame"] >= every] or rss
    return {
        "frames": done, "every": every, "loops": loop, "video_frames": len(masks),
        "driver": driver, "mode": "given", "threads": threads,
        "samples": samples,
        "start_mb": rss[0], "end_mb": rss[-1], "max_mb": max(rss),
        "growth_mb": rnd(rss[-1] - rss[0], 2), "max_growth_mb": rnd(max(rss) - rss[0], 2),
        "warm_start_frame": every if len(warm) < len(rss) else 1,
        "warm_growth_mb": rnd(warm[-1] - warm[0], 2), "warm_max_growth_mb": rnd(max(warm) - warm[0], 2),
        "max_objects_in_memory": max(s["objects_in_memory"] for s in samples),
        "max_memory_entries": max(s["memory_entries"] for s in samples),
    }


def bench_memory(video: Path, annotations: Path, frames: int, every: int, checkpoint: Optional[Path] = None,
                 config: Optional[Path] = None, seed: int = 0, threads: int = 2, subprocess: bool = True) -> Dict[str, Any]:
    """`memory_run`, in a fresh spawned process when `subprocess` (the default), else in this one."""
    args = (str(video), str(annotations), int(frames), int(every), str(checkpoint) if checkpoint else None,
            str(config) if config else None, int(seed), int(threads))
    if not subprocess:
        res = memory_run(*args)
        res["process"] = "benchmark process"
        return res
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        res = pool.apply(memory_run, args)
    res["process"] = "fresh process"
    return res
