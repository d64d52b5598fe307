"""`run_benchmark(settings)`: generate the test worlds, run every stage, write the report.

What the user gave is checked before any stage runs (settings, --out, --config, --checkpoint,
the --train-log runs): an error there stops the benchmark with one line. A stage that fails
later (any error, also an AmodalError) is recorded with its error in the results and the report,
and the other stages still run; `run_benchmark` returns the results and the CLI exits non-zero
when a stage failed.

The generated data goes to a new folder (a temporary one, removed after, or a new sub-folder of
`--work-dir`, kept), so files the benchmark did not make are never overwritten or deleted.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from amodal.bench.settings import BenchSettings


def _pick(worlds: List[Any], objects: int) -> Any:
    """The world with the object count closest to `objects`."""
    return min(worlds, key=lambda w: (abs(w.objects - objects), w.objects))


def _stage(results: Dict[str, Any], name: str, fn: Callable[[], Any], log: Callable[[str], None]) -> None:
    from amodal.bench.machine import load_average
    from amodal.bench.report import error_text

    load = load_average()
    results.setdefault("stage_load", {})[name] = load
    log(f"[{name}] (load average {load[0] if load else '?'})")
    t0 = time.perf_counter()
    try:
        results[name] = fn()
    except Exception as exc:  # record and go on (the user's input was checked up front): one failure hides no other
        results[name] = {"error": error_text(exc)}
        log(f"  FAILED: {results[name]['error']}")
    log(f"  ({time.perf_counter() - t0:.1f} s)")


def run_benchmark(settings: BenchSettings, log: Optional[Callable[[str], None]] = None,
                  command: Optional[str] = None) -> Dict[str, Any]:
    """Run the benchmark described by `settings` and write the report, plots and JSON.

    Returns:
        The results dict (also written to `settings.json_path`).
    """
    from amodal.bench.machine import load_average, machine_info
    from amodal.bench.models import load_bench_models
    from amodal.bench.report import terminal_table, write_report
    from amodal.bench.worlds import make_world
    from amodal.utils.threads import set_threads

    settings = settings.validated()
    if log is None:
        log = (lambda msg: print(msg, file=sys.stderr, flush=True)) if settings.progress else (lambda msg: None)
    set_threads(settings.threads)
    t_start = time.perf_counter()
    results: Dict[str, Any] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command or "amodal bench",
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(settings).items()},
        "machine": machine_info(),
        "load_before": load_average(),
    }
    recipe = _recipe(settings)
    models = load_bench_models(settings.checkpoint, settings.config, settings.seed)
    results["model"] = models.info()
    log(f"model: {models.description}")
    temp = settings.work_dir is None
    work = _new_work_dir(settings.work_dir)
    stages = set(settings.stages)
    try:
        log(f"generating {len(settings.objects)} test videos ({settings.stream_frames} frames, "
            f"{settings.size[0]}x{settings.size[1]}) in {work}")
        worlds = [make_world(work / f"world_{n}", n, settings.stream_frames, settings.size, settings.seed + n)
                  for n in settings.objects]
        main = _pick(worlds, 4)
        if "decode" in stages:
            from amodal.bench.decode import bench_decode

            _stage(results, "decode", lambda: bench_decode(main.video, settings.repeats), log)
        decode_fps = ((results.get("decode") or {}).get("decord") or {}).get("fps")
        if "stream" in stages:
            from amodal.bench.stream import bench_streaming

            _stage(results, "stream", lambda: bench_streaming(models, worlds, settings.repeats, decode_fps, log), log)
        if "offline" in stages:
            from amodal.bench.stream import bench_offline

            _stage(results, "offline", lambda: bench_offline(models, [main], settings.repeats,
                                                             settings.offline_frames, log), log)
        if "threads" in stages:
            from amodal.bench.stream import bench_threads

            _stage(results, "threads", lambda: bench_threads(models, main, settings.threads, log), log)
        if "profile" in stages:
            _stage(results, "profile", lambda: _profile(models, main), log)
        if "memory" in stages:
            from amodal.bench.memory import bench_memory

            _stage(results, "memory", lambda: bench_memory(
                main.video, main.annotations, settings.memory_frames, settings.memory_every, settings.checkpoint,
                settings.config, settings.seed, settings.memory_threads, settings.memory_subprocess), log)
        if "training" in stages:
            from amodal.bench.training import bench_training

            _stage(results, "training", lambda: bench_training(
                models.config, work, settings.train_steps, settings.train_videos, settings.train_frames,
                settings.size, settings.repeats, settings.seed, log), log)
        if recipe is not None:
            _stage(results, "recipe", lambda: recipe, log)
        if "generator" in stages:
            from amodal.bench.generator import bench_generator

            _stage(results, "generator", lambda: bench_generator(
                work, settings.gen_videos, settings.gen_frames, settings.size, settings.repeats, settings.seed, log=log),
                log)
    finally:
        if temp:
            shutil.rmtree(work, ignore_errors=True)
    results["load_after"] = load_average()
    results["duration_s"] = round(time.perf_counter() - t_start, 1)
    path = write_report(results, settings)
    print(terminal_table(results))
    log(written_line(path, settings, results.get("plots") or {}))
    return results


def written_line(path: Path, settings: BenchSettings, plots: Dict[str, str]) -> str:
    """The closing log line: the files written (plots only when some were)."""
    if plots:
        return f"wrote {path}, {settings.json_path} and plots in {settings.images_dir}"
    return f"wrote {path} and {settings.json_path} (no plots)"


def _recipe(settings: BenchSettings) -> Optional[Dict[str, Any]]:
    """The --train-log runs' times, read before any stage runs (a bad log stops the benchmark up front)."""
    from amodal.bench.training import recipe_stages_time

    return recipe_stages_time(settings.train_log) if settings.train_log else None


def _new_work_dir(parent: Optional[Path]) -> Path:
    """A new, empty folder for the generated data: a temporary one, or a new sub-folder of `parent`
    (--work-dir) so that nothing already there is overwritten or deleted."""
    if parent is None:
        return Path(tempfile.mkdtemp(prefix="amodal_bench_"))
    Path(parent).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="bench_", dir=parent))


def _profile(models: Any, world: Any) -> Dict[str, Any]:
    from amodal.bench.profiling import cprofile_stream, profile_components

    comps = [profile_components(models.own, world, given=False), profile_components(models.given, world, given=True)]
    cprof = [cprofile_stream(models.own, world, given=False), cprofile_stream(models.given, world, given=True)]
    return {"components": comps, "cprofile": cprof}
