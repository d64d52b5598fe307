"""Offline bidirectional inference: a causal pass forward and one over the reversed clip.

Both passes use the same weights; the backward pass is given the forward pass's visible masks
and identities (so both predict the same objects; an object the forward pass reports hidden is
left to the backward pass's own hidden-object rule, and taken from the forward pass alone where
the backward pass does not predict it), probabilities are averaged per pixel, then
post-processed as in the streaming session (the depth order's votes accumulated over the fused
frames, first to last). An object the tracker confirmed at any frame is
reported over its whole track, the frames before its confirmation included (the stream cannot
do this: it does not know the future); objects never confirmed are not reported. A track that
the detector loses for at most `hidden_frames` frames and finds again is reported in between too,
its amodal mask predicted from its memory (both passes) and seen wherever no other object is seen
(the stream reports such an object only where its prediction lies behind others). Detectors that
use motion measure it at the first frame against the second (a stream has nothing to measure it
against there). Holds the whole clip's logits (float16), so it is for clips, not endless streams.
"""
from __future__ import annotations

import time
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
import torch

from amodal.inference.session import AmodalSession, RawFrame, finalize
from amodal.models.ordering import OrderVotes
from amodal.models.tracker import DEFAULT_MIN_HITS
from amodal.types import FrameResult


def _prob(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits.astype(np.float32)))


def track_gaps(frames: Sequence[RawFrame], longest: int) -> Set[Tuple[int, int]]:
    """(frame, track id) pairs where a track is not seen but is seen again later, after at most
    `longest` frames unseen: the detector missed an object that is still there.

    Args:
        frames: the forward pass's frames (rows with an empty visible mask are not seen).
        longest: the longest gap filled (frames).
    """
    seen: Dict[int, List[int]] = {}
    for t, f in enumerate(frames):
        for i, k in enumerate(f.ids):
            if f.visible[i].any():
                seen.setdefault(k, []).append(t)
    out: Set[Tuple[int, int]] = set()
    for k, ts in seen.items():
        for a, b in zip(ts[:-1], ts[1:]):
            if 1 < b - a <= longest + 1:
                out.update((t, k) for t in range(a + 1, b))
    return out


def fill_gaps(visible: np.ndarray, logits: np.ndarray, in_gap: np.ndarray, cut: float) -> np.ndarray:
    """Visible masks (N, H, W) with each gap row's predicted amodal mask (logits (N, H, W) > cut)
    where no seen object's visible mask lies: an object the detector missed in open view is seen
    where nothing covers it (so its amodal mask, after post-processing, is the whole prediction)."""
    if not in_gap.any():
        return visible
    out = visible.copy()
    covered = visible.any(0)
    for i in np.flatnonzero(in_gap):
        out[i] = (logits[i] > cut) & ~covered
    return out


@torch.inference_mode()
def run_offline(model, frames: Sequence[np.ndarray], visible_masks: Optional[Sequence[Dict[int, np.ndarray]]] = None,
                device: str = "cpu", max_objects: int = 16, min_hits: int = DEFAULT_MIN_HITS,
                threshold: Optional[float] = None, detector: Optional[str] = None,
                hidden_frames: Optional[int] = None, order_ratio: Optional[float] = None) -> List[FrameResult]:
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
        order_ratio: the depth-order rule (see `AmodalSession`; None: the model's).

    Returns:
        T FrameResults; identities from the forward pass.
    """
    t0 = time.perf_counter()
    if visible_masks is not None and len(visible_masks) != len(frames):
        from amodal.errors import InputError

        raise InputError(f"{len(frames)} frames but {len(visible_masks)} visible-mask dicts")
    session = AmodalSession(model, device=device, max_objects=max_objects, min_hits=min_hits, threshold=threshold,
                            report_first_frames=False, detector=detector, hidden_frames=hidden_frames,
                            order_ratio=order_ratio)
    forward: List[RawFrame] = []
    confirmed: set = set()
    for t, image in enumerate(frames):
        other = frames[1] if t == 0 and len(frames) > 1 else None  # motion at the first frame: against the second
        raw = session.step_raw(image, None if visible_masks is None else visible_masks[t], other, all_rows=True)
        raw.logits, raw.others = raw.logits.astype(np.float16), None  # keep the clip small
        ok = raw.confirmed if raw.confirmed is not None else np.ones(len(raw.ids), bool)
        confirmed.update(k for k, c in zip(raw.ids, ok) if c)
        forward.append(raw)
    gaps = track_gaps(forward, session.hidden_frames) if visible_masks is None else set()
    session = AmodalSession(model, device=device, max_objects=max_objects, threshold=threshold, hidden_frames=hidden_frames,
                            order_ratio=order_ratio)
    backward: List[Optional[RawFrame]] = [None] * len(frames)
    for t in reversed(range(len(frames))):
        f = forward[t]
        raw = session.step_raw(frames[t], {k: f.visible[i] for i, k in enumerate(f.ids) if f.visible[i].any()},
                               all_rows=True)
        raw.logits, raw.others = raw.logits.astype(np.float16), None
        backward[t] = raw
    results = []
    votes = OrderVotes(session.votes.decay)  # the depth order settled over the fused frames, in order
    per_frame_ms = (time.perf_counter() - t0) * 1000.0 / max(len(frames), 1)
    for t, f in enumerate(forward):
        b = backward[t]
        pos = {k: i for i, k in enumerate(b.ids)}
        in_gap = np.array([(t, k) in gaps for k in f.ids], bool)
        p, conf = _prob(f.logits), f.conf.copy()
        for i, k in enumerate(f.ids):
            j = pos.get(k)
            if j is not None and (b.kept[j] or in_gap[i]):  # else hidden and not predicted backward: forward alone
                p[i] = 0.5 * (p[i] + _prob(b.logits[j]))
                conf[i] = 0.5 * (conf[i] + b.conf[j])
        fused_logits = np.log(np.clip(p, 1e-6, 1.0)) - np.log(np.clip(1.0 - p, 1e-6, 1.0))
        in_gap[in_gap] = (fused_logits[in_gap] > session.cut).any((1, 2))  # an empty prediction fills nothing
        visible = fill_gaps(f.visible, fused_logits, in_gap, session.cut)
        report = np.array([k in confirmed for k in f.ids], bool) & (f.kept | in_gap)
        fused = RawFrame(t, f.ids, visible, fused_logits, f.det_scores, conf, None, report).reported()
        scores = fused.det_scores * (0.5 + 0.5 * fused.conf)
        results.append(finalize(t, fused.ids, fused.visible, fused.logits, scores, per_frame_ms, others=fused.others,
                                cut=session.cut, votes=votes, order_ratio=session.order_ratio))
    return results
