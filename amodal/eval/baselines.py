"""Models that `amodal eval` can run, by name: `ours`, `copy`, `convex` (and any registered).

A model runner turns one video into `FrameResult`s. With given visible masks (the
`--given-visible` protocol) it receives, per frame, {gt track id: bool (H, W) mask}; without,
it must find and track the objects itself from the RGB frames.

`copy` (amodal = visible) and `convex` (amodal = convex hull of the visible mask, SaVos's
"Convex" row) only transform visible masks: given visible masks they need no image at all;
end to end, they take the visible masks and tracks that `ours` predicts and replace its
amodal masks, so that they differ from `ours` only in the completion step.

Adding a model (e.g. `pcnet`, `savos`): write a class with the `ModelRunner` methods and
register a factory taking `ModelOptions`:

    from amodal.eval.baselines import register_model
    register_model("pcnet", lambda options: PCNetRunner(options.checkpoint, options.device))

(or add it to `MODELS` in this file). `amodal eval --model pcnet` then finds it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Protocol, Tuple

import numpy as np

from amodal.errors import AmodalError
from amodal.types import FrameResult

VisibleMasks = List[Dict[int, np.ndarray]]


@dataclass
class ModelOptions:
    """What the CLI passes to a model factory.

    Attributes:
        checkpoint: checkpoint path (None: the model's default weights).
        device: torch device string.
        mode: "stream" (causal) or "offline" (may look at future frames).
        detector: `ours` end to end: "network", "motion" or "network+motion" (None: the checkpoint's).
    """

    checkpoint: Optional[str] = None
    device: str = "cpu"
    mode: str = "stream"
    detector: Optional[str] = None


class ModelRunner(Protocol):
    """Runs one model on one video."""

    def needs_frames(self, given_visible: bool) -> bool:
        """Whether `predict_video` needs the RGB frames."""

    def predict_video(
        self,
        frames: Optional[Iterable[np.ndarray]],
        size: Tuple[int, int],
        length: int,
        visible_masks: Optional[VisibleMasks],
    ) -> Iterator[FrameResult]:
        """Yield one FrameResult per frame.

        Args:
            frames: RGB uint8 (H, W, 3) frames, or None when `needs_frames` said so.
            size: (H, W) of the video.
            length: number of frames.
            visible_masks: per frame {track id: bool (H, W)}, or None (end to end).
        """


def frame_result(frame_index: int, ids: List[int], visible: np.ndarray, amodal: np.ndarray,
                 scores: Optional[np.ndarray] = None) -> FrameResult:
    """Build a FrameResult; occlusion = 1 - |V| / |A| (0 for an empty amodal mask).

    Args:
        visible, amodal: bool (N, H, W).
    """
    vis_area = visible.reshape(len(ids), -1).sum(1) if ids else np.zeros(0)
    am_area = amodal.reshape(len(ids), -1).sum(1) if ids else np.zeros(0)
    occ = np.where(am_area > 0, 1.0 - vis_area / np.maximum(am_area, 1), 0.0).astype(np.float32)
    if scores is None:
        scores = np.ones(len(ids), dtype=np.float32)
    return FrameResult(frame_index=frame_index, object_ids=list(ids), visible=visible, amodal=amodal,
                       scores=scores, occlusion=occ)


def convex_hull_mask(mask: np.ndarray) -> np.ndarray:
    """Filled convex hull of a mask's pixel centres; bool (H, W) (empty stays empty)."""
    import cv2

    points = cv2.findNonZero(mask.astype(np.uint8))
    out = np.zeros(mask.shape, dtype=np.uint8)
    if points is None:
        return out.astype(bool)
    hull = cv2.convexHull(points)
    cv2.fillConvexPoly(out, hull, 1)
    return out.astype(bool) | mask.astype(bool)


class OursRunner:
    """`amodal.api.AmodalPredictor` (default weights or a checkpoint)."""

    def __init__(self, options: ModelOptions) -> None:
        from amodal.api import AmodalPredictor

        if options.checkpoint:
            self.predictor = AmodalPredictor.from_checkpoint(options.checkpoint, device=options.device,
                                                             detector=options.detector)
        else:
            self.predictor = AmodalPredictor.from_pretrained(device=options.device, detector=options.detector)
        self.mode = options.mode

    def needs_frames(self, given_visible: bool) -> bool:
        return True

    def predict_video(self, frames: Optional[Iterable[np.ndarray]], size: Tuple[int, int], length: int,
                      visible_masks: Optional[VisibleMasks]) -> Iterator[FrameResult]:
        return iter(self.predictor.predict_video(frames, mode=self.mode, visible_masks=visible_masks))


class VisibleTransformRunner:
    """Amodal mask = `transform(visible mask)`, per object and frame (the `copy`/`convex` rows).

    Visible masks come from the caller (given visible) or, end to end, from `ours`.
    """

    def __init__(self, transform: Callable[[np.ndarray], np.ndarray], options: ModelOptions) -> None:
        self.transform = transform
        self.options = options
        self._source: Optional[OursRunner] = None

    def needs_frames(self, given_visible: bool) -> bool:
        return not given_visible

    def _apply(self, index: int, ids: List[int], visible: np.ndarray, scores: Optional[np.ndarray]) -> FrameResult:
        amodal = np.stack([self.transform(m) for m in visible]) if ids else visible.copy()
        return frame_result(index, ids, visible, amodal, scores)

    def predict_video(self, frames: Optional[Iterable[np.ndarray]], size: Tuple[int, int], length: int,
                      visible_masks: Optional[VisibleMasks]) -> Iterator[FrameResult]:
        if visible_masks is None:
            if self._source is None:
                self._source = OursRunner(self.options)
            for res in self._source.predict_video(frames, size, length, None):
                vis = np.asarray(res.visible, dtype=bool).reshape(len(res.object_ids), *size)
                yield self._apply(res.frame_index, list(res.object_ids), vis, np.asarray(res.scores))
            return
        for t in range(length):
            masks = visible_masks[t] if t < len(visible_masks) else {}
            ids = list(masks)
            vis = np.stack([np.asarray(masks[k], dtype=bool) for k in ids]) if ids else np.zeros((0, *size), bool)
            yield self._apply(t, ids, vis, None)


MODELS: Dict[str, Callable[[ModelOptions], ModelRunner]] = {
    "ours": OursRunner,
    "copy": lambda options: VisibleTransformRunner(lambda m: m.astype(bool).copy(), options),
    "convex": lambda options: VisibleTransformRunner(convex_hull_mask, options),
}


def register_model(name: str, factory: Callable[[ModelOptions], ModelRunner], overwrite: bool = False) -> None:
    """Make `factory` available to `amodal eval --model NAME`."""
    if name in MODELS and not overwrite:
        raise ValueError(f"model {name!r} is already registered")
    MODELS[name] = factory


def build_runner(name: str, options: Optional[ModelOptions] = None) -> ModelRunner:
    """Instantiate a registered model by name (AmodalError for an unknown name)."""
    if name not in MODELS:
        raise AmodalError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    return MODELS[name](options or ModelOptions())


def _learned_baseline(name: str) -> Callable[[ModelOptions], ModelRunner]:
    """Factory of a learned baseline of `amodal.baselines` (imported only when built)."""

    def factory(options: ModelOptions) -> ModelRunner:
        from amodal.baselines import build_baseline_runner

        return build_baseline_runner(name, options)

    return factory


# PCNet-M and SaVos (docs/BASELINES.md); checkpoints: runs/baselines/<name>/checkpoint.pt by default.
MODELS["pcnet"] = _learned_baseline("pcnet")
MODELS["savos"] = _learned_baseline("savos")
