"""The benchmark report: docs/BENCHMARKS.md (tables, targets, plots), benchmarks.json, terminal table."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

from amodal.bench.settings import BenchSettings
from amodal.bench.stats import fmt
from amodal.bench.targets import check_targets
from amodal.utils.files import atomic_write_text

MODE_LABEL = {"own": "own visible net (frames only)", "motion": "objects from motion (frames only)",
              "given": "visible masks given"}
# The run folders of the shipped checkpoint's recipe, in order (docs/TRAINING.md "The shipped checkpoint's recipe":
# stage 1, stage 1b's five rounds, stage 2, stage 3).
RECIPE_RUNS = ("runs/default", "runs/default_more", "runs/default_more2", "runs/default_more3", "runs/default_more4",
               "runs/default_more5", "runs/default_visible", "runs/default_hqflow")
TARGET_LABEL = {"own": "≥ 30", "given": "≥ 100"}  # streaming targets per mode, up to 4 objects (none for motion)


def _table(header: List[str], rows: List[List[Any]]) -> List[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return lines + [""]


def _rel(path: Path, start: Path) -> str:
    return os.path.relpath(path, start).replace(os.sep, "/")


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(results: Dict[str, Any], path: Path) -> Path:
    atomic_write_text(path, json.dumps(_json_safe(results), indent=1) + "\n")
    return path


def make_plots(results: Dict[str, Any], settings: BenchSettings) -> Dict[str, str]:
    """Write the plots that have data; {name: path}."""
    from amodal.bench import plots

    out: Dict[str, str] = {}
    img = settings.images_dir
    stream = results.get("stream")
    if stream and stream.get("rows"):
        dec = ((results.get("decode") or {}).get("decord") or {}).get("fps", float("nan"))
        out["streaming"] = str(plots.plot_streaming(stream, dec, img / "bench_streaming.png"))
    mem = results.get("memory")
    if mem and mem.get("samples"):
        out["memory"] = str(plots.plot_memory(mem, img / "bench_memory.png"))
    prof = [p for p in (results.get("profile") or {}).get("components", []) if p.get("components")]
    if prof:
        out["profile"] = str(plots.plot_profile(prof, img / "bench_profile.png"))
    return out


def _machine(results: Dict[str, Any]) -> List[str]:
    m = results["machine"]
    load_before, load_after = results.get("load_before"), results.get("load_after")
    rows = [["CPU", m["cpu"]], ["cores (os.cpu_count)", m["cores"]], ["OS", m["os"]], ["Python", m["python"]],
            ["torch", f"{m['torch']} ({m['torch_threads']} intra-op threads)"], ["OpenCV", m.get("opencv")],
            ["decord", m.get("decord")], ["amodal", m.get("amodal")],
            ["thread variables", ", ".join(f"{k}={v}" for k, v in (m.get("thread_env") or {}).items()) or "–"],
            ["load average (1/5/15 min) before", load_before], ["load average after", load_after],
            ["1-minute load average as each stage started",
             ", ".join(f"{k} {v[0]}" for k, v in (results.get("stage_load") or {}).items() if v) or "–"],
            ["date", results.get("date")], ["duration", f"{results.get('duration_s', 0) / 60:.1f} min"]]
    lines = ["## Machine", ""] + _table(["", ""], rows)
    cores = m.get("cores") or 1
    stage_loads = [v[0] for v in (results.get("stage_load") or {}).values() if v]
    if load_before and max([load_before[0], (load_after or [0])[0]] + stage_loads) > 0.5 * cores:
        lines += [f"**The machine was busy during this run** (load average {load_before[0]} before, "
                  f"{(load_after or ['?'])[0]} after, on {cores} cores): other processes shared the CPU, so the "
                  "figures below are lower bounds. Rerun `amodal bench` on a quiet machine for the reference numbers.", ""]
    return lines


def _stream_section(results: Dict[str, Any], settings: BenchSettings) -> List[str]:
    lines: List[str] = []
    dec = results.get("decode")
    if dec and "error" not in dec:
        lines += ["## Decoding only (the ceiling)", "",
                  f"The same {settings.size[0]}x{settings.size[1]} mp4 ({dec['decord']['frames']} frames), read with "
                  "`amodal.data.readers.open_source` and nothing else.", ""]
        lines += _table(["backend", "frames/s", "runs"],
                        [[b, fmt(dec[b]["fps"]), ", ".join(fmt(x) for x in dec[b]["runs"])] for b in ("decord", "opencv")])
    st = results.get("stream")
    if st and "error" not in st:
        lines += ["## Streaming, end to end", "",
                  f"Causal, frame by frame through `{st['driver']}.step`, decoding each frame (decord) just before its "
                  f"step; latency = decode + step of one frame. {settings.size[0]}x{settings.size[1]}, "
                  f"{settings.stream_frames} frames per video, generated worlds with exactly N objects. "
                  "\"objects/frame\" is what the predictor returned (in own-network mode: what the visible net "
                  "found; in motion mode: the regions that moved, `--detector motion`).", ""]
        rows = []
        for r in st["rows"]:
            rows.append([r["objects"], MODE_LABEL[r["mode"]], fmt(r["fps"]), fmt(r["latency_p50_ms"]),
                         fmt(r["latency_p95_ms"]), fmt(r["step_p50_ms"]), fmt(r["objects_per_frame"]),
                         fmt(r.get("ratio_to_decode"), 3),
                         TARGET_LABEL.get(r["mode"], "–") if r["objects"] <= 4 else "–"])
        lines += _table(["objects", "mode", "frames/s", "latency p50 (ms)", "latency p95 (ms)", "step only p50 (ms)",
                         "objects/frame", "ratio to decode-only", "target frames/s"], rows)
        if (results.get("plots") or {}).get("streaming"):
            lines += [f"![streaming]({_rel(Path(results['plots']['streaming']), settings.out_dir)})", ""]
    off = results.get("offline")
    if off and "error" not in off:
        lines += ["## Offline (bidirectional) mode", "",
                  f"`predict_video(..., mode=\"offline\")` over the first {settings.offline_frames} frames (decoding "
                  "included): a causal pass forward, one backward, fused.", ""]
        lines += _table(["objects", "mode", "frames", "frames/s"],
                        [[r["objects"], MODE_LABEL[r["mode"]], r["frames"], fmt(r["fps"])] for r in off["rows"]])
    thr = results.get("threads")
    if thr and "error" not in thr and thr.get("rows"):
        lines += ["## Thread setting", "",
                  "One streaming run of the same world per mode with 1 torch thread and with the benchmark's setting. "
                  "On a busy shared CPU the threads of each parallel region wait for one another, so the small "
                  "networks here can be much slower with 2 threads than with 1.", ""]
        lines += _table(["torch threads", "mode", "objects", "frames/s", "latency p50 (ms)"],
                        [[r["threads"], MODE_LABEL[r["mode"]], r["objects"], fmt(r["fps"]), fmt(r["latency_p50_ms"])]
                         for r in thr["rows"]])
    return lines


def _profile_section(results: Dict[str, Any], settings: BenchSettings) -> List[str]:
    prof = results.get("profile")
    if not prof or "error" in prof:
        return []
    lines = ["## Where the time goes", "",
             "One end-to-end streaming run per mode with every pipeline stage wrapped by a timer (exclusive time: "
             "a stage's callees are charged to themselves). \"session glue\" is the session's own code between "
             "stages (building crop inputs, sigmoid, confidences); \"other\" is the API layer and the loop.", ""]
    comps = prof.get("components", [])
    labels: List[str] = []
    for p in comps:
        labels += [c["component"] for c in p["components"] if c["component"] not in labels]
    header = ["component"] + [f"{p['mode']}, {p['objects']} obj: ms/frame (share)" for p in comps]
    rows = []
    for lab in labels:
        row = [lab]
        for p in comps:
            c = next((x for x in p["components"] if x["component"] == lab), None)
            row.append("–" if c is None else f"{c['ms_per_frame']:.2f} ({100 * c['share']:.0f}%)")
        rows.append(row)
    rows.append(["**total**"] + [f"**{p['ms_per_frame']:.2f}** ({fmt(p['fps'])} frames/s)" for p in comps])
    lines += _table(header, rows)
    if (results.get("plots") or {}).get("profile"):
        lines += [f"![profile]({_rel(Path(results['plots']['profile']), settings.out_dir)})", ""]
    for cp in prof.get("cprofile", []):
        lines += [f"cProfile, {cp['mode']} mode, {cp['objects']} objects ({cp['frames']} frames, "
                  f"{fmt(cp['fps_under_profiler'])} frames/s under the profiler), functions by own time:", ""]
        lines += _table(["function", "own ms/frame", "cumulative ms/frame", "calls/frame"],
                        [[f"`{r['function']}`", fmt(r["tottime_ms_per_frame"], 3), fmt(r["cumtime_ms_per_frame"], 3),
                          fmt(r["calls_per_frame"], 1)] for r in cp["top"]])
    return lines


def loops_text(frames: int, video_frames: int) -> str:
    """How `frames` streamed frames cover a `video_frames`-frame video, e.g. "7 loops and 4 frames of the 8-frame"."""
    full, rest = divmod(int(frames), max(int(video_frames), 1))
    parts = [f"{full} loop{'s' if full != 1 else ''}"] if full else []
    parts += [f"{rest} frame{'s' if rest != 1 else ''}"] if rest else []
    return f"{' and '.join(parts)} of the {video_frames}-frame"


def _memory_section(results: Dict[str, Any], settings: BenchSettings) -> List[str]:
    mem = results.get("memory")
    if not mem or "error" in mem:
        return []
    looped = loops_text(mem["frames"], mem.get("video_frames") or settings.stream_frames)
    lines = ["## Memory over a long stream", "",
             f"{mem['frames']} frames streamed ({looped} 4-object world, decoded again each loop) through "
             f"`{mem['driver']}.step` with visible masks given, "
             "objects coming and going: new ids every loop, and each object absent for a while "
             "(sometimes shorter than the session's `max_lost`, sometimes longer). "
             f"Resident memory (VmRSS) sampled every {mem['every']} frames in a {mem['process']} "
             f"with {mem.get('threads', '?')} torch thread(s) (this stage measures memory, not speed).", ""]
    rows = [["RSS after the first frame", f"{mem['start_mb']:.1f} MB"],
            [f"RSS at frame {mem['warm_start_frame']} (after warm-up)",
             f"{next(s['rss_mb'] for s in mem['samples'] if s['frame'] >= mem['warm_start_frame']):.1f} MB"],
            ["RSS at the end", f"{mem['end_mb']:.1f} MB"], ["max RSS", f"{mem['max_mb']:.1f} MB"],
            ["growth, first frame -> end", f"{mem['growth_mb']:.1f} MB"],
            ["max growth after warm-up (target < 50 MB)", f"{mem['warm_max_growth_mb']:.1f} MB"],
            ["most objects holding a memory", mem["max_objects_in_memory"]],
            ["most memory entries held", mem["max_memory_entries"]],
            ["ms per frame, first / last window", f"{fmt(mem['samples'][1]['ms_per_frame'] if len(mem['samples']) > 1 else None)}"
             f" / {fmt(mem['samples'][-1]['ms_per_frame'])}"]]
    lines += _table(["", ""], rows)
    if (results.get("plots") or {}).get("memory"):
        lines += [f"![memory]({_rel(Path(results['plots']['memory']), settings.out_dir)})", ""]
    return lines


def _training_section(results: Dict[str, Any]) -> List[str]:
    lines: List[str] = []
    tr = results.get("training")
    if tr and "error" not in tr:
        lines += ["## Training throughput", "",
                  f"`amodal.engine.trainer.train` with the measured model's recipe (batch {tr['batch_size']} clips of "
                  f"{tr['clip_length']} frames, up to {tr['max_objects']} objects, crop {tr['crop_size']}, width "
                  f"{tr['width']}, {tr['num_workers']} data worker(s)), {tr['steps_per_run']} steps per run on "
                  f"{tr['data']}; median seconds per step, the first step excluded.", ""]
        lines += _table(["clips/s", "s/step", "runs (clips/s)"],
                        [[fmt(tr["clips_per_s"], 2), fmt(tr["sec_per_step"], 3),
                          ", ".join(fmt(x, 2) for x in tr["clips_per_s_runs"])]])
    rec = results.get("recipe")
    lines += ["## Time for the default recipe to reach its quality", ""]
    if rec and "error" not in rec:
        rows = [[f"stage {i + 1}", f"`{st['log']}`", st["steps"], f"{st['total_minutes']:.1f} min"]
                for i, st in enumerate(rec["stages"])]
        rows.append(["whole recipe", "", sum(st["steps"] for st in rec["stages"]), f"{rec['total_minutes']:.1f} min"])
        lines += _table(["", "log", "steps", "wall time"], rows)
        if rec.get("metric"):
            lines += [f"Last validation: {rec['metric']} = {rec['final']}, first reached (within 1 %) at step "
                      f"{rec['reached_step']} of its stage; the recipe reached its quality after "
                      f"{rec['reached_minutes']:.1f} min.", ""]
        lines += ["Wall times are read from the runs' logs: they include whatever else shared the machine then. "
                  "Target: < 30 min on this machine.", ""]
    else:
        lines += ["Not measured: give the finished runs of the recipe's stages with "
                  f"`amodal bench --train-log {','.join(RECIPE_RUNS)}` (their `log.jsonl`). Target: < 30 min.", ""]
    return lines


def _generator_section(results: Dict[str, Any]) -> List[str]:
    gen = results.get("generator")
    if not gen or "error" in gen:
        return []
    lines = ["## Synthetic generator throughput", "",
             f"`generate_dataset` with the default generator settings, {gen['videos']} videos x {gen['frames']} frames "
             f"at {gen['size'][0]}x{gen['size'][1]} per run, PNG frames + mp4 + annotations written (worker start-up "
             "included).", ""]
    return lines + _table(["workers", "frames/s", "runs"],
                          [[r["workers"], fmt(r["fps"]), ", ".join(fmt(x) for x in r["fps_runs"])] for r in gen["rows"]])


def render_markdown(results: Dict[str, Any], settings: BenchSettings) -> str:
    """The whole report as markdown."""
    quick = " (**--quick smoke run: tiny sizes, not representative**)" if settings.quick else ""
    lines = ["# Benchmarks", "",
             f"Generated by `amodal bench`{quick}; do not edit by hand. Every figure is the median of "
             f"{settings.repeats} run(s) on this machine's CPU with `torch.set_num_threads({settings.threads})`. "
             "Raw numbers: "
             f"[`{_rel(settings.json_path, settings.out_dir)}`]({_rel(settings.json_path, settings.out_dir)}).", ""]
    lines += ["## Summary against the targets", ""]
    lines += _table(["target", "goal", "measured", "status"],
                    [[t["target"], t["goal"], t["measured"], t["status"]] for t in results["targets"]])
    lines += _machine(results)
    lines += ["## Model measured", "", results["model"]["description"] + ".",
              "Speed does not depend on the weights' values; the number of objects an untrained visible net finds "
              "does (see \"objects/frame\")." if results["model"]["visible_weights"] == "random" else "", ""]
    lines += _stream_section(results, settings)
    lines += _profile_section(results, settings)
    lines += _memory_section(results, settings)
    lines += _training_section(results)
    lines += _generator_section(results)
    errors = {k: v["error"] for k, v in results.items() if isinstance(v, dict) and "error" in v}
    if errors:
        lines += ["## Stages that failed", ""] + [f"- {k}: `{v}`" for k, v in errors.items()] + [""]
    lines += ["## Reproduce", "", "```", results.get("command", "amodal bench --out docs/BENCHMARKS.md"), "```", ""]
    return "\n".join(lines)


def write_report(results: Dict[str, Any], settings: BenchSettings) -> Path:
    """Targets, plots, JSON and markdown; returns the markdown path."""
    results["targets"] = check_targets(results)
    results["plots"] = make_plots(results, settings)
    write_json(results, settings.json_path)
    atomic_write_text(settings.out, render_markdown(results, settings))
    return Path(settings.out)


def terminal_table(results: Dict[str, Any]) -> str:
    """Plain-text summary for the terminal."""
    out = []
    dec = results.get("decode") or {}
    if "decord" in dec:
        out.append(f"decode only: decord {fmt(dec['decord']['fps'])} frames/s, opencv {fmt(dec['opencv']['fps'])} frames/s")
    st = results.get("stream") or {}
    if st.get("rows"):
        out.append(f"{'objects':>7}  {'mode':<6} {'frames/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'obj/frame':>9}")
        for r in st["rows"]:
            out.append(f"{r['objects']:>7}  {r['mode']:<6} {fmt(r['fps']):>9} {fmt(r['latency_p50_ms']):>8} "
                       f"{fmt(r['latency_p95_ms']):>8} {fmt(r['objects_per_frame']):>9}")
    for r in (results.get("offline") or {}).get("rows", []):
        out.append(f"offline {r['mode']:<5} {r['objects']} objects: {fmt(r['fps'])} frames/s")
    for r in (results.get("threads") or {}).get("rows", []):
        out.append(f"{r['threads']} torch thread(s), {r['mode']:<5} {r['objects']} objects: {fmt(r['fps'])} frames/s")
    mem = results.get("memory") or {}
    if "warm_max_growth_mb" in mem:
        out.append(f"memory: {mem['start_mb']:.1f} -> {mem['end_mb']:.1f} MB over {mem['frames']} frames, "
                   f"max growth after warm-up {mem['warm_max_growth_mb']:.1f} MB")
    tr = results.get("training") or {}
    if "clips_per_s" in tr:
        out.append(f"training: {fmt(tr['clips_per_s'], 2)} clips/s")
    for r in (results.get("generator") or {}).get("rows", []):
        out.append(f"generator {r['workers']} worker(s): {fmt(r['fps'])} frames/s")
    for t in results.get("targets", []):
        out.append(f"[{t['status']}] {t['target']}: {t['measured']} (goal {t['goal']})")
    return "\n".join(out)


def error_text(exc: BaseException) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}"[:300]


def stage_error(results: Dict[str, Any]) -> Optional[str]:
    """Names of the stages that failed, or None."""
    bad = [k for k, v in results.items() if isinstance(v, dict) and "error" in v]
    return ", ".join(bad) if bad else None
