"""Training clips: `ClipDataset` (never reads amodal masks unless asked), `ClipBatch`, `collate_clips`.

A clip is T frames of one video, `stride` frames apart, with up to `max_objects` annotated objects
(the ones with the largest visible area in the clip). Objects beyond `max_objects` still appear in
`visible_ids` (ids > K) so they count as occluders, never as free background.

Per-object motions (optical flow + robust similarity fit, `amodal.models.alignment`) are computed once
per video at construction and cached beside the dataset (`.amodal_cache/`, keyed by a hash of the
annotation file, the motion version and the flow settings `model.completion.motion_width` /
`motion_preset`), so training is not data-bound.

Amodal ground truth: the dataset is loaded with `read_amodal=with_amodal`; the default
(self-supervised) dataset parses no amodal field at all.
"""
from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch

from amodal.config import AUGMENT_SCALE, AUGMENT_TRANSLATE
from amodal.errors import FormatError, VideoReadError
from amodal.models.alignment import DEFAULT_PRESET, DEFAULT_WIDTH, IDENTITY, track_motions
from amodal.utils.files import atomic_write_bytes
from amodal.utils.decord_import import import_decord

log = logging.getLogger(__name__)
MOTION_CACHE_VERSION = "motions-v2"  # v2: fits with a scale step > alignment.MAX_SCALE_STEP rejected
Item = Union[int, Tuple[int, int]]


@dataclass
class ClipSample:
    """One clip (K = max_objects slots).

    Attributes:
        frames: uint8 (T, H, W, 3) RGB.
        visible_ids: int64 (T, H, W): 0 background, k in 1..K object slot k-1, > K other objects.
        object_valid: bool (K,).
        motions: float32 (K, T-1, 2, 3), frame t -> t+1 per slot (identity for empty slots).
        amodal: bool (K, T, H, W) or None (only with `with_amodal`).
        video_id, start: where the clip comes from.
        track_ids: (K,) annotation ids per slot (-1 for empty slots).
    """

    frames: np.ndarray
    visible_ids: np.ndarray
    object_valid: np.ndarray
    motions: np.ndarray
    amodal: Optional[np.ndarray] = None
    video_id: int = -1
    start: int = 0
    track_ids: List[int] = field(default_factory=list)


@dataclass
class ClipBatch:
    """A batch of clips.

    Attributes:
        frames: uint8 [B, T, 3, H, W] RGB (`frames_float()` gives [0, 1] floats).
        visible_ids: int64 [B, T, H, W].
        object_valid: bool [B, K].
        motions: float32 [B, K, T-1, 2, 3].
        amodal: bool [B, K, T, H, W] or None.
    """

    frames: torch.Tensor
    visible_ids: torch.Tensor
    object_valid: torch.Tensor
    motions: torch.Tensor
    amodal: Optional[torch.Tensor] = None
    video_ids: List[int] = field(default_factory=list)
    starts: List[int] = field(default_factory=list)

    def to(self, device: Union[str, torch.device]) -> "ClipBatch":
        mv = lambda x: None if x is None else x.to(device, non_blocking=True)  # noqa: E731
        return ClipBatch(mv(self.frames), mv(self.visible_ids), mv(self.object_valid), mv(self.motions),
                         mv(self.amodal), list(self.video_ids), list(self.starts))

    def frames_float(self) -> torch.Tensor:
        """[B, T, 3, H, W] float32 in [0, 1]."""
        return self.frames.float() / 255.0

    def __len__(self) -> int:
        return self.frames.shape[0]


