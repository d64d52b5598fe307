"""End-to-end streaming (decode + predict, frame by frame) and offline (bidirectional) throughput.

Measured through the public API (`amodal.api.AmodalPredictor`) when it is available, else
through `amodal.inference.session.AmodalSession` directly. Three modes: "own" (frames only: the
model's visible-mask network + tracker), "motion" (frames only: objects from motion, the
`motion` detector, + tracker) and "given" (ground-truth visible masks of the world are passed with
every frame; reading them from the annotations is done before timing).
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from amodal.bench.stats import median, percentile, rnd
from amodal.bench.worlds import World

MODES = ("own", "motion", "given")
MODE_NAMES = {"own": "own visible-mask network (frames only)", "motion": "objects from motion (frames only)",
              "given": "visible masks given"}


def make_predictor(model: Any, max_objects: int = 16, detector: Optional[str] = None) -> Tuple[Any, str]:
    """(object with step(image, masks) and reset(), driver name) for a model on the CPU."""
    try:
        from amodal.api import AmodalPredictor
    except ImportError:  # the public API has not landed: measure the session itself
        from amodal.inference.session import AmodalSession

        return AmodalSession(model, device="cpu", max_objects=max_objects, detector=detector), "AmodalSession"
    return AmodalPredictor(model, device="cpu", max_objects=max_objects, max_side=None, detector=detector), \
        "AmodalPredictor"


def mode_model(models: Any, mode: str) -> Dict[str, Any]:
    """`make_predictor` arguments of a benchmark mode: "given" the model without a visible net, else
    the full one with the mode's detector."""
    if mode == "given":
        return {"model": models.given}
    return {"model": models.own, "detector": "motion" if mode == "motion" else "network"}


def stream_once(predictor: Any, world: World, given: bool, backend: str = "decord",
                limit: Optional[int] = None) -> Dict[str, Any]:
    """Stream the world's video through `predictor`, decoding each frame just before its step.

    Returns:
        {"frames", "fps" (frames / sum of per-frame times), "latency_ms" (decode + step, per frame),
        "step_ms" (the predictor's own latency), "objects" (objects returned, per frame)}.
    """
    from amodal.data.readers import open_source

    predictor.reset()
    lat: List[float] = []
    step_ms: List[float] = []
    objects: List[int] = []
    with open_source(world.video, backend=backend) as src:
        t_prev = time.perf_counter()
        for frame in src:
            if limit is not None and frame.index >= limit:
                break
            res = predictor.step(frame.image, world.masks[frame.index] if given else None)
            now = time.perf_counter()
            lat.append((now - t_prev) * 1000.0)
            t_prev = now
            step_ms.append(float(res.latency_ms))
            objects.append(int(res.num_objects))
    total_s = sum(lat) / 1000.0
    return {"frames": len(lat), "fps": len(lat) / total_s if total_s > 0 else float("nan"), "latency_ms": lat,
            "step_ms": step_ms, "objects": objects}


