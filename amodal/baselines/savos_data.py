"""SaVos inputs: per object track, a window of frames at the working resolution.

Only RGB frames and visible masks are read (the dataset is loaded with `read_amodal=False`).
Optical flow is OpenCV DIS (in place of the paper's FlowNet2) on the working-resolution frames:
forward flow t -> t+1 (zero at the window's last frame) and backward flow t -> t-1 (zero at the
first frame). The patch box of frame t is the visible mask's box enlarged `crop_scale` times.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

from amodal.baselines.config import SaVosModelConfig, TrainSettings
from amodal.baselines.geometry import expand_box, mask_box
from amodal.errors import TrainingError, VideoReadError


@dataclass
class SaVosSample:
    """One track window (L frames) at the working resolution (Hs, Ws); a batch adds a leading B.

    Attributes:
        images: (L, 3, Hs, Ws) float32 RGB in [-1, 1].
        vis: (L, 1, Hs, Ws) the object's visible mask in [0, 1].
        others: (L, 1, Hs, Ws) union of the other objects' visible masks in [0, 1].
        flow_f: (L, 2, Hs, Ws) flow t -> t+1 in pixels; flow_b: (L, 2, Hs, Ws) flow t -> t-1.
        boxes: (L, 4) patch boxes (x0, y0, w, h).
    """

    images: torch.Tensor
    vis: torch.Tensor
    others: torch.Tensor
    flow_f: torch.Tensor
    flow_b: torch.Tensor
    boxes: torch.Tensor


def stack_samples(samples: Sequence[SaVosSample]) -> SaVosSample:
    """Batch samples of equal length: every field gets a leading B."""
    return SaVosSample(*(torch.stack([getattr(s, f) for s in samples]) for f in SaVosSample.__dataclass_fields__))


def work_size(size: Tuple[int, int], scale: float) -> Tuple[int, int]:
    """Working resolution (Hs, Ws) of an (H, W) video."""
    return max(8, int(round(size[0] * scale))), max(8, int(round(size[1] * scale)))


def to_work_image(image: np.ndarray, hw: Tuple[int, int]) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> (Hs, Ws, 3) uint8 (area interpolation)."""
    if image.shape[:2] == tuple(hw):
        return image
    return cv2.resize(image, (hw[1], hw[0]), interpolation=cv2.INTER_AREA)


def to_work_mask(mask: np.ndarray, hw: Tuple[int, int]) -> np.ndarray:
    """bool (H, W) -> float32 (Hs, Ws) coverage in [0, 1]."""
    m = mask.astype(np.float32)
    if m.shape == tuple(hw):
        return m
    return cv2.resize(m, (hw[1], hw[0]), interpolation=cv2.INTER_AREA)


