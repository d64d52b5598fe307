"""Tracker: stable object ids across frames from per-frame visible masks.

Each track keeps its last visible mask (at a reduced working resolution), a slowly decaying
reference area and a constant-velocity estimate of its centroid's motion. The centroid of a
partly occluded visible mask drifts away from the object's true position, so the velocity and
the position it extrapolates from ("anchor") are only updated from reliable sightings, whose
area is at least `reliable_area` x the reference area.
Matching a frame's detections to tracks is done in two Hungarian stages:

1. overlap: affinity = max(IoU(detection, predicted mask), IoU(detection, hint)); the predicted
   mask is the last mask shifted by velocity x frames since last seen; pairs under
   `iou_threshold` are rejected;
2. re-acquisition, for what stage 1 left unmatched (typically tracks that were hidden, or moved
   fast): a detection lying mostly inside the track's hint (`contain_threshold`) or whose
   centroid is within a gate of the track's predicted centroid (hint centroid when a hint is
   given). The gate grows with the track's size and with the number of frames it was lost.

Unmatched detections start new tracks (ids >= 1, never reused). A new track is *tentative*
until it has been matched in `min_hits` frames in a row (as in SORT): a tentative track missed
once is deleted, so one-frame flickers of the detector never become objects. Callers report
`reported_ids`: the confirmed tracks, and during a stream's first `min_hits - 1` frames (nothing
earlier to confirm against) every matched one (the streaming session does; the offline pass
reports `confirmed_ids` only). Confirmed tracks unseen for more than `max_lost`
frames are dropped, and at most `max_tracks` are kept (oldest lost ones go first), so the state
is bounded however long the stream is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from amodal.errors import InputError

_INVALID = 1e6
DEFAULT_MIN_HITS = 2  # what inference uses: frames in a row that confirm a new object (docs/INFERENCE.md)


@dataclass
class _Track:
    id: int
    mask: np.ndarray  # bool (h, w) last visible mask at working resolution
    anchor: np.ndarray  # float (2,) (row, col) centroid at the last reliable sighting
    anchor_frame: int  # frame index of that sighting
    last_frame: int  # frame index of the last match
    velocity: np.ndarray  # float (2,) centroid motion per frame
    ref_area: float  # working-resolution pixels, slowly decaying max of the visible area
    lost: int = 0  # frames since last matched (0 = seen this frame)
    hits: int = 1
    confirmed: bool = False  # matched in `min_hits` consecutive frames at least once


def check_min_hits(min_hits: Any, name: str = "min_hits") -> int:
    """`min_hits` as an int >= 1 (bools and non-integers refused); raises `InputError` naming `name`."""
    if isinstance(min_hits, (bool, np.bool_)) or not isinstance(min_hits, (int, np.integer)) or min_hits < 1:
        raise InputError(f"{name} must be a positive int, got {min_hits!r}")
    return int(min_hits)


def _shift(mask: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Translate a bool mask by whole pixels (zero fill)."""
    h, w = mask.shape
    out = np.zeros_like(mask)
    if abs(dy) >= h or abs(dx) >= w:
        return out
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = mask[ys, xs]
    return out


def _centroid(mask: np.ndarray) -> Tuple[np.ndarray, int]:
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return np.zeros(2), 0
    return np.array([ys.mean(), xs.mean()]), int(ys.size)


