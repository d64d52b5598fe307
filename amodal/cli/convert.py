"""`amodal convert FORMAT SRC --out OUT.json`: benchmark layouts -> native format.

Formats: fishbowl (SaVos release), fishbowl-raw (generator output; frames decoded from the
mp4s into OUT's folder/frames), kins (KINS-Video-Car), movi (MOVi / MOViD-Amodal), sailvos
(Diffusion-VAS samples), tao (TAO-Amodal, boxes only). See docs/CONVERTERS.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from amodal.data.converters import CONVERTERS

HELP = "convert an amodal benchmark (FISHBOWL, KINS-Video-Car, MOVi, SAIL-VOS, TAO-Amodal) to the native format"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("format", choices=list(CONVERTERS), metavar="FORMAT",
                        help=f"source layout: {', '.join(CONVERTERS)}")
    parser.add_argument("src", metavar="SRC", help="source folder (or JSON file for sailvos/tao)")
    parser.add_argument("--out", required=True, metavar="OUT.json", help="native JSON to write")
    parser.add_argument("--mode", choices=["train", "test"], default="train",
                        help="split to convert (fishbowl, kins; movi when SRC/<mode>/ exists)")
    parser.add_argument("--frames-out", metavar="DIR", default=None,
                        help="write frames here as <video>/<t:05d>.png (default for fishbowl-raw: "
                             "frames/ beside OUT.json; other formats reference frames in place)")
    parser.add_argument("--image-root", metavar="DIR", default=None,
                        help="where the source's frames are (kins: Kitti/raw_video; sailvos/tao: "
                             "the folder their frame paths start from)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT.json and frame folders")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from amodal.data.converters import get_converter
    from amodal.data.converters.common import ConvertOptions, write_dataset
    from amodal.errors import FormatError, OutputExistsError
    from amodal.utils.files import refuse_inputs_inside

    src, out = Path(args.src), Path(args.out)
    if not src.exists():
        raise FormatError(f"source {src} does not exist")
    if out.exists() and src.resolve() == out.resolve():
        raise OutputExistsError(f"--out {out} is the source file; inputs are never overwritten")
    if out.exists() and not args.overwrite:
        raise OutputExistsError(f"output file {out} already exists (use --overwrite)")
    frames_out = Path(args.frames_out) if args.frames_out else None
    if frames_out is None and args.format == "fishbowl-raw":
        frames_out = out.parent / "frames"
    if frames_out is not None:  # its per-video folders are cleared with --overwrite
        what = "--frames-out" if args.frames_out else "frames folder"
        refuse_inputs_inside(frames_out, [src, args.image_root], what)
    opts = ConvertOptions(mode=args.mode, frames_out=frames_out,
                          image_root=Path(args.image_root) if args.image_root else None,
                          overwrite=args.overwrite, progress=not args.no_progress and sys.stderr.isatty())
    result = get_converter(args.format)(src, opts)
    write_dataset(result.dataset, out, overwrite=args.overwrite, source=args.format)
    ds = result.dataset
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {out}: {len(ds['videos'])} videos, {len(ds['annotations'])} tracks, "
          f"{len(ds['categories'])} categories" +
          (f", {result.frames_written} frames written" if result.frames_written else ""))
    print(f"image root: {result.image_root.resolve()}  (load with --image-root {result.image_root.resolve()})")
    return 0
