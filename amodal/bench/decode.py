"""Decode-only throughput of a video file: the ceiling of end-to-end streaming."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict

from amodal.bench.stats import median, rnd

BACKENDS = ("decord", "opencv")


def decode_once(video: Path, backend: str) -> Dict[str, float]:
    """Open `video` with `amodal.data.readers.open_source` and read every frame once.

    Returns:
        {"frames": n, "seconds": wall time including opening, "fps": n / seconds}.
    """
    from amodal.data.readers import open_source

    t0 = time.perf_counter()
    n = 0
    with open_source(video, backend=backend) as src:
        for frame in src:
            n += int(frame.image.size > 0)
    dt = time.perf_counter() - t0
    return {"frames": n, "seconds": dt, "fps": n / dt if dt > 0 else float("nan")}


def bench_decode(video: Path, repeats: int) -> Dict[str, Any]:
    """Median decode-only frames/s per backend over `repeats` runs (after one warm-up read)."""
    out: Dict[str, Any] = {"video": str(video)}
    for backend in BACKENDS:
        decode_once(video, backend)  # warm-up: file cache, library initialisation
        runs = [decode_once(video, backend) for _ in range(repeats)]
        out[backend] = {"fps": rnd(median(r["fps"] for r in runs), 1), "runs": [rnd(r["fps"], 1) for r in runs],
                        "frames": runs[0]["frames"]}
    return out
