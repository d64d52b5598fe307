"""`amodal eval --model savos`: SaVos over every object track of a video (offline, bidirectional).

Per object, each run of consecutive frames where its visible mask is non-empty is one sequence;
frame t's amodal mask is predicted from the other frames of the run (forward pass up to t-1,
backward pass from t+1, fused), at the working resolution, upsampled bilinearly to the input
size, then post-processed as in the paper: the observed visible mask is kept and predicted pixels
are added only inside the other objects' visible masks. A run of one frame keeps its visible mask.
"""
from __future__ import annotations

from typing import Dict, Iterable, Iterator, List, Optional, Tuple

import cv2
import numpy as np
import torch

from amodal.baselines.checkpoint import load_baseline_checkpoint, load_state_strict, resolve_checkpoint
from amodal.baselines.config import model_config_from_dict
from amodal.baselines.runner_common import given_masks, ours_masks, read_frames
from amodal.baselines.savos_core import predict_track
from amodal.baselines.savos_data import FlowComputer, make_sample, to_work_image, to_work_mask, work_size
from amodal.baselines.savos_model import SaVosNet
from amodal.eval.baselines import ModelOptions, frame_result
from amodal.types import FrameResult


def load_savos(path: str, device: str = "cpu") -> SaVosNet:
    """SaVosNet from a baseline checkpoint (strict), in eval mode."""
    ckpt = load_baseline_checkpoint(path, "savos")
    model = SaVosNet(model_config_from_dict("savos", ckpt["config"]))
    load_state_strict(model, ckpt["state_dict"], path)
    return model.to(device).eval()


def _runs(frames: List[int]) -> List[Tuple[int, int]]:
    """Consecutive runs [a, b] (inclusive) of sorted frame indices."""
    runs: List[Tuple[int, int]] = []
    for t in frames:
        if runs and t == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], t)
        else:
            runs.append((t, t))
    return runs


@torch.inference_mode()
def predict_probabilities(model: SaVosNet, frames: List[np.ndarray], per_frame: list
                          ) -> Dict[Tuple[int, int], np.ndarray]:
    """{(frame, object id): float16 (Hs, Ws) amodal probability} for objects in runs of >= 2 frames.

    Args:
        frames: RGB uint8 (H, W, 3) per frame.
        per_frame: per frame (ids, bool (N, H, W) visible masks, scores).
    """
    cfg = model.cfg
    size = frames[0].shape[:2]
    hw = work_size(size, cfg.image_scale)
    small = [to_work_image(f, hw) for f in frames]
    flow_f, flow_b = FlowComputer().both(small)
    present: Dict[int, List[int]] = {}
    for t, (ids, vis, _) in enumerate(per_frame):
        for n, k in enumerate(ids):
            if vis[n].any():
                present.setdefault(k, []).append(t)
    out: Dict[Tuple[int, int], np.ndarray] = {}
    for k, ts in present.items():
        for a, b in _runs(ts):
            if b == a:
                continue
            vis_s, oth_s = [], []
            for t in range(a, b + 1):
                ids, vis, _ = per_frame[t]
                n = ids.index(k)
                others = np.any(np.delete(vis, n, axis=0), axis=0) if len(ids) > 1 else np.zeros(size, bool)
                vis_s.append(to_work_mask(vis[n], hw))
                oth_s.append(to_work_mask(others & ~vis[n], hw))
            ff, fb = flow_f[a:b + 1].copy(), flow_b[a:b + 1].copy()
            ff[-1] = 0.0  # as in training windows: no flow out of the run
            fb[0] = 0.0
            sample = make_sample(np.stack(small[a:b + 1]), np.stack(vis_s), np.stack(oth_s), ff, fb, cfg)
            dev = next(model.parameters()).device
            sample = type(sample)(*(getattr(sample, f).to(dev) for f in sample.__dataclass_fields__))
            fused = predict_track(model, sample)[:, 0].cpu().numpy()
            for i, t in enumerate(range(a, b + 1)):
                out[(t, k)] = fused[i].astype(np.float16)
    return out


def postprocess(prob: np.ndarray, vis: np.ndarray, others: np.ndarray, threshold: float) -> np.ndarray:
    """visible ∪ (upsampled prob > threshold ∩ others): bool (H, W) from a (Hs, Ws) probability."""
    h, w = vis.shape
    up = cv2.resize(prob.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return vis | ((up > threshold) & others)


class SaVosRunner:
    """Model runner (see `amodal.eval.baselines.ModelRunner`) for SaVos."""

    def __init__(self, options: ModelOptions) -> None:
        self.options = options
        self.model = load_savos(str(resolve_checkpoint("savos", options.checkpoint)), options.device)

    def needs_frames(self, given_visible: bool) -> bool:
        return True

    def predict_video(self, frames: Optional[Iterable[np.ndarray]], size: Tuple[int, int], length: int,
                      visible_masks: Optional[list]) -> Iterator[FrameResult]:
        images = read_frames(frames, length)
        per_frame = (given_masks(visible_masks, length, size) if visible_masks is not None
                     else ours_masks(self.options, images, size, length))
        probs = predict_probabilities(self.model, images, per_frame) if length else {}
        thr = self.model.cfg.threshold
        for t, (ids, vis, scores) in enumerate(per_frame):
            amodal = vis.copy()
            for n, k in enumerate(ids):
                if (t, k) in probs:
                    others = np.any(np.delete(vis, n, axis=0), axis=0) if len(ids) > 1 else np.zeros(size, bool)
                    amodal[n] = postprocess(probs[(t, k)], vis[n], others, thr)
            yield frame_result(t, ids, vis, amodal, scores)
