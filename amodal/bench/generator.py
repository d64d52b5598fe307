"""Synthetic generator throughput (frames per second written: PNG frames, mp4 and annotations)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Sequence, Tuple

from amodal.bench.stats import median, rnd


def generate_once(out_dir: Path, videos: int, frames: int, size: Tuple[int, int], workers: int, seed: int) -> Dict[str, Any]:
    """`generate_dataset` with the default generator settings; frames/s including writing (and
    the start-up of worker processes)."""
    from amodal.data.synth.config import load_synth_config, replace_size
    from amodal.data.synth.dataset import generate_dataset

    cfg = replace_size(load_synth_config(), size[0], size[1], frames)
    _, seconds = generate_dataset(cfg, Path(out_dir), videos=videos, seed=seed, workers=workers, with_mp4=True,
                                  overwrite=True, progress=False)
    n = videos * frames
    return {"frames": n, "seconds": seconds, "fps": n / seconds if seconds else float("nan")}


def bench_generator(work_dir: Path, videos: int, frames: int, size: Tuple[int, int], repeats: int, seed: int,
                    workers: Sequence[int] = (1, 2), log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Median generator frames/s over `repeats` runs for each worker count."""
    rows = []
    for w in workers:
        runs = [generate_once(Path(work_dir) / f"gen_w{w}", videos, frames, size, w, seed + r) for r in range(repeats)]
        rows.append({"workers": w, "fps": rnd(median(r["fps"] for r in runs), 1),
                     "fps_runs": [rnd(r["fps"], 1) for r in runs], "frames_per_run": runs[0]["frames"]})
        log(f"  generator {w} worker(s): {rows[-1]['fps']:.1f} frames/s")
    return {"videos": videos, "frames": frames, "size": list(size), "rows": rows}
