"""AmodalSession: causal streaming inference, one `step(image)` per frame, bounded memory.

Per frame: optical flow from the previous frame; each known object's motion (similarity fit on its
previous visible mask; when unseen, the velocity of its amodal centre over its last sightings)
moves its shape memory and its last amodal box; the visible masks are given or come from a
`Detector` (the visible net, motion or both) + tracker; every current object gets a crop (visible box united with the moved amodal box, 1.5x,
square); all crops go through CompletionNet in one batch; logits are pasted back at input
resolution and post-processed: amodal = visible ∪ (p > model.completion.threshold ∩ other objects'
visible), so amodal ⊇ visible and nothing spills onto visible background; an object that the pairs'
running occlusion votes put clearly in front of another (`model.completion.order_ratio`) is not
extended behind it (`amodal.models.ordering.settle_order`). The frame is then written into each
object's memory (the network's amodal mask, before the depth order is settled).

Hidden objects: an object seen in the last `hidden_frames` frames but not in this one (a
confirmed track the tracker lost this frame, or an id missing from the given masks; an empty given
mask too) is completed like the others from its memory with an empty visible mask, so its amodal
mask can only lie behind other objects' visible pixels. It is reported while that prediction keeps
`hidden_keep` of the amodal area it had when last seen (an object that left the frame or was merely
missed on open background is not); its memory is not written (it holds what was seen).

In tracker mode a new track is reported only once the tracker has confirmed it (matched in
`min_hits` frames in a row), except in the stream's first `min_hits - 1` frames, which have no
earlier frame to confirm against: unconfirmed detections still count as other objects' visible
pixels, but are not in the `FrameResult`.

State per object: a `ShapeMemory` (at most permanent + recent entries) and a few masks of the
last frame. Objects unseen for more than `max_lost` frames are dropped (in tracker mode: when
the tracker drops them), so cost and memory per frame do not grow with the stream.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Deque, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

from amodal.errors import InputError
from amodal.models.alignment import IDENTITY, FlowEstimator, moved_mask, object_motions
from amodal.models.crops import (crop_matrix, extract_crops, extract_plane_crops, mask_box, paste_crops_into,
                                 square_from_box, union_box, warp_box)
from amodal.models.completion import (check_hidden_keep, check_order_decay, check_order_ratio, check_threshold,
                                      threshold_logit)
from amodal.models.detector import Detector
from amodal.models.memory import ShapeMemory, read_memories
from amodal.models.ordering import OrderVotes, depth_order, occlusion_matrix, occlusion_rates, settle_order
from amodal.models.tracker import DEFAULT_MIN_HITS, Tracker
from amodal.types import FrameResult
from amodal.utils.allocator import reuse_freed_memory
from amodal.utils.checks import check_int
from amodal.utils.images import check_frame_size, check_rgb

CROP_SCALE = 1.5
CENTER_HISTORY = 4  # sightings whose amodal centres give an unseen object's velocity
MIN_CROP_SIDE = 24.0


@dataclass
class _ObjectState:
    memory: ShapeMemory
    motion: np.ndarray = field(default_factory=lambda: IDENTITY.copy())
    prev_visible: Optional[np.ndarray] = None
    prev_amodal: Optional[np.ndarray] = None
    prev_box: Optional[Tuple[float, float, float, float]] = None
    last_seen: int = -1
    score: float = 1.0  # detection score at the last sighting
    centers: Deque[Tuple[int, float, float]] = field(default_factory=lambda: deque(maxlen=CENTER_HISTORY))


@dataclass
class RawFrame:
    """Per-frame outputs before post-processing (used by the offline bidirectional pass).

    Attributes:
        ids: object ids (N).
        visible: bool (N, H, W).
        logits: float32 (N, H, W) amodal logits at input resolution.
        others: bool (N, H, W) union of the other objects' visible masks.
        det_scores: (N,) visible-mask confidences (1 for given masks).
        conf: (N,) completion confidence in [0, 1].
        confirmed: (N,) bool, the object is reported (always True for given masks).
        kept: (N,) bool, the session would report the object (seen, or hidden with a prediction
            that keeps `hidden_keep` of its last seen area); None: all are (see `step_raw`'s
            `all_rows`).
    """

    frame_index: int
    ids: List[int]
    visible: np.ndarray
    logits: np.ndarray
    det_scores: np.ndarray
    conf: np.ndarray
    others: Optional[np.ndarray] = None
    confirmed: Optional[np.ndarray] = None
    kept: Optional[np.ndarray] = None

    def reported(self) -> "RawFrame":
        """The frame restricted to confirmed objects (itself when all are)."""
        if self.confirmed is None or self.confirmed.all():
            return self
        return self.subset(np.flatnonzero(self.confirmed))

    def subset(self, keep: np.ndarray) -> "RawFrame":
        """The frame restricted to the objects at indices `keep` (int (K,)); each keeps its `others`
        (the objects left out still occlude it)."""
        others = others_mask(self.visible) if self.others is None else self.others
        confirmed = None if self.confirmed is None else self.confirmed[keep]
        kept = None if self.kept is None else self.kept[keep]
        return RawFrame(self.frame_index, [self.ids[i] for i in keep], self.visible[keep], self.logits[keep],
                        self.det_scores[keep], self.conf[keep], others[keep], confirmed, kept)


def others_mask(visible: np.ndarray) -> np.ndarray:
    """bool (N, H, W): union of the OTHER objects' visible masks, per object."""
    if len(visible) == 0:
        return visible.copy()
    v = visible.view(np.uint8)
    count = v.sum(0, dtype=np.uint8)
    return (count[None] - v) > 0


