"""Streaming amodal evaluator: `reset / process / summarize`, mergeable across processes.

`process` is called once per frame with that frame's masks; it keeps per object-frame pixel
counts only (see `amodal.eval.metrics`), never masks, so memory grows by a few integers per
object-frame whatever the resolution. `summarize` applies the occlusion filter, averages per
frame and per object, and splits by occlusion bucket. `merge` / `state_dict` combine the
evaluators of several processes (or shards) into one.

Depth order (when the predicted depth ranks are given): every pair of scored objects where one
hides at least `ORDER_MIN_PIXELS` of the other in the truth (its visible mask over the other's
amodal-minus-visible part, more than the other way round) is one pair; it is ranked when both
objects have a predicted rank in that frame, and correct when the one in front ranks first.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np

from amodal.eval.metrics import (
    VARIANTS,
    amodal_counts,
    boundary_counts,
    boundary_tolerance,
    f_measure,
    occlusion_rate,
)
from amodal.models.ordering import occlusion_matrix

DEFAULT_BUCKETS: Sequence[float] = (0.0, 0.1, 0.3, 0.5, 0.7, 1.0)
STATE_VERSION = 2
ORDER_MIN_PIXELS = 10  # a true occlusion between two objects counts for the depth order from this many pixels


@dataclass
class _Table:
    """Columnar per object-frame records."""

    video: List[str]
    frame: List[int]
    obj: List[int]
    values: List[List[float]]

    @classmethod
    def empty(cls) -> "_Table":
        return cls([], [], [], [])

    def add(self, video: str, frame: int, obj: int, values: Sequence[float]) -> None:
        self.video.append(video)
        self.frame.append(int(frame))
        self.obj.append(int(obj))
        self.values.append([float(v) if isinstance(v, float) else int(v) for v in values])

    def extend(self, other: "_Table") -> None:
        self.video.extend(other.video)
        self.frame.extend(other.frame)
        self.obj.extend(other.obj)
        self.values.extend([list(v) for v in other.values])

    def as_dict(self) -> Dict[str, list]:
        return {"video": list(self.video), "frame": list(self.frame), "object": list(self.obj),
                "values": [list(v) for v in self.values]}

    @classmethod
    def from_dict(cls, d: Mapping[str, list]) -> "_Table":
        return cls(list(d["video"]), list(d["frame"]), list(d["object"]), [list(v) for v in d["values"]])

    def frame_codes(self, rows: np.ndarray) -> np.ndarray:
        keys = [(self.video[i], self.frame[i]) for i in rows]
        table: Dict[tuple, int] = {}
        return np.array([table.setdefault(k, len(table)) for k in keys], dtype=np.int64)


def _averages(values: np.ndarray, frames: np.ndarray) -> Dict[str, Any]:
    """Mean over object-frames ("object") and mean of per-frame means ("frame")."""
    if values.size == 0:
        return {"frame": None, "object": None, "count": 0, "frames": 0}
    _, inverse = np.unique(frames, return_inverse=True)
    per_frame = np.bincount(inverse, weights=values) / np.bincount(inverse)
    return {"frame": float(per_frame.mean()), "object": float(values.mean()),
            "count": int(values.size), "frames": int(per_frame.size)}


class AmodalEvaluator:
    """Accumulates amodal IoU counts (every variant), visible J/F and matching counts.

    Args:
        occ_min: keep object-frames with occlusion rate > occ_min (strict); None: no bound.
        occ_max: keep object-frames with occlusion rate < occ_max (strict); None: no bound.
        buckets: occlusion bucket edges; bucket i is [e_i, e_i+1), the last one closed.
        pasted_erode: square erosion kernel of the `pasted_occ` variant (0: none).
        boundary_fraction: F-measure tolerance as a fraction of the image diagonal.
    """

    def __init__(
        self,
        occ_min: Optional[float] = None,
        occ_max: Optional[float] = None,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        pasted_erode: int = 5,
        boundary_fraction: float = 0.008,
    ) -> None:
        edges = [float(e) for e in buckets]
        if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:])):
            raise ValueError(f"occlusion bucket edges must increase, got {list(buckets)}")
        if edges[0] < 0.0 or edges[-1] > 1.0:
            raise ValueError(f"occlusion bucket edges must lie in [0, 1] (occlusion rates), got {list(buckets)}")
        if isinstance(pasted_erode, bool) or int(pasted_erode) != pasted_erode or pasted_erode < 0:
            raise ValueError(f"the pasted-occluder erosion kernel must be an integer >= 0 (0: none), got {pasted_erode}")
        for name, value in (("occ_min (--occ-min)", occ_min), ("occ_max (--occ-max)", occ_max)):
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"the occlusion filter's {name} must be an occlusion rate in [0, 1], got {value}")
        if occ_min is not None and occ_max is not None and occ_min >= occ_max:
            raise ValueError(f"the occlusion filter's occ_min (--occ-min, {occ_min}) must be below its occ_max "
                             f"(--occ-max, {occ_max})")
        self.occ_min = occ_min
        self.occ_max = occ_max
        self.buckets = edges
        self.pasted_erode = int(pasted_erode)
        self.boundary_fraction = float(boundary_fraction)
        self.reset()

    # ------------------------------------------------------------------ accumulation
    def reset(self) -> None:
        """Forget everything processed so far."""
        self._amodal = _Table.empty()   # values: [occ, inter_0, union_0, inter_1, union_1, ...]
        self._visible = _Table.empty()  # values: [inter, union, nb_pred, mb_pred, nb_gt, mb_gt]
        self._order = _Table.empty()  # per frame (object -1): [pairs, ranked, correct]
        self._tracking = {"gt_objects": 0, "matched": 0, "missed": 0, "false_positives": 0}

    def process(
        self,
        video_id: str,
        frame_index: int,
        gt_visible: Mapping[int, Optional[np.ndarray]],
        gt_amodal: Mapping[int, Optional[np.ndarray]],
        pred_amodal: Mapping[int, Optional[np.ndarray]],
        pred_visible: Optional[Mapping[int, Optional[np.ndarray]]] = None,
        score_ids: Optional[Iterable[int]] = None,
        pred_depth: Optional[Mapping[int, Optional[int]]] = None,
    ) -> None:
        """Add one frame.

        Args:
            video_id: video key (frames are grouped by (video_id, frame_index)).
            frame_index: frame index in the video.
            gt_visible: true visible mask bool (H, W) per gt object id (None: not annotated
                in this frame, same as empty). All objects form the occluders of `savos`.
            gt_amodal: true amodal mask per gt object id; None or empty: object-frame skipped.
            pred_amodal: predicted amodal mask per gt object id (the prediction matched to
                it); a missing id or None counts as an empty prediction.
            pred_visible: predicted visible mask per gt object id, for J and F (optional).
            score_ids: gt ids to score (default: every id in gt_visible or gt_amodal); the
                others still occlude.
            pred_depth: predicted depth rank per gt id (0 = frontmost; None or missing: not
                ranked), for the depth-order accuracy (optional).
        """
        ids = list(dict.fromkeys(list(gt_visible) + list(gt_amodal)))
        shape = None
        for m in list(gt_visible.values()) + list(gt_amodal.values()):
            if m is not None:
                shape = m.shape
                break
        if shape is None:
            return
        empty = np.zeros(shape, dtype=bool)

        def get(d: Optional[Mapping[int, Optional[np.ndarray]]], k: int) -> np.ndarray:
            m = None if d is None else d.get(k)
            if m is None:
                return empty
            m = np.asarray(m, dtype=bool)
            if m.shape != shape:
                raise ValueError(f"video {video_id} frame {frame_index} object {k}: mask shape "
                                 f"{m.shape} differs from the frame's {shape}")
            return m

        vis = {k: get(gt_visible, k) for k in ids}
        all_vis = np.zeros(shape, dtype=np.int32)
        for m in vis.values():
            all_vis += m
        wanted = set(ids) if score_ids is None else set(score_ids)
        tol = boundary_tolerance(shape[0], shape[1], self.boundary_fraction)
        for k in ids:
            if k not in wanted:
                continue
            v = vis[k]
            g = get(gt_amodal, k)
            if g.any():
                others = (all_vis - v) > 0
                counts = amodal_counts(get(pred_amodal, k), g, v, others, self.pasted_erode)
                self._amodal.add(str(video_id), frame_index, k, [occlusion_rate(v, g)] + counts.ravel().tolist())
            if pred_visible is not None:
                pv = get(pred_visible, k)
                if v.any() or pv.any():
                    inter = int(np.count_nonzero(pv & v))
                    union = int(np.count_nonzero(pv | v))
                    self._visible.add(str(video_id), frame_index, k,
                                      [inter, union] + boundary_counts(pv, v, tol).tolist())
        scored = [k for k in ids if k in wanted]
        if pred_depth is not None and len(scored) > 1:
            v = np.stack([vis[k] for k in scored])
            self._add_order(str(video_id), frame_index, scored, v, np.stack([get(gt_amodal, k) for k in scored]) | v,
                            pred_depth)

    def _add_order(self, video_id: str, frame_index: int, ids: List[int], visible: np.ndarray, amodal: np.ndarray,
                   pred_depth: Mapping[int, Optional[int]]) -> None:
        """Count the frame's true occluding pairs among `ids` (true masks bool (N, H, W) in that order),
        those ranked, those ranked right."""
        m = occlusion_matrix(visible, amodal)
        pairs = ranked = correct = 0
        for a, b in zip(*np.nonzero((m >= ORDER_MIN_PIXELS) & (m > m.T))):  # a hides b
            pairs += 1
            ra, rb = pred_depth.get(ids[a]), pred_depth.get(ids[b])
            if ra is not None and rb is not None:
                ranked += 1
                correct += int(ra < rb)
        if pairs:
            self._order.add(video_id, frame_index, -1, [pairs, ranked, correct])

    def add_matching(self, gt_objects: int, matched: int, missed: int, false_positives: int) -> None:
        """Add the track-matching counts of one video (end-to-end evaluation)."""
        self._tracking["gt_objects"] += int(gt_objects)
        self._tracking["matched"] += int(matched)
        self._tracking["missed"] += int(missed)
        self._tracking["false_positives"] += int(false_positives)

    # ------------------------------------------------------------------ combining
    def _settings(self) -> Dict[str, Any]:
        return {"pasted_erode": self.pasted_erode, "boundary_fraction": self.boundary_fraction}

    def state_dict(self) -> Dict[str, Any]:
        """JSON-ready state: the settings that shape the counts, the records and the tallies."""
        return {"version": STATE_VERSION, "settings": self._settings(), "amodal": self._amodal.as_dict(),
                "visible": self._visible.as_dict(), "order": self._order.as_dict(), "tracking": dict(self._tracking)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace the accumulated records with `state` (from `state_dict`)."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"evaluator state version {state.get('version')} != {STATE_VERSION}")
        if dict(state["settings"]) != self._settings():
            raise ValueError(f"evaluator settings differ: {dict(state['settings'])} vs {self._settings()}")
        self._amodal = _Table.from_dict(state["amodal"])
        self._visible = _Table.from_dict(state["visible"])
        self._order = _Table.from_dict(state["order"])
        self._tracking = {k: int(v) for k, v in state["tracking"].items()}

    def merge(self, other: "AmodalEvaluator") -> None:
        """Add another evaluator's records (e.g. from another process) to this one."""
        if other._settings() != self._settings():
            raise ValueError(f"cannot merge evaluators with settings {other._settings()} and {self._settings()}")
        self._amodal.extend(other._amodal)
        self._visible.extend(other._visible)
        self._order.extend(other._order)
        for k, v in other._tracking.items():
            self._tracking[k] += v

    # ------------------------------------------------------------------ reduction
    def _keep(self, occ: np.ndarray) -> np.ndarray:
        keep = np.ones(occ.shape, dtype=bool)
        if self.occ_min is not None:
            keep &= occ > self.occ_min
        if self.occ_max is not None:
            keep &= occ < self.occ_max
        return keep

    def _variant_stats(self, rows: np.ndarray, values: np.ndarray, frames: np.ndarray) -> Dict[str, Any]:
        out = {}
        for i, name in enumerate(VARIANTS):
            inter = values[rows, 1 + 2 * i]
            union = values[rows, 2 + 2 * i]
            valid = union > 0
            out[name] = _averages(inter[valid] / union[valid], frames[rows][valid])
        return out

    def summarize(self) -> Dict[str, Any]:
        """Reduce the records to metrics (IoU as fractions in [0, 1]; None when undefined).

        Returns:
            {"settings", "object_frames", "metrics": {variant: {"frame", "object", "count",
            "frames"}}, "buckets": [{"range", "count", variant: {...}}], "visible": {"J", "F"}
            (when predicted visible masks were given), "order": {"pairs", "ranked", "correct",
            "accuracy" (correct / ranked)} (when predicted depth ranks were given), "tracking" (when
            matching was added)}.
        """
        n = len(self._amodal.video)
        values = np.array(self._amodal.values, dtype=np.float64).reshape(n, 1 + 2 * len(VARIANTS))
        occ = values[:, 0]
        rows = np.flatnonzero(self._keep(occ))
        frames = self._amodal.frame_codes(np.arange(n)) if n else np.zeros(0, dtype=np.int64)
        result: Dict[str, Any] = {
            "settings": {"occ_min": self.occ_min, "occ_max": self.occ_max, "buckets": self.buckets,
                         **self._settings()},
            "object_frames": int(rows.size),
            "object_frames_total": n,
            "metrics": self._variant_stats(rows, values, frames),
            "buckets": [],
        }
        for b, (lo, hi) in enumerate(zip(self.buckets, self.buckets[1:])):
            last = b == len(self.buckets) - 2
            in_bucket = (occ[rows] >= lo) & ((occ[rows] <= hi) if last else (occ[rows] < hi))
            sub = rows[in_bucket]
            result["buckets"].append({"range": [lo, hi], "closed": last, "count": int(sub.size),
                                      **self._variant_stats(sub, values, frames)})
        m = len(self._visible.video)
        if m:
            vv = np.array(self._visible.values, dtype=np.float64).reshape(m, 6)
            vframes = self._visible.frame_codes(np.arange(m))
            j = vv[:, 0] / vv[:, 1]
            f = np.array([_f_from(row[2:], ji) for row, ji in zip(vv, j)])
            result["visible"] = {"J": _averages(j, vframes), "F": _averages(f, vframes)}
        if self._order.video:
            pairs, ranked, correct = np.array(self._order.values, dtype=np.int64).sum(0).tolist()
            result["order"] = {"pairs": pairs, "ranked": ranked, "correct": correct,
                               "accuracy": correct / ranked if ranked else None}
        if self._tracking["gt_objects"] or self._tracking["false_positives"]:
            result["tracking"] = dict(self._tracking)
        return result


def _f_from(counts: np.ndarray, j: float) -> float:
    """F of one record; both contours empty (full-image masks) gives 1 if the masks agree."""
    value = f_measure(counts)
    if value is None:
        return 1.0 if j == 1.0 else 0.0
    return value
