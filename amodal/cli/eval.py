"""`amodal eval`: score a prediction file, or run models on a dataset and score them.

    amodal eval --gt GT.json --pred PRED.json [--out DIR] [--occ-min 0.1 --occ-max 0.7] [--given-visible]
    amodal eval --gt GT.json --out DIR [--model ours|copy|convex|...] [--checkpoint CKPT]
                [--given-visible] [--compare copy,convex,ours] [--overwrite]

Writes DIR/predictions.json (DIR/predictions_<model>.json with --compare), DIR/scores.json,
DIR/scores.md and DIR/iou_vs_occlusion.png, and prints the tables. See docs/EVALUATION.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from amodal.config import DETECTORS

HELP = "evaluate amodal predictions (or run models on a dataset and evaluate them)"


def _buckets(text: str) -> List[float]:
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--buckets expects comma-separated numbers, got {text!r}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gt", required=True, help="ground-truth annotation file (native format, with amodal masks)")
    parser.add_argument("--pred", help="prediction file to score; without it, models are run on --gt")
    parser.add_argument("--out", help="output folder (required when running models)")
    parser.add_argument("--overwrite", action="store_true", help="replace the contents of an existing --out folder")
    parser.add_argument("--given-visible", action="store_true",
                        help="ground-truth visible masks are given: predictions are matched by track_id == "
                             "annotation id (else end to end: tracks matched by visible-mask IoU)")
    parser.add_argument("--occ-min", type=float, default=None, help="keep object-frames with occlusion > this")
    parser.add_argument("--occ-max", type=float, default=None, help="keep object-frames with occlusion < this")
    parser.add_argument("--buckets", type=_buckets, default=None,
                        help="occlusion bucket edges (default 0,0.1,0.3,0.5,0.7,1)")
    parser.add_argument("--pasted-erode", type=int, default=5,
                        help="erosion kernel of the pasted occluded IoU (Diffusion-VAS: 5; 0: none, C2F-Seg)")
    parser.add_argument("--match-iou", type=float, default=0.5,
                        help="minimum mean visible IoU of an end-to-end track match")
    parser.add_argument("--model", default="ours", help="model to run: ours (default), copy, convex, or registered")
    parser.add_argument("--compare", help="comma-separated models to run and tabulate together, e.g. copy,convex,ours")
    parser.add_argument("--checkpoint", help="checkpoint for `ours` (default: the shipped weights)")
    parser.add_argument("--mode", choices=["stream", "offline"], default="stream", help="inference mode of `ours`")
    parser.add_argument("--detector", choices=DETECTORS, default=None,
                        help="`ours` end to end: objects from the visible-mask network, from motion, or both "
                             "(default: the checkpoint's, network)")
    parser.add_argument("--device", default="cpu", help="torch device for the model")
    parser.add_argument("--image-root", help="folder that frame file names are relative to")
    parser.add_argument("--max-videos", type=int, default=None, help="run and score only the first N videos")


def _evaluator(args: argparse.Namespace) -> Any:
    from amodal.eval.evaluator import DEFAULT_BUCKETS, AmodalEvaluator

    try:
        return AmodalEvaluator(occ_min=args.occ_min, occ_max=args.occ_max,
                               buckets=args.buckets or DEFAULT_BUCKETS, pasted_erode=args.pasted_erode)
    except ValueError as exc:
        from amodal.errors import InputError

        raise InputError(str(exc)) from exc


def _check_amodal(dataset: Any, gt: str) -> None:
    from amodal.errors import FormatError

    for video in dataset.videos:
        for track in dataset.tracks(video.id):
            if any(s is not None for s in (track.amodal_segmentations or [])):
                return
    raise FormatError(f"{gt}: no amodal masks (amodal_segmentations) to evaluate against")


def _frames_for(dataset: Any) -> Any:
    """Video record -> RGB frame iterator (frame files) or source path (video file)."""
    from amodal.eval.run import iter_rgb

    def frames(video: Any) -> Any:
        path = dataset.video_path(video.id)
        if path is not None:
            return str(path)
        return iter_rgb([dataset.frame_path(video.id, t) for t in range(int(video.length))])

    return frames


def _selected(dataset: Any, max_videos: Optional[int]) -> Optional[List[str]]:
    if max_videos is None:
        return None
    return [str(v.id) for v in dataset.videos[: max(0, max_videos)]]


def run(args: argparse.Namespace) -> int:
    from amodal.errors import InputError
    from amodal.utils.files import output_dir_undone_on_error, refuse_inputs_inside

    if not Path(args.gt).is_file():
        raise InputError(f"--gt {args.gt}: no such file")
    if args.pred is not None and not Path(args.pred).is_file():
        raise InputError(f"--pred {args.pred}: no such file")
    if args.pred is not None and args.compare:
        raise InputError("--compare runs models; it cannot be used with --pred")
    if args.pred is None and not args.out:
        raise InputError("--out is required when running a model (no --pred given)")
    evaluator = _evaluator(args)  # validates the filter / buckets before any work
    if not 0.0 < args.match_iou <= 1.0:
        raise InputError(f"--match-iou must be in (0, 1] (a mean visible IoU), got {args.match_iou}")
    names = [n.strip() for n in (args.compare or args.model).split(",") if n.strip()]
    if args.pred is None:
        from amodal.eval.baselines import MODELS

        if not names:
            raise InputError("--compare lists no model")
        unknown = [n for n in names if n not in MODELS]
        if unknown:
            raise InputError(f"unknown model {unknown[0]!r}; known models: {', '.join(sorted(MODELS))}")
    if args.out:  # --overwrite clears the folder: it must not hold an input
        refuse_inputs_inside(args.out, [args.gt, args.pred, args.checkpoint, args.image_root], "--out")
    if not args.out:
        _evaluate(args, evaluator, names, None)
        return 0
    with output_dir_undone_on_error(args.out, args.overwrite) as folder:  # a failed run leaves no partial folder
        _evaluate(args, evaluator, names, folder.path)
    return 0


def _evaluate(args: argparse.Namespace, evaluator: Any, names: List[str], out: Optional[Path]) -> None:
    """Run the models (or read --pred), score, print, and write the reports into `out` (None: print only)."""
    from amodal.data.format import load_dataset, load_predictions, save_predictions
    from amodal.eval.baselines import ModelOptions, build_runner
    from amodal.eval.report import render_text, write_reports
    from amodal.eval.run import run_model, score_predictions

    results: Dict[str, Dict[str, Any]] = {}
    extra: Dict[str, Any] = {"gt": str(args.gt), "given_visible": bool(args.given_visible)}

    if args.pred is not None:
        dataset = load_dataset(args.gt, image_root=args.image_root, read_amodal=True, check_files=False)
        _check_amodal(dataset, args.gt)
        predictions = load_predictions(args.pred, dataset=dataset)
        ids = _selected(dataset, args.max_videos)
        score_predictions(dataset, predictions, args.given_visible, evaluator, args.match_iou, ids, str(args.pred))
        name = Path(args.pred).stem
        results[name] = evaluator.summarize()
        extra["pred"] = str(args.pred)
        if out is not None:
            save_predictions(predictions, out / "predictions.json")
    else:
        options = ModelOptions(checkpoint=args.checkpoint, device=args.device, mode=args.mode, detector=args.detector)
        runners = {n: build_runner(n, options) for n in names}
        needs_frames = any(r.needs_frames(args.given_visible) for r in runners.values())
        # The model run never sees amodal ground truth: load without it.
        run_set = load_dataset(args.gt, image_root=args.image_root, read_amodal=False, check_files=needs_frames)
        ids = _selected(run_set, args.max_videos)
        frames_for = _frames_for(run_set)
        all_predictions = {}
        for n, runner in runners.items():
            def show(video: Any, n: str = n) -> None:
                print(f"[{n}] video {video.id} ({video.length} frames)", file=sys.stderr)

            preds = run_model(run_set, runner, args.given_visible, frames_for, ids, on_video=show)
            file = "predictions.json" if len(names) == 1 else f"predictions_{n}.json"
            save_predictions(preds, out / file)
            all_predictions[n] = preds
        del run_set
        score_set = load_dataset(args.gt, image_root=args.image_root, read_amodal=True, check_files=False)
        _check_amodal(score_set, args.gt)
        for n, preds in all_predictions.items():
            ev = _evaluator(args)
            score_predictions(score_set, preds, args.given_visible, ev, args.match_iou, ids, f"model {n}")
            results[n] = ev.summarize()
        extra["models_run"] = names
        extra["checkpoint"] = args.checkpoint

    print(render_text(results))
    if out is not None:
        write_reports(out, results, extra)
        print(f"wrote {out}/scores.json, scores.md, iou_vs_occlusion.png and predictions", file=sys.stderr)
