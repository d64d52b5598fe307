"""An amodal test set from real clips: a synthetic occluder sweeps across each clip's real object.

Real footage with amodal truth cannot be downloaded here, and the real clips of
../shared/real-clips annotate one target's visible mask and not its occluders, so the completion
has nothing to complete against on them. This tool makes the truth: it pastes a textured bar into
the frames that sweeps across the target (from beside it, across it, and out again), so the
target's hidden part is known (its annotated mask under the bar) while its shape, deformation and
motion stay real. Two sweeps per clip: a vertical bar moving left to right, a horizontal bar moving
top to bottom; with `--occluders objects` (or `all`), the next clip's real object, cut out frame by
frame, walks across instead (real shape and texture for the occluder too).

Written in the native format (frames as PNG, `annotations.json` with visible and amodal masks of the
target and of the bar), so `amodal eval --given-visible` scores it like any benchmark:

    python tools/real_clip_occluders.py ../shared/real-clips OUT
    amodal eval --gt OUT/annotations.json --given-visible --compare copy,convex,ours --occ-min 0.01 --out EVAL

(`--occ-min 0.01` keeps the target's occluded frames; the occluder itself is never occluded.)
A clip is a folder with `frames/` (images) and `masks/` (one PNG per frame, grey or colour-coded
ids, nonzero = the target; the smallest nonzero id when there are several).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import cv2
import numpy as np

from amodal.data.synth.writer import object_records, video_entry, write_frames
from amodal.errors import AmodalError, InputError
from amodal.utils.files import atomic_write_json

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp"}


def read_clip(folder: Path) -> Tuple[np.ndarray, np.ndarray]:
    """(frames uint8 (T, H, W, 3) RGB, target masks bool (T, H, W)) of a clip folder."""
    if not (folder / "frames").is_dir() or not (folder / "masks").is_dir():
        raise InputError(f"{folder}: needs frames/ and masks/ with one mask per frame")
    frame_files = sorted(p for p in (folder / "frames").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    mask_files = sorted(p for p in (folder / "masks").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not frame_files or len(frame_files) != len(mask_files):
        raise InputError(f"{folder}: needs frames/ and masks/ with one mask per frame "
                         f"({len(frame_files)} frames, {len(mask_files)} masks)")
    frames, masks = [], []
    for f, m in zip(frame_files, mask_files):
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        ids = cv2.imread(str(m), cv2.IMREAD_UNCHANGED)
        if img is None or ids is None:
            raise InputError(f"{folder}: cannot read {f.name} or {m.name}")
        if ids.ndim == 3:  # colour-coded ids: one integer per colour
            ids = ids[..., :3].astype(np.int64)
            ids = ids[..., 0] + 256 * ids[..., 1] + 65536 * ids[..., 2]
        if ids.shape != img.shape[:2]:
            raise InputError(f"{folder}: mask {m.name} {ids.shape} differs from frame {f.name} {img.shape[:2]}")
        if frames and img.shape != frames[0].shape:
            raise InputError(f"{folder}: frame {f.name} {img.shape[:2]} differs in size from the first frame")
        frames.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        masks.append(ids)
    ids = np.stack(masks)
    values = np.unique(ids[ids > 0])
    if values.size == 0:
        raise InputError(f"{folder}: the masks are empty")
    return np.stack(frames), ids == values[0]


def _box(mask: np.ndarray) -> Tuple[int, int, int, int]:
    """(y0, y1, x0, x1), end-exclusive, of a non-empty bool (H, W) mask."""
    ys, xs = np.nonzero(mask)
    return int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1


def _sweep(start: float, stop: float, t: int, t_len: int) -> int:
    """Position at frame t of T of a linear sweep from `start` (first frame) to `stop` (last)."""
    return int(round(start + (stop - start) * t / max(1, t_len - 1)))


def bar_masks(target: np.ndarray, vertical: bool, width: float = 0.3) -> np.ndarray:
    """bool (T, H, W): a bar `width` x the target's extent wide that sweeps across the target.

    The sweep runs over the union box of the target in all frames: it starts just outside it
    (first frames unoccluded, so the memory sees the whole object) and ends just outside it.
    """
    t_len, h, w = target.shape
    y0, y1, x0, x1 = _box(target.any(0))
    extent = (x1 - x0) if vertical else (y1 - y0)
    thick = max(4, int(round(width * extent)))
    start = (x0 if vertical else y0) - thick - extent * 0.1
    stop = (x1 if vertical else y1) + extent * 0.1
    out = np.zeros((t_len, h, w), bool)
    for t in range(t_len):
        a = _sweep(start, stop, t, t_len)
        lo, hi = max(0, a), max(0, a + thick)
        if vertical:
            out[t, max(0, y0 - 8):min(h, y1 + 8), lo:hi] = True
        else:
            out[t, lo:hi, max(0, x0 - 8):min(w, x1 + 8)] = True
    return out


def paste(frames: np.ndarray, masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Frames with a textured bar (one colour with stripes and noise, fixed to the bar) pasted in."""
    out = frames.copy()
    colour = rng.integers(30, 226, 3).astype(np.float32)
    h, w = frames.shape[1:3]
    yy, xx = np.mgrid[:h, :w]
    for t in range(len(frames)):
        m = masks[t]
        if not m.any():
            continue
        ys, xs = np.nonzero(m)
        stripes = 0.8 + 0.2 * np.sign(np.sin((yy[m] - ys.min() + xx[m] - xs.min()) / 6.0))
        tex = colour[None] * stripes[:, None] + rng.normal(0.0, 6.0, (ys.size, 3))
        out[t][m] = np.clip(tex, 0, 255).astype(np.uint8)
    return out