def finalize(frame_index: int, ids: List[int], visible: np.ndarray, logits: np.ndarray, scores: np.ndarray,
             latency_ms: float = 0.0, timestamp: Optional[float] = None, others: Optional[np.ndarray] = None,
             cut: float = 0.0, votes: Optional[OrderVotes] = None, order_ratio: float = 0.0) -> FrameResult:
    """Post-process logits (N, H, W) into a FrameResult: amodal = V ∪ (logit > cut ∩ others' V), less
    the extensions behind objects it is in front of by the pairs' running `votes` (updated with this
    frame; `amodal.models.ordering.settle_order`) when `order_ratio` > 0; the depth order is then
    sorted on those running votes (else on this frame's masks alone)."""
    others = others_mask(visible) if others is None else others
    amodal = visible | ((logits > cut) & others) if len(ids) else visible.copy()
    acc = None  # the pairs' running votes: they settle contradictions and give the depth order
    if votes is not None and order_ratio > 0 and len(ids) > 1:
        acc = votes.update(ids, occlusion_matrix(visible, amodal))
        amodal = settle_order(visible, amodal, acc, order_ratio)
    scores = np.asarray(scores, np.float32)
    order = depth_order(visible, amodal, scores, votes=acc)
    return FrameResult(frame_index=frame_index, object_ids=list(ids), visible=visible, amodal=amodal, scores=scores,
                       occlusion=occlusion_rates(visible, amodal), depth_order=[ids[i] for i in order],
                       latency_ms=latency_ms, timestamp=timestamp)


