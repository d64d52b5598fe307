"""Offline bidirectional inference: a causal pass forward and one over the reversed clip.

Both passes use the same weights; the backward pass is given the forward pass's visible masks
and identities (so both predict the same objects; an object the forward pass reports hidden is
left to the backward pass's own hidden-object rule, and taken from the forward pass alone where
the backward pass does not predict it), probabilities are averaged per pixel, then
post-processed as in the streaming session. An object the tracker confirmed at any frame is
reported over its whole track, the frames before its confirmation included (the stream cannot
do this: it does not know the future); objects never confirmed are not reported. Detectors that
use motion measure it at the first frame against the second (a stream has nothing to measure it
against there). Holds the whole clip's logits (float16), so it is for clips, not endless streams.
"""
from __future__ import annotations

import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from amodal.inference.session import AmodalSession, RawFrame, finalize
from amodal.models.tracker import DEFAULT_MIN_HITS
from amodal.types import FrameResult


def _prob(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits.astype(np.float32)))


@torch.inference_mode()
def run_offline(model, frames: Sequence[np.ndarray], visible_masks: Optional[Sequence[Dict[int, np.ndarray]]] = None,
                device: str = "cpu", max_objects: int = 16, min_hits: int = DEFAULT_MIN_HITS,
                threshold: Optional[float] = None, detector: Optional[str] = None,
                hidden_frames: Optional[int] = None) -> List[FrameResult]:
    """Bidirectional amodal segmentation of a clip.

    Args:
        model: AmodalModel.
        frames: T RGB uint8 (H, W, 3).
        visible_masks: per frame {object_id: bool (H, W)}, or None to detect and track (forward pass).
        device: torch device.
        max_objects: most objects per frame.
        min_hits: tracker mode: frames in a row that confirm a new object (see `AmodalSession`).
        threshold: amodal decision probability (None: the model's).
        detector: tracker mode: "network", "motion" or "network+motion" (None: the model's).
        hidden_frames: frames an object no longer seen is still predicted (see `AmodalSession`); the
            backward pass predicts the forward pass's hidden objects too, from what it saw after.

    Returns:
        T FrameResults; identities from the forward pass.
    """
    t0 = time.perf_counter()
    if visible_masks is not None and len(visible_masks) != len(frames):
        from amodal.errors import InputError

        raise InputError(f"{len(frames)} frames but {len(visible_masks)} visible-mask dicts")
    session = AmodalSession(model, device=device, max_objects=max_objects, min_hits=min_hits, threshold=threshold,
                            report_first_frames=False, detector=detector, hidden_frames=hidden_frames)
    forward: List[RawFrame] = []
    confirmed: set = set()
    for t, image in enumerate(frames):
        other = frames[1] if t == 0 and len(frames) > 1 else None  # motion at the first frame: against the second
        raw = session.step_raw(image, None if visible_masks is None else visible_masks[t], other)
        raw.logits, raw.others = raw.logits.astype(np.float16), None  # keep the clip small
        ok = raw.confirmed if raw.confirmed is not None else np.ones(len(raw.ids), bool)
        confirmed.update(k for k, c in zip(raw.ids, ok) if c)
        forward.append(raw)
    session = AmodalSession(model, device=device, max_objects=max_objects, threshold=threshold, hidden_frames=hidden_frames)
    backward: List[Optional[RawFrame]] = [None] * len(frames)
    for t in reversed(range(len(frames))):
        f = forward[t]
        raw = session.step_raw(frames[t], {k: f.visible[i] for i, k in enumerate(f.ids) if f.visible[i].any()})
        raw.logits, raw.others = raw.logits.astype(np.float16), None
        backward[t] = raw
    results = []
    per_frame_ms = (time.perf_counter() - t0) * 1000.0 / max(len(frames), 1)
    for t, f in enumerate(forward):
        b = backward[t]
        pos = {k: i for i, k in enumerate(b.ids)}
        p, conf = _prob(f.logits), f.conf.copy()
        for i, k in enumerate(f.ids):
            if k in pos:  # else hidden and not predicted backward: the forward pass alone
                p[i] = 0.5 * (p[i] + _prob(b.logits[pos[k]]))
                conf[i] = 0.5 * (conf[i] + b.conf[pos[k]])
        fused_logits = np.log(np.clip(p, 1e-6, 1.0)) - np.log(np.clip(1.0 - p, 1e-6, 1.0))
        fused = RawFrame(t, f.ids, f.visible, fused_logits, f.det_scores, conf, None,
                         np.array([k in confirmed for k in f.ids], bool)).reported()
        scores = fused.det_scores * (0.5 + 0.5 * fused.conf)
        results.append(finalize(t, fused.ids, fused.visible, fused.logits, scores, per_frame_ms, others=fused.others,
                                cut=session.cut))
    return results