def summarize_runs(runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Median over runs of fps, latency median / 95th percentile, step latency and objects per frame."""
    return {
        "fps": rnd(median(r["fps"] for r in runs), 1),
        "fps_runs": [rnd(r["fps"], 1) for r in runs],
        "latency_p50_ms": rnd(median(percentile(r["latency_ms"], 50) for r in runs), 2),
        "latency_p95_ms": rnd(median(percentile(r["latency_ms"], 95) for r in runs), 2),
        "step_p50_ms": rnd(median(percentile(r["step_ms"], 50) for r in runs), 2),
        "objects_per_frame": rnd(median(sum(r["objects"]) / max(len(r["objects"]), 1) for r in runs), 2),
        "frames": runs[0]["frames"] if runs else 0,
    }


def bench_streaming(models: Any, worlds: List[World], repeats: int, decode_fps: Optional[float] = None,
                    log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Streaming figures for every world and mode.

    Returns:
        {"driver": name, "rows": [{"objects", "mode", "fps", "latency_p50_ms", ..., "ratio_to_decode"}]}.
    """
    rows = []
    driver = ""
    for mode in MODES:
        predictor, driver = make_predictor(**mode_model(models, mode))
        for world in worlds:
            given = mode == "given"
            stream_once(predictor, world, given, limit=min(10, world.frames))  # warm-up (allocations, caches)
            runs = [stream_once(predictor, world, given) for _ in range(repeats)]
            row = {"objects": world.objects, "mode": mode, "visible_objects_gt": rnd(world.mean_visible_objects, 2),
                   **summarize_runs(runs)}
            row["ratio_to_decode"] = rnd(row["fps"] / decode_fps, 3) if decode_fps else float("nan")
            rows.append(row)
            log(f"  stream {mode:5s} {world.objects} objects: {row['fps']:.1f} frames/s, "
                f"p50 {row['latency_p50_ms']:.1f} ms, p95 {row['latency_p95_ms']:.1f} ms, "
                f"{row['objects_per_frame']:.1f} objects/frame")
    return {"driver": driver, "rows": rows}


def _frames(world: World, limit: int) -> Iterator[Any]:
    from amodal.data.readers import open_source

    with open_source(world.video, backend="decord") as src:
        for frame in src:
            if frame.index >= limit:
                return
            yield frame


def offline_once(model: Any, world: World, given: bool, limit: int, detector: Optional[str] = None) -> Dict[str, Any]:
    """Offline (bidirectional) pass over the first `limit` frames, decoding included.

    Returns:
        {"frames", "seconds", "fps"}.
    """
    n = min(limit, world.frames)
    masks = world.masks[:n] if given else None
    t0 = time.perf_counter()
    try:
        from amodal.api import AmodalPredictor
    except ImportError:
        from amodal.inference.offline import run_offline

        images = [f.image for f in _frames(world, n)]
        results = run_offline(model, images, masks, device="cpu", detector=detector)
    else:
        predictor = AmodalPredictor(model, device="cpu", max_side=None, detector=detector)
        results = list(predictor.predict_video(_frames(world, n), visible_masks=masks, mode="offline"))
    dt = time.perf_counter() - t0
    return {"frames": len(results), "seconds": dt, "fps": len(results) / dt if dt > 0 else float("nan")}


def bench_offline(models: Any, worlds: List[World], repeats: int, frames: int,
                  log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Offline frames/s (median over `repeats`) for every world and mode."""
    rows = []
    for mode in MODES:
        for world in worlds:
            runs = [offline_once(world=world, given=mode == "given", limit=frames, **mode_model(models, mode))
                    for _ in range(repeats)]
            row = {"objects": world.objects, "mode": mode, "frames": runs[0]["frames"],
                   "fps": rnd(median(r["fps"] for r in runs), 1), "fps_runs": [rnd(r["fps"], 1) for r in runs]}
            rows.append(row)
            log(f"  offline {mode:5s} {world.objects} objects: {row['fps']:.1f} frames/s")
    return {"rows": rows}


def bench_threads(models: Any, world: World, threads: int, log: Callable[[str], None] = print) -> Dict[str, Any]:
    """One streaming run per mode with 1 torch thread and with `threads`, to show the thread setting's effect.

    On a shared, busy CPU the threads of a parallel region wait for each other, so small networks
    can be much slower with 2 threads than with 1; on a quiet machine 2 threads should help.
    """
    import torch

    rows = []
    try:
        for n in sorted({1, int(threads)}):
            torch.set_num_threads(n)
            for mode in MODES:
                predictor, _ = make_predictor(**mode_model(models, mode))
                stream_once(predictor, world, mode == "given", limit=min(10, world.frames))
                run = stream_once(predictor, world, mode == "given")
                rows.append({"threads": n, "mode": mode, "objects": world.objects, "fps": rnd(run["fps"], 1),
                             "latency_p50_ms": rnd(percentile(run["latency_ms"], 50), 2)})
                log(f"  {n} thread(s), {mode}: {rows[-1]['fps']:.1f} frames/s")
    finally:
        torch.set_num_threads(int(threads))
    return {"rows": rows}