class Tracker:
    """Assigns persistent ids to per-frame instance masks.

    Args:
        iou_threshold: minimum overlap affinity to continue a track in stage 1.
        max_lost: frames a track may stay unseen before it is dropped.
        contain_threshold: share of a detection inside a track's hint that re-acquires the track.
        gate_scale: centroid gate in units of the track's equivalent radius sqrt(area / pi).
        gate_growth: extra gate (working pixels) per lost frame.
        reliable_area: a sighting updates the motion model when its area is at least this
            fraction of the track's reference area.
        max_tracks: hard cap on the number of stored tracks.
        working_size: masks are subsampled so that their short side is about this many pixels.
        min_hits: consecutive matched frames (the first sighting included) that confirm a new
            track; 1 confirms every detection at once.
    """

    def __init__(
        self,
        iou_threshold: float = 0.3,
        max_lost: int = 60,
        *,
        contain_threshold: float = 0.5,
        gate_scale: float = 1.5,
        gate_growth: float = 0.5,
        reliable_area: float = 0.8,
        max_tracks: int = 256,
        working_size: int = 120,
        min_hits: int = 1,
    ) -> None:
        if not 0.0 <= iou_threshold <= 1.0:
            raise InputError(f"Tracker iou_threshold must be in [0, 1], got {iou_threshold}")
        if max_lost < 0:
            raise InputError(f"Tracker max_lost must be >= 0, got {max_lost}")
        self.min_hits = check_min_hits(min_hits, "Tracker min_hits")
        self.iou_threshold = float(iou_threshold)
        self.max_lost = int(max_lost)
        self.contain_threshold = float(contain_threshold)
        self.gate_scale = float(gate_scale)
        self.gate_growth = float(gate_growth)
        self.reliable_area = float(reliable_area)
        self.max_tracks = int(max_tracks)
        self.working_size = int(working_size)
        self.reset()

    def reset(self) -> None:
        """Forget every track and the frame size (ids keep increasing: never reused)."""
        self._tracks: List[_Track] = []
        self._shape: Optional[Tuple[int, int]] = None
        self._step = 1
        self._frame = 0
        if not hasattr(self, "_next_id"):
            self._next_id = 1

    @property
    def active_ids(self) -> List[int]:
        """Ids of tracks matched in the last update (tentative ones included)."""
        return [t.id for t in self._tracks if t.lost == 0]

    @property
    def confirmed_ids(self) -> List[int]:
        """Ids of confirmed tracks matched in the last update."""
        return [t.id for t in self._tracks if t.lost == 0 and t.confirmed]

    @property
    def reported_ids(self) -> List[int]:
        """Ids to report for the last update: the confirmed tracks matched in it, and during a
        stream's first `min_hits - 1` frames (no track can be confirmed yet: there is no earlier
        frame to confirm against) every track matched in it, as SORT does."""
        if self._frame < self.min_hits:
            return self.active_ids
        return self.confirmed_ids

    @property
    def confirmed_lost_ids(self) -> List[int]:
        """Ids of confirmed tracks currently unseen but still kept."""
        return [t.id for t in self._tracks if t.lost > 0 and t.confirmed]

    @property
    def lost_ids(self) -> List[int]:
        """Ids of tracks currently unseen but still kept for re-identification."""
        return [t.id for t in self._tracks if t.lost > 0]

    def __len__(self) -> int:
        return len(self._tracks)

    def _work(self, mask: np.ndarray, what: str) -> np.ndarray:
        m = np.asarray(mask)
        if m.ndim != 2:
            raise InputError(f"Tracker: {what} must be a 2-D mask, got shape {m.shape}")
        if self._shape is None:
            self._shape = (int(m.shape[0]), int(m.shape[1]))
            self._step = max(1, min(self._shape) // max(1, self.working_size))
        if m.shape != self._shape:
            raise InputError(f"Tracker: {what} has shape {m.shape}, expected {self._shape} (call reset() for a new stream)")
        s = self._step
        return (m[::s, ::s] if s > 1 else m).astype(bool, copy=False)

    def update(
        self, masks: Sequence[np.ndarray], scores: Sequence[float], hints: Optional[Dict[int, np.ndarray]] = None
    ) -> List[int]:
        """Match this frame's detections to tracks.

        Args:
            masks: bool (H, W) detections of this frame (same size every frame).
            scores: one confidence per mask (kept for API symmetry; higher-score detections win
                ties because callers pass them sorted).
            hints: optional {track_id: bool (H, W)} expected location of known tracks now.

        Returns:
            One track id per mask.
        """
        if len(scores) != len(masks):
            raise InputError(f"Tracker.update: {len(masks)} masks but {len(scores)} scores")
        self._frame += 1
        dets = [self._work(m, f"mask {i}") for i, m in enumerate(masks)]
        hint_w: Dict[int, np.ndarray] = {}
        for tid, hm in (hints or {}).items():
            hw = self._work(hm, f"hint for track {tid}")
            if hw.any():
                hint_w[int(tid)] = hw
        tracks = self._tracks
        n_old = len(tracks)
        pred = [self._predict(t) for t in tracks]
        ids = [0] * len(dets)
        det_c = [_centroid(d) for d in dets]
        matched_t: set = set()
        if dets and tracks:
            aff = self._overlap(dets, pred, [hint_w.get(t.id) for t in tracks])
            rows, cols = linear_sum_assignment(-aff)
            for r, c in zip(rows, cols):
                if aff[r, c] >= self.iou_threshold and aff[r, c] > 0:
                    ids[r] = tracks[c].id
                    matched_t.add(c)
            free_d = [i for i in range(len(dets)) if ids[i] == 0 and det_c[i][1] > 0]
            free_t = [j for j in range(len(tracks)) if j not in matched_t]
            if free_d and free_t:
                cost = self._reacquire_cost(dets, det_c, free_d, [tracks[j] for j in free_t], [pred[j] for j in free_t], hint_w)
                rows, cols = linear_sum_assignment(cost)
                for r, c in zip(rows, cols):
                    if cost[r, c] < _INVALID:
                        ids[free_d[r]] = tracks[free_t[c]].id
                        matched_t.add(free_t[c])
        by_id = {t.id: t for t in tracks}
        for i, d in enumerate(dets):
            c, area = det_c[i]
            if ids[i] == 0:
                ids[i] = self._next_id
                self._next_id += 1
                confirmed = self.min_hits <= 1
                self._tracks.append(_Track(ids[i], d.copy(), c, self._frame, self._frame, np.zeros(2), float(area), confirmed=confirmed))
                continue
            t = by_id[ids[i]]
            if area > 0 and area >= self.reliable_area * t.ref_area:
                v = (c - t.anchor) / max(1, self._frame - t.anchor_frame)
                t.velocity = v if t.hits == 1 else 0.5 * t.velocity + 0.5 * v
                t.anchor, t.anchor_frame = c, self._frame
            t.ref_area = max(float(area), 0.99 * t.ref_area)
            t.last_frame = self._frame
            t.mask = d.copy()
            t.lost = 0
            t.hits += 1
            t.confirmed = t.confirmed or t.hits >= self.min_hits
        for j, t in enumerate(tracks[:n_old]):  # tracks created above are seen, not lost
            if j not in matched_t:
                t.lost += 1
        self._prune()
        return ids

    def _predict(self, t: _Track) -> np.ndarray:
        """Last mask moved by the constant-velocity estimate to the current frame."""
        d = np.rint(t.velocity * (self._frame - t.last_frame)).astype(int)
        return _shift(t.mask, int(d[0]), int(d[1])) if d.any() else t.mask

    def _overlap(self, dets: List[np.ndarray], pred: List[np.ndarray], hints: List[Optional[np.ndarray]]) -> np.ndarray:
        """(D, T) affinity = max IoU with the predicted mask and with the hint (vectorised)."""
        D = np.stack(dets).reshape(len(dets), -1).astype(np.float32)
        P = np.stack(pred).reshape(len(pred), -1).astype(np.float32)
        aff = iou_matrix(D, P)
        hint_idx = [j for j, h in enumerate(hints) if h is not None]
        if hint_idx:
            Hm = np.stack([hints[j] for j in hint_idx]).reshape(len(hint_idx), -1).astype(np.float32)
            aff[:, hint_idx] = np.maximum(aff[:, hint_idx], iou_matrix(D, Hm))
        return aff

    def _reacquire_cost(
        self,
        dets: List[np.ndarray],
        det_c: List[Tuple[np.ndarray, int]],
        free_d: List[int],
        tracks: List[_Track],
        pred: List[np.ndarray],
        hint_w: Dict[int, np.ndarray],
    ) -> np.ndarray:
        """(len(free_d), len(tracks)) cost: normalised centroid distance minus containment."""
        cost = np.full((len(free_d), len(tracks)), _INVALID)
        for c, (t, p) in enumerate(zip(tracks, pred)):
            hint = hint_w.get(t.id)
            if hint is not None:
                center, area = _centroid(hint)
                area = max(area, t.ref_area)
            else:
                center = t.anchor + t.velocity * (self._frame - t.anchor_frame)
                area = t.ref_area
            gate = self.gate_scale * np.sqrt(max(area, 1.0) / np.pi) + self.gate_growth * t.lost + 2.0
            for r, i in enumerate(free_d):
                dc, darea = det_c[i]
                dist = float(np.hypot(*(dc - center)))
                contain = float(np.logical_and(dets[i], hint).sum()) / darea if hint is not None else 0.0
                if contain >= self.contain_threshold or dist <= gate:
                    cost[r, c] = min(dist / gate, 1.0) - contain
        return cost

    def _prune(self) -> None:
        """Drop tentative tracks that missed a frame and confirmed ones lost for too long."""
        self._tracks = [t for t in self._tracks if t.lost <= (self.max_lost if t.confirmed else 0)]
        if len(self._tracks) > self.max_tracks:
            self._tracks.sort(key=lambda t: (t.lost, -t.id))  # keep seen and recent first
            self._tracks = self._tracks[: self.max_tracks]
            self._tracks.sort(key=lambda t: t.id)


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between rows of flattened 0/1 masks a (N, P) and b (M, P) -> (N, M).

    Bit-packed AND + popcount rather than a float matrix product: numpy's product runs on
    multi-threaded BLAS, which stalls (hundreds of ms per frame) when the CPU is shared.
    """
    pa = np.packbits(a > 0.5, axis=1)
    pb = np.packbits(b > 0.5, axis=1)
    inter = _POPCOUNT[pa[:, None, :] & pb[None, :, :]].sum(-1, dtype=np.int64).astype(np.float64)
    union = _POPCOUNT[pa].sum(1, dtype=np.int64)[:, None] + _POPCOUNT[pb].sum(1, dtype=np.int64)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)
