"""`amodal infer`: amodal segmentation of video files, frame folders and live sources.

Writes per source `predictions.json`, `overlay.mp4`, optional PNG masks and `summary.json`
(see docs/INFERENCE.md). With several sources, each gets `OUT/<source name>/`; under torchrun
(RANK / WORLD_SIZE set) rank r takes sources[r::world].
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from amodal.config import DETECTORS

HELP = "segment videos, frame folders or live sources (writes predictions, overlay video, masks)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="SOURCE",
                        help="video file, frame folder, camera index (0) or stream URL (rtsp://, http://)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--checkpoint", metavar="CKPT", default=None,
                        help="model checkpoint (default: the shipped amodal/weights/default.pt)")
    parser.add_argument("--visible-masks", metavar="PATH", default=None,
                        help="take visible masks from a native JSON or a folder of instance-id PNGs "
                             "(SAM2/Cutie style) instead of the built-in segmentation")
    parser.add_argument("--mode", choices=("stream", "offline"), default="stream",
                        help="stream: causal, constant memory (default); offline: bidirectional, whole clip in memory")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--max-objects", type=int, default=16, metavar="N", help="most objects tracked at once (16)")
    parser.add_argument("--min-hits", type=int, default=None, metavar="N",
                        help="own visible net: report a new object once seen in N frames in a row (default 2; "
                             "the first N-1 frames report every detection)")
    parser.add_argument("--detector", choices=DETECTORS, default=None,
                        help="where objects come from without --visible-masks: the visible-mask 'network' (the "
                             "checkpoint's default), 'motion' (regions moving on their own: whole moving objects "
                             "on real footage, nothing still) or 'network+motion' (the network's unsure pieces "
                             "joined along moving regions)")
    parser.add_argument("--threshold", type=float, default=None, metavar="P",
                        help="amodal decision: hidden pixels join an object above this probability (checkpoint's, 0.5)")
    parser.add_argument("--hidden-frames", type=int, default=None, metavar="N",
                        help="an object no longer seen is still reported, hidden, for up to N frames while its "
                             "remembered shape lies behind other objects (checkpoint's, 10; 0: never)")
    parser.add_argument("--order-ratio", type=float, default=None, metavar="R",
                        help="an object is not extended behind one it hides once the pair's occlusion votes over "
                             "frames say so by this ratio (checkpoint's, 3; 0: the network's masks as they are)")
    parser.add_argument("--max-side", type=int, default=1280, metavar="PX",
                        help="frames with a longer side are processed downscaled (1280)")
    parser.add_argument("--fps", type=float, default=None,
                        help="frame rate of frame folders (default 30) and of the overlay video; "
                             "overrides a video file's own rate")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="torch/OpenCV intra-op threads (default: torch's own choice); "
                             "on a shared CPU 1 is often faster")
    parser.add_argument("--save-png", action="store_true", help="also write per-frame PNG masks under masks/")
    parser.add_argument("--no-video", action="store_true", help="do not write overlay.mp4")
    parser.add_argument("--overwrite", action="store_true", help="replace the contents of an existing output folder")


def is_live(source: str) -> bool:
    """True for a camera index ("0") or a stream URL (rtsp://, http://, ...)."""
    return source.isdigit() or "://" in source


def shard(sources: List[str]) -> Tuple[List[int], int, int]:
    """Indices of the sources this process handles (sources[rank::world] under torchrun)."""
    from amodal.errors import InputError

    try:
        rank = int(os.environ.get("RANK", "0"))
        world = int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise InputError("RANK and WORLD_SIZE must be integers") from None
    if world < 1 or not 0 <= rank < world:
        raise InputError(f"bad RANK={rank} / WORLD_SIZE={world}")
    return list(range(rank, len(sources), world)), rank, world


def output_dirs(sources: List[str], out: Path) -> List[Path]:
    """Output folder per source: `out` for one source, else `out/<name>` (name made unique)."""
    from amodal.api import source_name

    if len(sources) == 1:
        return [out]
    dirs, seen = [], {}  # type: List[Path], Dict[str, int]
    for s in sources:
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in source_name(s)) or "source"
        seen[name] = seen.get(name, 0) + 1
        dirs.append(out / (name if seen[name] == 1 else f"{name}-{seen[name]}"))
    return dirs