class FlowComputer:
    """DIS optical flow (OpenCV, `fast` preset) between RGB uint8 frames, in pixels (2, Hs, Ws)."""

    def __init__(self) -> None:
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ga = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)
        gb = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)
        return self._dis.calc(ga, gb, None).transpose(2, 0, 1).astype(np.float32)

    def both(self, frames: Sequence[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
        """(forward (L, 2, Hs, Ws): t -> t+1, backward: t -> t-1), zero where the neighbour is missing."""
        n = len(frames)
        hs, ws = frames[0].shape[:2]
        fwd = np.zeros((n, 2, hs, ws), np.float32)
        bwd = np.zeros((n, 2, hs, ws), np.float32)
        for t in range(n - 1):
            fwd[t] = self(frames[t], frames[t + 1])
            bwd[t + 1] = self(frames[t + 1], frames[t])
        return fwd, bwd


def track_boxes(vis: np.ndarray, cfg: SaVosModelConfig) -> np.ndarray:
    """Patch boxes (L, 4) from visible masks (L, Hs, Ws) in [0, 1].

    A frame with an empty mask takes the box of the nearest earlier frame (else the next one).
    """
    boxes: List[Optional[Tuple[float, ...]]] = []
    for m in vis:
        b = mask_box(m > 0.5) or mask_box(m > 0)
        boxes.append(None if b is None else expand_box(b, cfg.crop_scale, min_side=cfg.min_box))
    known = [b for b in boxes if b is not None]
    if not known:
        h, w = vis.shape[1:]
        return np.tile(np.array([[0, 0, w, h]], np.float32), (len(vis), 1))
    last = known[0]
    for t, b in enumerate(boxes):
        boxes[t] = last = b if b is not None else last
    return np.asarray(boxes, dtype=np.float32)


def make_sample(images: np.ndarray, vis: np.ndarray, others: np.ndarray, flow_f: np.ndarray, flow_b: np.ndarray,
                cfg: SaVosModelConfig) -> SaVosSample:
    """Tensors of one track window.

    Args:
        images: uint8 (L, Hs, Ws, 3); vis, others: float (L, Hs, Ws); flow_f, flow_b: (L, 2, Hs, Ws).
    """
    return SaVosSample(
        images=torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1.0,
        vis=torch.from_numpy(np.ascontiguousarray(vis, dtype=np.float32))[:, None],
        others=torch.from_numpy(np.ascontiguousarray(others, dtype=np.float32))[:, None],
        flow_f=torch.from_numpy(flow_f), flow_b=torch.from_numpy(flow_b),
        boxes=torch.from_numpy(track_boxes(vis, cfg)),
    )


class SaVosSampler:
    """Random windows of `window` frames of tracks whose visible mask has >= `min_area` pixels in each."""

    def __init__(self, dataset, video_ids: Sequence[int], model_cfg: SaVosModelConfig,
                 train_cfg: TrainSettings) -> None:
        self.ds = dataset
        self.m = model_cfg
        self.window = train_cfg.window
        self.items: List[Tuple[int, int, int]] = []  # (video id, track index, start frame)
        self.tracks = {vid: dataset.tracks(vid) for vid in video_ids}
        self.flows = FlowComputer()
        for vid in video_ids:
            for k, tr in enumerate(self.tracks[vid]):
                ok = [a is not None and a >= train_cfg.min_area for a in (tr.areas or [])]
                for s in range(len(ok) - self.window + 1):
                    if all(ok[s:s + self.window]):
                        self.items.append((vid, k, s))
        if self.window < 2 or not self.items:
            raise TrainingError(f"{dataset.name}: no track visible (>= {train_cfg.min_area} pixels) in "
                                f"{self.window} consecutive frames (train.window must be >= 2)")

    def _image(self, vid: int, t: int) -> np.ndarray:
        path = self.ds.frame_path(vid, t)
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise VideoReadError(f"cannot read frame {path}")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    def load(self, vid: int, k: int, start: int) -> SaVosSample:
        """The window [start, start + window) of track index k of video `vid`."""
        video = self.ds.video(vid)
        hw = work_size((video.height, video.width), self.m.image_scale)
        frames, vis, others = [], [], []
        for t in range(start, start + self.window):
            frames.append(to_work_image(self._image(vid, t), hw))
            other = np.zeros((video.height, video.width), bool)
            for j, tr in enumerate(self.tracks[vid]):
                if j != k and tr.segmentations[t] is not None:
                    other |= tr.visible_mask(t)
            target = self.tracks[vid][k].visible_mask(t)
            vis.append(to_work_mask(target, hw))
            others.append(to_work_mask(other & ~target, hw))
        flow_f, flow_b = self.flows.both(frames)
        return make_sample(np.stack(frames), np.stack(vis), np.stack(others), flow_f, flow_b, self.m)

    def batch(self, rng: np.random.Generator, size: int) -> SaVosSample:
        """`size` random windows, all from videos of the first pick's frame size (so they stack)."""
        first = self.items[rng.integers(len(self.items))]
        shape = self._size(first[0])
        same = [it for it in self.items if self._size(it[0]) == shape]
        picks = [first] + [same[rng.integers(len(same))] for _ in range(size - 1)]
        return stack_samples([self.load(*p) for p in picks])

    def _size(self, vid: int) -> Tuple[int, int]:
        video = self.ds.video(vid)
        return int(video.height), int(video.width)
