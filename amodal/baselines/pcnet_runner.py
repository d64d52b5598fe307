"""`amodal eval --model pcnet`: PCNet-M completion of every object of every frame (image-only).

Per frame: (1) pairwise occlusion order, as in PCNet-M: for two touching objects A and B, A is
completed with B as eraser and B with A; the one whose completion grows more into the other is
the occluded one; (2) each object is completed with the union of its occluders' visible masks as
eraser; amodal = visible ∪ (p > threshold ∩ eraser), at the input resolution.
"""
from __future__ import annotations

from typing import Iterable, Iterator, List, Optional, Tuple

import cv2
import numpy as np
import torch

from amodal.baselines.checkpoint import load_baseline_checkpoint, load_state_strict, resolve_checkpoint
from amodal.baselines.config import PCNetModelConfig, model_config_from_dict
from amodal.baselines.geometry import crop, expand_box, mask_box, paste
from amodal.baselines.pcnet import PCNetM
from amodal.baselines.runner_common import given_masks, ours_masks
from amodal.eval.baselines import ModelOptions, frame_result
from amodal.types import FrameResult


def load_pcnet(path: str, device: str = "cpu") -> PCNetM:
    """PCNetM from a baseline checkpoint (strict), in eval mode."""
    ckpt = load_baseline_checkpoint(path, "pcnet")
    model = PCNetM(model_config_from_dict("pcnet", ckpt["config"]))
    load_state_strict(model, ckpt["state_dict"], path)
    return model.to(device).eval()


@torch.inference_mode()
def complete(model: PCNetM, pairs: List[Tuple[np.ndarray, np.ndarray]]) -> List[np.ndarray]:
    """Completion probabilities at input resolution.

    Args:
        pairs: (visible, eraser) bool (H, W) each; the visible mask must be non-empty.

    Returns:
        float32 (H, W) probabilities per pair (0 outside the object's crop).
    """
    if not pairs:
        return []
    cfg: PCNetModelConfig = model.cfg
    size = pairs[0][0].shape
    boxes = [expand_box(mask_box(v), cfg.crop_scale, min_side=8.0, square=True) for v, _ in pairs]
    device = next(model.parameters()).device
    inputs = []
    for (v, e), box in zip(pairs, boxes):
        stack = torch.from_numpy(np.stack([v, e & ~v]).astype(np.float32))[None]
        inputs.append(crop(stack, torch.tensor([box], dtype=torch.float32), (cfg.crop_size, cfg.crop_size))[0])
    probs = torch.sigmoid(model(torch.stack(inputs).to(device)))[:, 0].cpu()
    return [paste(p, box, size) for p, box in zip(probs, boxes)]


def _touching(vis: np.ndarray) -> List[Tuple[int, int]]:
    """Index pairs (i < j) whose visible masks touch (within 2 pixels)."""
    kernel = np.ones((5, 5), np.uint8)
    grown = [cv2.dilate(m.astype(np.uint8), kernel) > 0 for m in vis]
    return [(i, j) for i in range(len(vis)) for j in range(i + 1, len(vis)) if (grown[i] & vis[j]).any()]


def occluders(model: PCNetM, vis: np.ndarray) -> List[List[int]]:
    """Per object, the indices of the objects found in front of it (pairwise PCNet-M order)."""
    pairs = _touching(vis)
    front: List[List[int]] = [[] for _ in range(len(vis))]
    jobs = []
    for i, j in pairs:
        jobs += [(vis[i], vis[j]), (vis[j], vis[i])]
    probs = complete(model, jobs)
    thr = model.cfg.threshold
    for n, (i, j) in enumerate(pairs):
        grow_i = int(((probs[2 * n] > thr) & vis[j]).sum())
        grow_j = int(((probs[2 * n + 1] > thr) & vis[i]).sum())
        if grow_i > grow_j:
            front[i].append(j)
        elif grow_j > grow_i:
            front[j].append(i)
    return front


def complete_frame(model: PCNetM, vis: np.ndarray) -> np.ndarray:
    """Amodal masks bool (N, H, W) of one frame's objects from their visible masks (N, H, W)."""
    amodal = vis.copy()
    nonempty = [k for k in range(len(vis)) if vis[k].any()]
    if len(nonempty) < 2:
        return amodal
    sub = vis[nonempty]
    front = occluders(model, sub)
    jobs, owners = [], []
    for k, idx in enumerate(front):
        if idx:
            eraser = np.any(sub[idx], axis=0)
            jobs.append((sub[k], eraser))
            owners.append((nonempty[k], eraser))
    for (k, eraser), p in zip(owners, complete(model, jobs)):
        amodal[k] |= (p > model.cfg.threshold) & eraser
    return amodal


class PCNetRunner:
    """Model runner (see `amodal.eval.baselines.ModelRunner`) for PCNet-M."""

    def __init__(self, options: ModelOptions) -> None:
        self.options = options
        self.model = load_pcnet(str(resolve_checkpoint("pcnet", options.checkpoint)), options.device)

    def needs_frames(self, given_visible: bool) -> bool:
        return not given_visible

    def predict_video(self, frames: Optional[Iterable[np.ndarray]], size: Tuple[int, int], length: int,
                      visible_masks: Optional[list]) -> Iterator[FrameResult]:
        per_frame = (given_masks(visible_masks, length, size) if visible_masks is not None
                     else ours_masks(self.options, frames, size, length))
        for t, (ids, vis, scores) in enumerate(per_frame):
            yield frame_result(t, ids, vis, complete_frame(self.model, vis), scores)