def _check_inputs_outside(paths: List[str], out: Path) -> None:
    """Refuse an output folder that contains (or is) one of the inputs: it would be cleared."""
    from amodal.errors import OutputExistsError

    out_r = out.resolve()
    for p in paths:
        if is_live(p):
            continue
        pr = Path(p).resolve()
        if pr == out_r or out_r in pr.parents:
            raise OutputExistsError(f"output folder {out} contains the input {p}; choose another --out")


def _refuse_existing(path: Path) -> None:
    from amodal.errors import OutputExistsError

    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise OutputExistsError(f"output folder {path} already exists and is not empty (use --overwrite)")


def run(args: argparse.Namespace) -> int:
    from amodal.api import AmodalPredictor
    from amodal.errors import AmodalError, CheckpointError, InputError
    from amodal.utils.files import prepare_output_dir
    from amodal.models.completion import check_order_ratio, check_threshold
    from amodal.models.tracker import check_min_hits
    from amodal.utils.checks import check_int, check_max_side
    from amodal.utils.threads import check_threads

    sources = [str(s) for s in args.sources]
    out = Path(args.out)
    if args.max_objects < 1:
        raise InputError(f"--max-objects must be >= 1, got {args.max_objects}")
    check_threads(args.threads, "--threads")
    check_max_side(args.max_side, "--max-side")
    if args.min_hits is not None:
        check_min_hits(args.min_hits, "--min-hits")
    check_threshold(args.threshold, "--threshold")
    if args.hidden_frames is not None:
        check_int(args.hidden_frames, "--hidden-frames")
    if args.order_ratio is not None:
        check_order_ratio(args.order_ratio, "--order-ratio")
    if args.fps is not None and not 0 < args.fps < float("inf"):
        raise InputError(f"--fps must be a positive number, got {args.fps}")
    if args.mode == "offline":
        live = [s for s in sources if is_live(s)]
        if live:
            raise InputError(f"--mode offline needs the whole clip; {live[0]} is a live source (use --mode stream)")
    _check_inputs_outside(sources + [m for m in (args.visible_masks, args.checkpoint) if m], out)
    for s in sources:
        if not is_live(s) and not Path(s).exists():
            raise InputError(f"source not found: {s}")
    mine, rank, world = shard(sources)
    dirs = output_dirs(sources, out)
    if not args.overwrite:  # fail before the (slow) model load
        for d in ([out] if world == 1 else [dirs[i] for i in mine]):
            _refuse_existing(d)

    checkpoint = args.checkpoint
    if checkpoint is None:
        from amodal.engine.checkpoint import DEFAULT_CHECKPOINT

        checkpoint = str(DEFAULT_CHECKPOINT)
        if not Path(checkpoint).is_file():
            raise CheckpointError(f"the shipped checkpoint {checkpoint} is missing; pass --checkpoint CKPT")
    device = args.device
    if device == "cuda" and world > 1 and os.environ.get("LOCAL_RANK", "").isdigit():
        device = f"cuda:{os.environ['LOCAL_RANK']}"  # one GPU per torchrun process
    predictor = AmodalPredictor.from_checkpoint(
        checkpoint, device=device, max_objects=args.max_objects, max_side=args.max_side, threads=args.threads,
        min_hits=args.min_hits, threshold=args.threshold, detector=args.detector, hidden_frames=args.hidden_frames,
        order_ratio=args.order_ratio,
    )

    if world == 1 and len(sources) > 1:
        # Single process, several sources: the whole folder is ours and holds one sub-folder per source.
        # (One source: its folder is prepared once the source opened, so a bad source leaves it alone.
        # Under torchrun each rank prepares only its own sub-folders.)
        prepare_output_dir(out, overwrite=args.overwrite)
    if not mine:
        print(f"amodal infer: rank {rank}/{world} has no sources to process", file=sys.stderr)
        return 0

    failures: List[str] = []
    status = 0
    for i in mine:
        try:
            status = _run_one(predictor, sources[i], dirs[i], args, checkpoint)
        except AmodalError as exc:
            if len(sources) == 1:
                raise
            failures.append(sources[i])
            message = str(exc) if sources[i] in str(exc) else f"{sources[i]}: {exc}"  # named once
            print(f"amodal infer: error: {message}", file=sys.stderr)
        if status == 130:
            break
    if failures:
        raise InputError(f"{len(failures)} of {len(mine)} sources failed: {', '.join(failures)}")
    return status