def object_occluder(target: np.ndarray, src_frames: np.ndarray, src_masks: np.ndarray, height: float = 0.7
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """A real object (another clip's annotated one, cut out frame by frame) walking across the target.

    It is scaled to `height` x the target's union-box height, stands on the box's bottom edge and
    sweeps left to right from beside the box to beyond it, like the vertical bar.

    Returns:
        (masks bool (T, H, W), pixels uint8 (T, H, W, 3)) of the occluder in the target's frames.
    """
    t_len, h, w = target.shape
    y0, y1, x0, x1 = _box(target.any(0))
    masks = np.zeros((t_len, h, w), bool)
    pixels = np.zeros((t_len, h, w, 3), np.uint8)
    present = [t for t in range(len(src_masks)) if src_masks[t].any()]
    for t in range(t_len):
        s = present[t % len(present)]
        cy0, cy1, cx0, cx1 = _box(src_masks[s])
        scale = height * (y1 - y0) / float(cy1 - cy0)
        ph, pw = max(1, int(round((cy1 - cy0) * scale))), max(1, int(round((cx1 - cx0) * scale)))
        patch = cv2.resize(src_frames[s, cy0:cy1, cx0:cx1], (pw, ph), interpolation=cv2.INTER_AREA)
        pmask = cv2.resize(src_masks[s, cy0:cy1, cx0:cx1].astype(np.uint8), (pw, ph),
                           interpolation=cv2.INTER_NEAREST) > 0
        start, stop = x0 - pw - 0.1 * (x1 - x0), x1 + 0.1 * (x1 - x0)
        left = _sweep(start, stop, t, t_len)
        top = y1 - ph
        # the part of the patch inside the frame
        fy0, fy1, fx0, fx1 = max(0, top), min(h, top + ph), max(0, left), min(w, left + pw)
        if fy0 >= fy1 or fx0 >= fx1:
            continue
        m = pmask[fy0 - top:fy1 - top, fx0 - left:fx1 - left]
        masks[t, fy0:fy1, fx0:fx1] = m
        pixels[t, fy0:fy1, fx0:fx1][m] = patch[fy0 - top:fy1 - top, fx0 - left:fx1 - left][m]
    return masks, pixels


def check_request(clips: List[Path], occluders: str) -> None:
    """InputError unless `occluders` is known and there are clips enough for it."""
    if occluders not in ("bars", "objects", "all"):
        raise InputError(f"--occluders must be bars, objects or all, got {occluders!r}")
    if occluders != "bars" and len(clips) < 2:
        raise InputError("object occluders are taken from another clip: give at least two clips")


def build(clips: List[Path], out_dir: Path, seed: int = 0, occluders: str = "bars") -> Dict[str, object]:
    """Write the test set under `out_dir` (created; annotations.json last) and return its annotation dict.

    `occluders`: "bars" (a vertical and a horizontal bar per clip), "objects" (the next clip's real
    object walking across, needs two clips or more) or "all" (the three).
    """
    check_request(clips, occluders)
    rng = np.random.default_rng(seed)
    loaded = [read_clip(c) for c in clips]  # every clip read before anything is written
    out_dir.mkdir(parents=True)
    kinds = {"bars": ["vertical", "horizontal"], "objects": ["object"], "all": ["vertical", "horizontal", "object"]}
    videos, anns = [], []
    for i, (clip, (frames, target)) in enumerate(zip(clips, loaded)):
        for kind in kinds[occluders]:
            index = len(videos)
            if kind == "object":
                src = (i + 1) % len(clips)
                occ, pixels = object_occluder(target, *loaded[src])
                shown = np.where(occ[..., None], pixels, frames)
                name = f"{clip.name}-{clips[src].name}"
            else:
                occ = bar_masks(target, kind == "vertical")
                shown = paste(frames, occ, rng)
                name = f"{clip.name}-{kind}"
            write_frames(shown, out_dir, index)
            videos.append({**video_entry(index, *target.shape, with_mp4=False), "name": name})
            anns += object_records(index + 1, np.stack([target & ~occ, occ]), np.stack([target, occ]), [1, 2])
    data = {"videos": videos, "categories": [{"id": 1, "name": "target"}, {"id": 2, "name": "occluder"}],
            "annotations": [{"id": i + 1, **a} for i, a in enumerate(anns)]}
    atomic_write_json(out_dir / "annotations.json", data)
    return data


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", help="a clip folder (frames/, masks/) or a folder of clip folders")
    ap.add_argument("out", help="output folder (must not exist)")
    ap.add_argument("--seed", type=int, default=0, help="bar colours")
    ap.add_argument("--occluders", default="bars",
                    help="bars (default: a vertical and a horizontal bar per clip), objects (the next clip's "
                         "object walking across) or all")
    args = ap.parse_args(argv)
    root, out = Path(args.clips), Path(args.out)
    try:
        if not root.is_dir():
            raise InputError(f"{root}: no such folder")
        clips = [root] if (root / "frames").is_dir() else sorted(p for p in root.iterdir() if (p / "frames").is_dir())
        if not clips:
            raise InputError(f"{root}: no clip folder (with frames/ and masks/) found")
        check_request(clips, args.occluders)
        if out.exists():
            raise InputError(f"{out} exists: give a new folder")
        data = build(clips, out, args.seed, args.occluders)
    except AmodalError as exc:
        print(f"real_clip_occluders: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(data['videos'])} videos of {len(clips)} clips to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