class AmodalSession:
    """Streaming amodal segmentation of one video (one session per stream).

    Args:
        model: an AmodalModel (see `amodal.models.build`); put in eval mode. The session runs a
            BatchNorm-folded copy of its completion net (weights are read at construction).
        device: torch device for the networks.
        max_objects: most objects handled per frame.
        max_lost: frames an unseen object keeps its memory (given-mask mode; in tracker mode the
            tracker decides, with the same value).
        flow_width: width of the reduced frames the objects' motions are measured on (None: the
            model's `model.completion.motion_width`; the flow method is `motion_preset`).
        min_hits: tracker mode: a new object is reported once detected in this many frames in a
            row (1: at once).
        threshold: amodal decision probability (None: the model's `model.completion.threshold`).
        report_first_frames: tracker mode: during the stream's first `min_hits - 1` frames, when no
            object can have been confirmed yet, report every tracked detection (as SORT does);
            False: only confirmed objects, ever (the offline pass, which reports them over their
            whole track anyway).
        detector: where detections come from: "network", "motion" or "network+motion"
            (`amodal.models.detector`); None: the model's `model.visible.detector`.
        hidden_frames: an object no longer seen (tracker mode: a confirmed track it lost; given
            masks: an id absent from this frame's masks) is still predicted from its memory for
            up to this many frames, and reported while the prediction behind other objects keeps
            `model.completion.hidden_keep` of the amodal area it had when last seen (0: never;
            None: the model's `model.completion.hidden_frames`).
        order_ratio: an object is not extended behind one that the pair's running occlusion votes
            put behind it by this ratio (0: never; None: the model's `model.completion.order_ratio`).
    """

    def __init__(self, model, device: str = "cpu", max_objects: int = 16, max_lost: int = 30,
                 flow_width: Optional[int] = None,
                 min_hits: int = DEFAULT_MIN_HITS, threshold: Optional[float] = None,
                 report_first_frames: bool = True, detector: Optional[str] = None,
                 hidden_frames: Optional[int] = None, order_ratio: Optional[float] = None) -> None:
        reuse_freed_memory()  # a frame's multi-MB tensors: no page faults each frame (amodal.utils.allocator)
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.net = model.completion.fused_for_inference().to(memory_format=torch.channels_last)
        self.cfg = model.completion.cfg
        self.cut = threshold_logit(self.cfg, check_threshold(threshold))  # amodal decision threshold as a logit
        self.hidden_frames = (check_int(self.cfg.hidden_frames, "model.completion.hidden_frames")
                              if hidden_frames is None else check_int(hidden_frames, "hidden_frames"))
        self.hidden_keep = check_hidden_keep(self.cfg.hidden_keep)
        self.order_ratio = (check_order_ratio(self.cfg.order_ratio) if order_ratio is None
                            else check_order_ratio(order_ratio, "order_ratio"))
        self.votes = OrderVotes(check_order_decay(self.cfg.order_decay))  # who hides whom, per pair of ids
        self.max_objects, self.max_lost = int(max_objects), int(max_lost)
        self.report_first_frames = bool(report_first_frames)
        self.flow = FlowEstimator(self.cfg.motion_width if flow_width is None else flow_width, self.cfg.motion_preset)
        self.tracker = None
        self.detector: Optional[Detector] = None
        vcfg = model.cfg.model.visible
        kind = vcfg.detector if detector is None else detector
        if model.visible is not None or kind == "motion":
            self.detector = Detector(model.visible, kind, vcfg.motion_threshold, vcfg.motion_confident)
            self.tracker = Tracker(iou_threshold=0.3, max_lost=self.max_lost, min_hits=min_hits)
        self.reset()

    def reset(self) -> None:
        """Forget the stream: every object memory, the tracker, the previous frame."""
        self._objects: Dict[int, _ObjectState] = {}
        self._prev_gray: Optional[np.ndarray] = None
        self._prev_image: Optional[np.ndarray] = None  # RGB of the previous frame (detectors that use motion)
        self._size: Optional[Tuple[int, int]] = None
        self._given_masks: Optional[bool] = None  # whether this stream's frames come with visible masks
        self._frame = -1
        self.votes.reset()
        if self.tracker is not None:
            self.tracker.reset()

    @property
    def num_memories(self) -> int:
        """Objects holding a memory."""
        return len(self._objects)

    @property
    def memory_entries(self) -> int:
        """Memory entries held over all objects (bounded by objects x capacity)."""
        return sum(len(s.memory) for s in self._objects.values())

    @torch.inference_mode()
    def step(self, image: np.ndarray, visible_masks: Optional[Dict[int, np.ndarray]] = None,
             timestamp: Optional[float] = None) -> FrameResult:
        """Process the next frame.

        Args:
            image: RGB uint8 (H, W, 3), same size for the whole stream.
            visible_masks: {object_id: bool (H, W)} visible masks, or None to detect and track.
            timestamp: stored in the result.

        Returns:
            FrameResult with masks at the input resolution.
        """
        t0 = time.perf_counter()
        raw = self.step_raw(image, visible_masks).reported()
        scores = raw.det_scores * (0.5 + 0.5 * raw.conf)
        res = finalize(raw.frame_index, raw.ids, raw.visible, raw.logits, scores, 0.0, timestamp, raw.others,
                       self.cut, self.votes, self.order_ratio)
        res.latency_ms = (time.perf_counter() - t0) * 1000.0
        return res

    # ------------------------------------------------------------------ internals

    def _check_image(self, image: np.ndarray) -> Tuple[int, int]:
        check_rgb(image, "frame")
        check_frame_size(image)  # optical flow needs room
        size = image.shape[:2]
        if self._size is not None and size != self._size:
            raise InputError(f"frame size changed mid-stream from {self._size} to {size} (call reset() first)")
        return size

    def _check_source(self, given: bool) -> None:
        """One stream takes its objects from one place: given masks on every frame, or the detector."""
        if self._given_masks is not None and given != self._given_masks:
            was, now = ("given visible masks", "none") if self._given_masks else ("none (the detector's objects)", "some")
            raise InputError(f"this stream's frames came with {was}, this one with {now}: the detector's track ids "
                             "and the given ids would mix up the objects' memories; call reset() to switch")
        if not given and self.detector is None:
            raise InputError("this model has no visible-mask network: give the visible masks (visible_masks; "
                             "--visible-masks, or --given-visible in amodal eval) or take the objects from "
                             "motion (detector 'motion', --detector motion)")

    def _given(self, visible_masks: Dict[int, np.ndarray], size: Tuple[int, int]) -> Tuple[List[int], np.ndarray]:
        if len(visible_masks) > self.max_objects:
            raise InputError(f"{len(visible_masks)} visible masks given, the session handles at most {self.max_objects} objects")
        ids = sorted(int(k) for k in visible_masks)
        masks = np.zeros((len(ids), size[0], size[1]), bool)
        for i, k in enumerate(ids):
            m = np.asarray(visible_masks[k])
            if m.shape != size:
                raise InputError(f"visible mask of object {k} has shape {m.shape}, the image is {size}")
            masks[i] = m.astype(bool, copy=False)
        return ids, masks

    def _detect(self, image: np.ndarray, size: Tuple[int, int], other: Optional[np.ndarray] = None
                ) -> Tuple[List[int], np.ndarray, np.ndarray]:
        previous = self._prev_image if self._prev_image is not None else other
        instances = self.detector(image, previous, self.max_objects)
        hints = {oid: moved_mask(st.prev_amodal, st.motion) for oid, st in self._objects.items() if st.prev_amodal is not None}
        ids = self.tracker.update([x.mask for x in instances], [x.score for x in instances], hints=hints)
        masks = np.stack([x.mask for x in instances]) if instances else np.zeros((0,) + size, bool)
        return list(ids), masks, np.array([x.score for x in instances], np.float32)

    def _advance(self, image: np.ndarray, size: Tuple[int, int]) -> None:
        gray = self.flow.gray(image)
        flow = self.flow.flow_gray(self._prev_gray, gray, size) if self._prev_gray is not None else None
        self._prev_gray = gray
        if flow is not None:  # objects seen in the previous frame: fitted to the flow, all at once
            seen = [st for st in self._objects.values() if st.last_seen == self._frame - 1]
            motions = object_motions(flow, [st.prev_visible for st in seen], [st.motion for st in seen])
            for st, motion in zip(seen, motions):
                st.motion = motion
        for st in self._objects.values():
            if st.last_seen < self._frame - 1 and len(st.centers) >= 2:  # unseen: no flow to fit on
                st.motion = center_velocity(st.centers)
            st.memory.advance(st.motion)
            st.prev_box = warp_box(st.prev_box, st.motion)

    def _forget(self, current: List[int], tracked: bool) -> None:
        """Drop the memories of objects gone for good: tracks the tracker dropped (`tracked`: this frame's
        objects come from it) or objects unseen for more than `max_lost` frames (given masks)."""
        if tracked:
            keep = set(self.tracker.active_ids) | set(self.tracker.lost_ids) | set(current)
        else:
            keep = {k for k, s in self._objects.items() if self._frame - s.last_seen <= self.max_lost} | set(current)
        held = len(self._objects)
        for k in [k for k in self._objects if k not in keep]:
            del self._objects[k]
        cap = 2 * self.max_objects
        if len(self._objects) > cap:
            stale = sorted((s.last_seen, k) for k, s in self._objects.items() if k not in current)
            for _, k in stale[: len(self._objects) - cap]:
                del self._objects[k]
        if len(self._objects) < held:
            self.votes.keep(self._objects)  # the pairs of the objects dropped

    @torch.inference_mode()
    def step_raw(self, image: np.ndarray, visible_masks: Optional[Dict[int, np.ndarray]] = None,
                 other: Optional[np.ndarray] = None, all_rows: bool = False) -> RawFrame:
        """Everything `step` does up to (not including) post-processing.

        `other`: RGB uint8 (H, W, 3), a neighbouring frame that detection measures motion against
        while the stream has no previous frame (the offline pass gives the second frame with the
        first); ignored afterwards. `all_rows`: also return the hidden objects the session would
        not report (their `kept` is False), for a caller that knows more (the offline pass knows
        when a lost track comes back).
        """
        size = self._check_image(image)
        given = visible_masks is not None
        if given:
            ids, vis = self._given(visible_masks, size)
        self._check_source(given)
        # every check passed: the frame is accepted, and only now does the stream's state move
        self._size, self._given_masks = size, given
        self._frame += 1
        self._advance(image, size)
        if given:
            det = np.ones(len(ids), np.float32)
            seen = vis.any((1, 2))  # an empty given mask: the object is there, hidden
        else:
            ids, vis, det = self._detect(image, size, other)
            seen = np.ones(len(ids), bool)
        if self.detector is not None and self.detector.needs_previous:
            self._prev_image = image.copy()  # the caller may reuse its buffer
        forced = ~seen  # reported whatever their prediction (the caller named them)
        self._forget(ids, tracked=visible_masks is None)
        ids, vis, det, seen = self._add_hidden(ids, vis, det, seen, tracked=visible_masks is None)
        n = len(ids)
        logits_full = np.full((n, size[0], size[1]), -30.0, np.float32)
        conf = np.ones(n, np.float32)
        others = others_mask(vis)
        keep = np.ones(n, bool)
        if n:
            rows, states, mats = self._crop_plan(ids, vis)
            if rows:
                logits = self._complete(vis, others, rows, states, mats, conf, image, seen)
                paste_crops_into(logits_full, logits, mats, rows)
            keep = self._remember(ids, vis, logits_full, others, seen, det) | np.pad(forced, (0, n - len(forced)))
        confirmed = None
        if visible_masks is None:
            ok = set(self.tracker.reported_ids if self.report_first_frames else self.tracker.confirmed_ids)
            confirmed = np.array([k in ok or not s for k, s in zip(ids, seen)], bool)  # hidden ones: confirmed tracks
        raw = RawFrame(self._frame, ids, vis, logits_full, det, conf, others, confirmed, keep if all_rows else None)
        return raw if all_rows or keep.all() else raw.subset(np.flatnonzero(keep))

    def _add_hidden(self, ids: List[int], vis: np.ndarray, det: np.ndarray, seen: np.ndarray, tracked: bool
                    ) -> Tuple[List[int], np.ndarray, np.ndarray, np.ndarray]:
        """Append the objects seen in the last `hidden_frames` frames but not in this one (empty visible
        masks), most recently seen first, up to `max_objects` rows in all. `tracked`: only tracks the
        tracker has confirmed and still keeps."""
        if self.hidden_frames == 0 or len(ids) >= self.max_objects:
            return ids, vis, det, seen
        current = set(ids)
        allowed = set(self.tracker.confirmed_lost_ids) if tracked else None
        h, w = vis.shape[1:]
        found = sorted(((st.last_seen, oid) for oid, st in self._objects.items()
                        if oid not in current and st.prev_box is not None
                        and 0 < self._frame - st.last_seen <= self.hidden_frames
                        and (allowed is None or oid in allowed) and _box_inside(st.prev_box, w, h)), reverse=True)
        add = [oid for _, oid in found[: self.max_objects - len(ids)]]
        if not add:
            return ids, vis, det, seen
        vis = np.concatenate([vis, np.zeros((len(add),) + vis.shape[1:], bool)])
        det = np.concatenate([det, np.array([self._objects[k].score for k in add], np.float32)])
        return list(ids) + add, vis, det, np.concatenate([seen, np.zeros(len(add), bool)])

    def _crop_plan(self, ids: List[int], vis: np.ndarray) -> Tuple[List[int], List[_ObjectState], np.ndarray]:
        """Crop of every object that has a box (its visible box united with its moved amodal box).

        Returns:
            rows (n,) indices into `ids`, their states, frame->crop matrices float32 (n, 2, 3).
        """
        rows: List[int] = []
        states: List[_ObjectState] = []
        mats: List[np.ndarray] = []
        for i, oid in enumerate(ids):
            st = self._objects.get(oid)
            if st is None:
                st = self._objects[oid] = _ObjectState(ShapeMemory(self.cfg.memory_permanent, self.cfg.memory_recent))
            box = union_box([mask_box(vis[i]), st.prev_box])
            if box is None:
                continue
            mats.append(crop_matrix(square_from_box(box, CROP_SCALE, MIN_CROP_SIDE), self.cfg.crop_size))
            rows.append(i)
            states.append(st)
        return rows, states, np.stack(mats) if mats else np.zeros((0, 2, 3), np.float32)

    def _complete(self, vis: np.ndarray, others: np.ndarray, rows: List[int], states: List[_ObjectState],
                  mats: np.ndarray, conf: np.ndarray, image: np.ndarray, seen: np.ndarray) -> np.ndarray:
        """Run CompletionNet on the crops of `rows`, write the seen ones into the memories, fill `conf[rows]`.

        Args:
            vis, others: bool (N, H, W) visible masks and the union of the other objects' ones.
            rows, states, mats: from `_crop_plan` (n objects).
            conf: (N,) completion confidences, written in place.
            image: RGB uint8 (H, W, 3) (used when the net takes colour).
            seen: (N,) bool; an object not seen in this frame is predicted from its memory, which
                this frame does not write (it holds what was seen).

        Returns:
            float32 (n, S, S) amodal logits in the crops.
        """
        s = self.cfg.crop_size
        v255, o255 = vis.view(np.uint8) * np.uint8(255), others.view(np.uint8) * np.uint8(255)
        free255 = (~vis.any(0)).view(np.uint8) * np.uint8(255)
        crops = extract_plane_crops([(v255[i], o255[i], free255) for i in rows], mats, s)  # (n, 3, S, S)
        channels = [torch.from_numpy(crops), read_memories([st.memory for st in states], mats, s)]
        if self.cfg.use_rgb:
            channels.append(torch.from_numpy(extract_crops([image] * len(rows), mats, s)))
        x = torch.cat(channels, 1).to(self.device).contiguous(memory_format=torch.channels_last)
        logits = self.net(x).float()[:, 0].cpu().numpy()
        prob = 1.0 / (1.0 + np.exp(-logits))
        remembered = np.maximum(crops[:, 0], prob * crops[:, 1])
        sel = (crops[:, 1] > 0.5) & (prob > 0.05)
        certainty = np.abs(2 * prob - 1)
        for j, (i, st) in enumerate(zip(rows, states)):
            if seen[i]:
                st.memory.write(crops[j, 0], remembered[j], mats[j], float(np.count_nonzero(vis[i])))
            conf[i] = float(certainty[j][sel[j]].mean()) if sel[j].any() else 1.0
        return logits

    def _remember(self, ids: List[int], vis: np.ndarray, logits_full: np.ndarray, others: np.ndarray,
                  seen: np.ndarray, det: np.ndarray) -> np.ndarray:
        """Keep each seen object's visible and post-processed amodal mask (N, H, W), amodal box and score
        for the next frame.

        Returns:
            (N,) bool: seen, or hidden with a prediction holding `hidden_keep` of its last seen area.
        """
        amodal = vis | ((logits_full > self.cut) & others)
        keep = seen.copy()
        for i, oid in enumerate(ids):
            st = self._objects[oid]
            if not seen[i]:  # prev_amodal: its amodal mask when last seen
                area = int(np.count_nonzero(amodal[i]))
                seen_area = np.count_nonzero(st.prev_amodal) if st.prev_amodal is not None else 0
                keep[i] = area > 0 and area >= self.hidden_keep * seen_area
                continue
            st.prev_visible, st.prev_amodal = vis[i].copy(), amodal[i].copy()  # own copies: the caller gets vis
            st.prev_box = mask_box(amodal[i])
            st.last_seen, st.score = self._frame, float(det[i])
            if st.prev_box is not None:  # amodal centre, from the moments of the mask's box only
                x0, y0, x1, y1 = (int(v) for v in st.prev_box)
                m = cv2.moments(amodal[i, y0:y1 + 1, x0:x1 + 1].view(np.uint8), binaryImage=True)
                st.centers.append((self._frame, x0 + m["m10"] / m["m00"], y0 + m["m01"] / m["m00"]))
        return keep


def center_velocity(centers: Sequence[Tuple[int, float, float]]) -> np.ndarray:
    """Translation (2, 3) per frame from the first to the last of >= 2 (frame, x, y) amodal centres."""
    (f0, x0, y0), (f1, x1, y1) = centers[0], centers[-1]
    n = max(f1 - f0, 1)
    return np.array([[1, 0, (x1 - x0) / n], [0, 1, (y1 - y0) / n]], np.float32)


def _box_inside(box: Tuple[float, float, float, float], width: int, height: int) -> bool:
    """Whether a box (x0, y0, x1, y1) overlaps the frame."""
    return box[2] >= 0 and box[3] >= 0 and box[0] < width and box[1] < height