def collate_clips(samples: Sequence[ClipSample]) -> ClipBatch:
    """Stack ClipSamples (same T, H, W, K) into a ClipBatch."""
    frames = torch.from_numpy(np.stack([s.frames for s in samples])).permute(0, 1, 4, 2, 3).contiguous()
    amodal = None
    if all(s.amodal is not None for s in samples):
        amodal = torch.from_numpy(np.stack([s.amodal for s in samples]))
    return ClipBatch(frames, torch.from_numpy(np.stack([s.visible_ids for s in samples])),
                     torch.from_numpy(np.stack([s.object_valid for s in samples])),
                     torch.from_numpy(np.stack([s.motions for s in samples])), amodal,
                     [s.video_id for s in samples], [s.start for s in samples])


def read_rgb(path: Path) -> np.ndarray:
    """Read an image file as RGB uint8 (H, W, 3)."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise VideoReadError(f"cannot read frame {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_video_frames(ds, video_id: int, indices: Sequence[int]) -> List[np.ndarray]:
    """Frames of a dataset video (frame files, else its video file), RGB uint8."""
    paths = [ds.frame_path(video_id, t) for t in indices]
    if all(p.is_file() for p in paths):
        return [read_rgb(p) for p in paths]
    vpath = ds.video_path(video_id)
    if vpath is None or not vpath.is_file():
        missing = next(p for p in paths if not p.is_file())
        raise VideoReadError(f"{ds.name}: frame file {missing} not found and video {video_id} has no video file")
    decord = import_decord()
    vr = decord.VideoReader(str(vpath))
    return [f for f in vr.get_batch(list(indices)).asnumpy()]


def _file_digest(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def video_motions(ds, show_progress: bool = False, max_width: int = DEFAULT_WIDTH, preset: str = DEFAULT_PRESET) -> dict:
    """Motions of every track of every video: {video_id: float32 (n_tracks, L-1, 2, 3)}.

    `max_width`, `preset`: the flow settings of `amodal.models.alignment.track_motions`.
    """
    out = {}
    videos = ds.videos
    if show_progress:
        from tqdm import tqdm

        videos = tqdm(videos, desc="motions", unit="video")
    for v in videos:
        tracks = ds.tracks(v.id)
        if not tracks or v.length < 2:
            out[v.id] = np.tile(IDENTITY, (len(tracks), max(v.length - 1, 0), 1, 1)).astype(np.float32)
            continue
        frames = read_video_frames(ds, v.id, range(v.length))
        masks = np.stack([np.stack([tr.visible_mask(t) for t in range(v.length)]) for tr in tracks])
        out[v.id] = track_motions(frames, masks, max_width, preset)
    return out


def motion_cache_path(json_path: Path, cache_dir: Optional[Path] = None, max_width: int = DEFAULT_WIDTH,
                      preset: str = DEFAULT_PRESET) -> Path:
    """Where the motions of `json_path` measured with these flow settings are cached."""
    folder = cache_dir if cache_dir is not None else json_path.parent / ".amodal_cache"
    settings = "" if (max_width, preset) == (DEFAULT_WIDTH, DEFAULT_PRESET) else f"-{preset}{max_width}"  # old caches stay valid
    return folder / f"{json_path.stem}-{MOTION_CACHE_VERSION}-{_file_digest(json_path)}{settings}.npz"


def load_motions(ds, json_path: Path, cache_dir: Optional[Path] = None, show_progress: bool = False,
                 max_width: int = DEFAULT_WIDTH, preset: str = DEFAULT_PRESET) -> dict:
    """`video_motions` through an on-disk cache beside the dataset (recomputed when stale)."""
    path = motion_cache_path(json_path, cache_dir, max_width, preset)
    if path.is_file():
        try:
            with np.load(path) as z:
                cached = {int(k[1:]): z[k] for k in z.files}
            if all(v.id in cached and cached[v.id].shape[0] == len(ds.tracks(v.id)) for v in ds.videos):
                return cached
        except (OSError, ValueError, KeyError):
            log.warning("motion cache %s unreadable; recomputing", path)
    motions = video_motions(ds, show_progress, max_width, preset)
    buf = io.BytesIO()
    np.savez(buf, **{f"v{k}": v for k, v in motions.items()})
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OSError as exc:
        log.warning("cannot write motion cache %s (%s); continuing without it", path, exc)
    return motions


class ClipDataset(torch.utils.data.Dataset):
    """Clips of a native-format dataset (see module docstring).

    Args:
        dataset_path: annotations JSON.
        clip_length: T.
        stride: frames between consecutive clip frames.
        max_objects: K object slots.
        augment: clip-consistent augmentation (`amodal.data.transforms.ClipAugment`).
        scale_range: (min, max) zoom of the augmentation.
        translate: largest shift of the augmentation (fraction of the frame).
        seed: base of the per-item augmentation draws.
        with_amodal: also load and return amodal masks (evaluation / supervised upper bound only).
        image_root: folder of the frame files (default: see `amodal.data.format.load_dataset`).
        size: (W, H) to resize every clip to (default: the first video's size).
        cache_dir: where motion caches live (default `.amodal_cache/` beside the JSON).
        show_progress: progress bar while computing motions.
        motion_width, motion_preset: flow settings of the objects' motions (the model's
            `model.completion.motion_width` / `motion_preset`).
    """

    def __init__(self, dataset_path: Union[str, Path], clip_length: int = 8, stride: int = 1, max_objects: int = 8,
                 augment: bool = True, seed: int = 0, with_amodal: bool = False, image_root: Optional[Union[str, Path]] = None,
                 size: Optional[Tuple[int, int]] = None, cache_dir: Optional[Path] = None, show_progress: bool = False,
                 scale_range: Sequence[float] = AUGMENT_SCALE, translate: float = AUGMENT_TRANSLATE,
                 motion_width: int = DEFAULT_WIDTH, motion_preset: str = DEFAULT_PRESET) -> None:
        from amodal.data.format import load_dataset

        if clip_length < 1 or stride < 1 or max_objects < 1:
            raise FormatError(f"clip_length, stride and max_objects must be >= 1, got {clip_length}, {stride}, {max_objects}")
        self.path = Path(dataset_path)
        self.ds = load_dataset(self.path, image_root=image_root, read_amodal=with_amodal, check_files=True)
        self.clip_length, self.stride, self.max_objects = clip_length, stride, max_objects
        self.with_amodal, self.seed = with_amodal, seed
        if with_amodal and not self.ds.has_amodal:
            raise FormatError(f"{self.path}: amodal masks requested but some track has no amodal_segmentations")
        span = (clip_length - 1) * stride + 1
        self.items: List[Tuple[int, int]] = [(v.id, s) for v in self.ds.videos for s in range(v.length - span + 1)]
        if not self.items:
            raise FormatError(f"{self.path}: no video has the {span} frames a clip needs "
                              f"(data.clip_length={clip_length}, data.clip_stride={stride})")
        first = self.ds.videos[0]
        self.size = tuple(size) if size is not None else (first.width, first.height)
        self.motions = load_motions(self.ds, self.path, cache_dir, show_progress, motion_width, motion_preset)
        self.augment = None
        if augment:
            from amodal.data.transforms import ClipAugment

            self.augment = ClipAugment(scale=scale_range, translate=translate)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, item: Item) -> ClipSample:
        index, draw = (item, item) if isinstance(item, (int, np.integer)) else (int(item[0]), int(item[1]))
        vid, start = self.items[index]
        t_idx = [start + i * self.stride for i in range(self.clip_length)]
        tracks = self.ds.tracks(vid)
        area = np.array([sum((tr.areas[t] or 0.0) for t in t_idx) for tr in tracks], np.float64)
        order = [i for i in np.argsort(-area, kind="stable") if area[i] > 0]
        slots = order[: self.max_objects]
        extra = order[self.max_objects:]
        frames = read_video_frames(self.ds, vid, t_idx)
        h, w = frames[0].shape[:2]
        ids = np.zeros((self.clip_length, h, w), np.uint8)
        for rank, i in enumerate(slots + extra):
            for j, t in enumerate(t_idx):
                ids[j][tracks[i].visible_mask(t)] = min(rank + 1, 255)
        k = self.max_objects
        amodal = [[tracks[i].amodal_mask(t).astype(np.uint8) for i in slots] for t in t_idx] if self.with_amodal else None
        mot = np.tile(IDENTITY, (k, self.clip_length - 1, 1, 1)).astype(np.float32)
        for slot, i in enumerate(slots):
            per = self.motions[vid][i]
            for j in range(self.clip_length - 1):
                acc = np.eye(3)
                for t in range(t_idx[j], t_idx[j + 1]):
                    step = np.eye(3)
                    step[:2] = per[t]
                    acc = step @ acc
                mot[slot, j] = acc[:2]
        masks = [[ids[j]] + (amodal[j] if amodal is not None else []) for j in range(self.clip_length)]
        g = np.eye(3)
        if (w, h) != self.size:
            from amodal.data.transforms import resize_clip

            frames, masks, g = resize_clip(frames, masks, self.size[0], self.size[1])
        if self.augment is not None:
            seed = int(np.random.SeedSequence([self.seed, draw]).generate_state(1)[0])
            frames, masks, g_aug = self.augment(frames, masks, seed)
            g = g_aug @ g
        if not np.allclose(g, np.eye(3)):
            from amodal.data.transforms import transform_motions

            mot[: len(slots)] = transform_motions(mot[: len(slots)], g)
        valid = np.zeros(k, bool)
        valid[: len(slots)] = True
        am = None
        if amodal is not None:
            hh, ww = frames[0].shape[:2]
            am = np.zeros((k, self.clip_length, hh, ww), bool)
            for j in range(self.clip_length):
                for slot in range(len(slots)):
                    am[slot, j] = masks[j][1 + slot] > 0
        track_ids = [tracks[i].id for i in slots] + [-1] * (k - len(slots))
        return ClipSample(np.stack(frames), np.stack([m[0] for m in masks]).astype(np.int64), valid, mot, am,
                          vid, start, track_ids)


class ClipBatchSampler(torch.utils.data.Sampler):
    """Step-indexed batches, sharded over ranks like DistributedSampler, exactly resumable.

    Each epoch is a seeded permutation of the items; rank r takes every world-th item (padded to
    a multiple of the world size). The batch of step s is a pure function of (seed, s, rank), so
    resuming at step s reproduces the uninterrupted run. Items are (index, draw) pairs; the draw
    seeds that item's augmentation (different in every epoch).
    """

    def __init__(self, num_items: int, batch_size: int, seed: int = 0, rank: int = 0, world: int = 1,
                 start_step: int = 0, total_steps: int = 1) -> None:
        self.n, self.bs, self.seed = num_items, batch_size, seed
        self.rank, self.world = rank, world
        self.start, self.total = start_step, total_steps
        self.per_rank = -(-num_items // world)
        self._cache: Tuple[int, Optional[np.ndarray]] = (-1, None)

    def _epoch(self, e: int) -> np.ndarray:
        if self._cache[0] != e:
            perm = np.random.default_rng([self.seed, e]).permutation(self.n)
            perm = np.concatenate([perm, perm[: self.per_rank * self.world - self.n]])
            self._cache = (e, perm[self.rank:: self.world])
        return self._cache[1]

    def batch(self, step: int) -> List[Tuple[int, int]]:
        out = []
        for j in range(step * self.bs, (step + 1) * self.bs):
            e, off = divmod(j, self.per_rank)
            idx = int(self._epoch(e)[off])
            out.append((idx, e * self.n + idx))
        return out

    def __iter__(self) -> Iterator[List[Tuple[int, int]]]:
        for step in range(self.start, self.total):
            yield self.batch(step)

    def __len__(self) -> int:
        return max(self.total - self.start, 0)