def _run_one(predictor: Any, source: str, out_dir: Path, args: argparse.Namespace, checkpoint: str) -> int:
    """Run one source into `out_dir`; returns 0, or 130 when interrupted (files still finalised)."""
    from tqdm import tqdm

    from amodal.api import source_name
    from amodal.data.readers import open_source
    from amodal.inference.visible_inputs import check_visible_masks, load_visible_masks
    from amodal.inference.writer import ResultWriter
    from amodal.utils.files import output_dir_undone_on_error

    live = is_live(source)
    name = source_name(source)
    with open_source(int(source) if source.isdigit() else source, fps=args.fps) as src:
        total = None if live else _length(src)
        masks = None
        video_id = 1
        if args.visible_masks:
            masks = load_visible_masks(args.visible_masks, video_name=name)
            check_visible_masks(masks, total, tuple(src.size) if src.size else None, source)
            video_id = getattr(masks, "video_id", 1)
        # a failed file or folder leaves nothing (run it again); what a live stream wrote before it broke stays
        with output_dir_undone_on_error(out_dir, overwrite=args.overwrite) as folder:
            writer = ResultWriter(out_dir, fps=src.fps, write_video=not args.no_video, save_png=args.save_png,
                                  video_id=video_id)
            interrupted = False
            start = time.perf_counter()
            frames = 0
            latency = 0.0
            bar = tqdm(total=total, unit="frame", desc=name, disable=None, dynamic_ncols=True)
            try:
                for frame, result in predictor.predict_frames(src, masks, mode=args.mode):
                    writer.put(frame.image, result)
                    if live and not frames:
                        folder.keep()
                    frames += 1
                    latency += result.latency_ms
                    bar.update(1)
            except KeyboardInterrupt:
                interrupted = True
            except BaseException:
                bar.close()
                writer.abort()
                raise
            bar.close()
            elapsed = time.perf_counter() - start
            summary = writer.close({
                "source": source,
                "mode": args.mode,
                "device": str(predictor.device),
                "checkpoint": str(checkpoint),
                "visible_masks": args.visible_masks,
                "fps_achieved": round(frames / elapsed, 2) if elapsed > 0 and frames else 0.0,
                "mean_latency_ms": round(latency / frames, 2) if frames else 0.0,
                "interrupted": interrupted and not live,
            })
    _print_summary(source, summary, interrupted)
    return 130 if interrupted and not live else 0


def _length(src: Any) -> Optional[int]:
    try:
        n = len(src)
    except (TypeError, NotImplementedError):
        return None
    return n if n > 0 else None


def _print_summary(source: str, summary: Dict[str, Any], interrupted: bool) -> None:
    files = summary.get("files", {})
    note = " (stopped by Ctrl-C)" if interrupted else ""
    frames, objects = summary["frames"], summary["objects"]
    print(f"amodal infer: {source}: {frames} frame{'s' * (frames != 1)}, {objects} object{'s' * (objects != 1)}, "
          f"{summary['fps_achieved']:.1f} fps ({summary['mode']}, {summary['device']}){note}")
    labels = (("overlay", "overlay video"), ("masks", "PNG masks"), ("summary", "summary"), ("predictions", "predictions"))
    for key, label in labels:
        if key in files:
            print(f"  {label + ':':15s}{files[key]}")
