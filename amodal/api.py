"""`AmodalPredictor`: the streaming Python API.

```python
from amodal import AmodalPredictor
p = AmodalPredictor.from_pretrained(device="cpu")
for image in camera:                        # RGB uint8 (H, W, 3)
    r = p.step(image)                       # or p.step(image, visible_masks={id: bool (H, W)})
    r.object_ids, r.visible, r.amodal, r.occlusion, r.depth_order, r.latency_ms
p.reset()                                   # before the next, unrelated stream
results = p.predict_video("clip.mp4", mode="offline")
```

One predictor serves one stream at a time; memory and per-frame cost stay constant however long
the stream is. Masks come back at the input resolution.

Input rules: images are numpy uint8, RGB. A grey image (H, W) or (H, W, 1) is repeated to three
channels; an RGBA image (H, W, 4) has its alpha channel dropped (not composited). All frames of a
stream must have one size, at least 16 pixels a side. Frames whose long side exceeds `max_side`
are downscaled for the network (one warning per predictor; no side below 16 pixels) and the masks
are scaled back to the input resolution.
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from amodal.errors import ConfigError, InputError
from amodal.types import Frame, FrameResult
from amodal.utils.images import MIN_SIDE, check_frame_size

PathLike = Union[str, Path]
MaskDict = Dict[int, np.ndarray]
MODES = ("stream", "offline")


def resolve_device(device: Any) -> "Any":
    """`torch.device` for a device string; "cuda" without CUDA raises `InputError`."""
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InputError(f"unknown device {device!r}: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r} requested but CUDA is not available on this machine (use device='cpu')")
    if dev.type not in ("cpu", "cuda"):
        raise InputError(f"device {device!r} is not supported (use 'cpu' or 'cuda')")
    return dev


def as_rgb(image: Any, what: str = "image") -> np.ndarray:
    """Validate a frame and return it as a contiguous RGB uint8 array (H, W, 3).

    Grey (H, W) / (H, W, 1) is repeated to three channels; RGBA (H, W, 4) loses its alpha.

    Raises:
        InputError: not a numpy array, not uint8, or of an unsupported shape.
    """
    if not isinstance(image, np.ndarray):
        raise InputError(f"{what} must be a numpy array (H, W, 3) RGB uint8, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InputError(
            f"{what} must be uint8 (0..255), got {image.dtype}; convert with (x * 255).clip(0, 255).astype(np.uint8) "
            "if it is float in [0, 1]"
        )
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    elif image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"{what} must be RGB (H, W, 3) (or grey (H, W), RGBA (H, W, 4)), got shape {image.shape}")
    check_frame_size(image, what)
    return np.ascontiguousarray(image)


def check_masks(visible_masks: Any, height: int, width: int) -> Optional[MaskDict]:
    """Validate `{id: mask (H, W)}`; returns bool masks. Integer masks count nonzero as True.

    Raises:
        InputError: not a dict, an id that is not a positive int, a mask of another shape or
            of a float/non-numeric dtype.
    """
    if visible_masks is None:
        return None
    if not isinstance(visible_masks, Mapping):
        raise InputError(f"visible_masks must be a dict {{object id: bool mask (H, W)}}, got {type(visible_masks).__name__}")
    out: MaskDict = {}
    for oid, mask in visible_masks.items():
        if isinstance(oid, (bool, np.bool_)) or not isinstance(oid, (int, np.integer)) or int(oid) < 1:
            raise InputError(f"visible_masks keys must be positive int object ids (0 means background), got {oid!r}")
        if not isinstance(mask, np.ndarray):
            raise InputError(f"visible mask of object {oid} must be a numpy array, got {type(mask).__name__}")
        if mask.shape != (height, width):
            raise InputError(f"visible mask of object {oid} has shape {mask.shape}, expected {(height, width)} (the frame's H, W)")
        if mask.dtype != bool and not np.issubdtype(mask.dtype, np.integer):
            raise InputError(f"visible mask of object {oid} must be bool (or integer 0/1), got {mask.dtype}; threshold it first")
        out[int(oid)] = mask.astype(bool, copy=False)
    return out


def _resize_masks(masks: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize bool masks (N, h, w) to (N, H, W) smoothly (linear on 0/255, threshold at half)."""
    import cv2

    out = np.zeros((masks.shape[0], height, width), dtype=bool)
    for k, m in enumerate(masks):
        out[k] = cv2.resize(m.astype(np.uint8) * 255, (width, height), interpolation=cv2.INTER_LINEAR) >= 128
    return out


class AmodalPredictor:
    """Streaming amodal segmentation of one video or live stream.

    Args:
        model: an `AmodalModel` (see `amodal.models.build`).
        config: the model's resolved `Config` (kept for reference), optional.
        device: "cpu" or "cuda" ("cuda" without CUDA raises `InputError`).
        max_objects: most objects tracked at once.
        max_side: frames with a longer side are downscaled for the network (masks come back at
            input size); None disables downscaling.
        threads: when given, torch and OpenCV use this many intra-op threads (process-wide, see
            `amodal.utils.threads.set_threads`); None keeps the current setting. On a shared CPU
            1 thread is often faster than 2.
        min_hits: with the built-in visible-mask network, a new object is reported once it was
            detected in this many frames in a row (stream mode, after the stream's first
            `min_hits - 1` frames, where every detection is reported: nothing earlier to confirm
            against; offline mode reports a confirmed object over its whole track). 1 reports
            every detection at once.
        threshold: amodal decision: a pixel under another object joins the object when its
            probability is above this (None: the checkpoint's `model.completion.threshold`, 0.5 for
            the shipped one). Lower completes more of the hidden parts, higher spills less onto
            touching neighbours.
        detector: where the objects come from when no visible masks are given: "network" (the
            visible-mask network), "motion" (regions moving on their own: whole moving objects on
            real footage, nothing that stands still) or "network+motion" (the network's unsure
            pieces joined along moving regions); None: the checkpoint's `model.visible.detector`
            ("network" for the shipped one). See `amodal.models.detector`.
        hidden_frames: an object no longer seen (a track the tracker lost, or an id missing from
            the given visible masks) is still reported for up to this many frames with an empty
            visible mask and the amodal mask its memory predicts, while that prediction lies behind
            other objects; 0 never; None: the checkpoint's `model.completion.hidden_frames`.
        order_ratio: an object is not extended behind one it hides, once the pair's occlusion votes
            over frames say so by this ratio (>= 1; 0: the network's masks as they are; None: the
            checkpoint's `model.completion.order_ratio`, 3 by default).
    """

    def __init__(
        self,
        model: Any,
        config: Any = None,
        device: str = "cpu",
        max_objects: int = 16,
        max_side: Optional[int] = 1280,
        threads: Optional[int] = None,
        min_hits: Optional[int] = None,
        threshold: Optional[float] = None,
        detector: Optional[str] = None,
        hidden_frames: Optional[int] = None,
        order_ratio: Optional[float] = None,
    ) -> None:
        from amodal.models.completion import check_order_ratio, check_threshold
        from amodal.models.detector import check_detector
        from amodal.models.tracker import DEFAULT_MIN_HITS, check_min_hits
        from amodal.utils.checks import check_int, check_max_side
        from amodal.utils.threads import check_threads, set_threads

        max_objects = check_int(max_objects, "max_objects", minimum=1)
        max_side = check_max_side(max_side)
        self.min_hits = check_min_hits(DEFAULT_MIN_HITS if min_hits is None else min_hits)
        self.threshold = check_threshold(threshold)
        if detector is not None:
            try:
                check_detector(detector)
            except ConfigError as exc:  # a bad argument, not a bad config
                raise InputError(str(exc)) from None
        self.detector = detector
        self.hidden_frames = None if hidden_frames is None else check_int(hidden_frames, "hidden_frames")
        self.order_ratio = None if order_ratio is None else check_order_ratio(order_ratio, "order_ratio")
        self.threads = check_threads(threads)
        self.device = resolve_device(device)
        if self.threads is not None:
            set_threads(self.threads)
        self.model = model.to(self.device).eval()
        self.config = config
        self.max_objects = max_objects
        self.max_side = max_side
        self.session = self._new_session()
        self._size: Optional[Tuple[int, int]] = None  # (H, W) of the current stream
        self._warned_downscale = False
        self._frame_index = 0
        self.checkpoint_path: Optional[Path] = None  # set by from_checkpoint; never written to
        self._original_model: Any = None  # the model before the first adapt(), for reset_weights()

    def _new_session(self) -> Any:
        from amodal.inference.session import AmodalSession

        return AmodalSession(self.model, device=str(self.device), max_objects=self.max_objects, min_hits=self.min_hits,
                             threshold=self.threshold, detector=self.detector, hidden_frames=self.hidden_frames,
                             order_ratio=self.order_ratio)

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, path: PathLike, device: str = "cpu", threads: Optional[int] = None,
                        **kwargs: Any) -> "AmodalPredictor":
        """Load a checkpoint written by `amodal train` (raises `CheckpointError` for bad files).

        `threads` and the other keyword arguments are the constructor's.
        """
        from amodal.engine.checkpoint import load_model
        from amodal.utils.threads import check_threads

        dev = resolve_device(device)
        threads = check_threads(threads)  # before the (slow) load
        model, config = load_model(path, device=str(dev))
        predictor = cls(model, config=config, device=str(dev), threads=threads, **kwargs)
        predictor.checkpoint_path = Path(path)
        return predictor

    @classmethod
    def from_pretrained(cls, device: str = "cpu", threads: Optional[int] = None,
                        **kwargs: Any) -> "AmodalPredictor":
        """Load the checkpoint shipped with the package (`amodal/weights/default.pt`); arguments as `from_checkpoint`."""
        from amodal.engine.checkpoint import DEFAULT_CHECKPOINT
        from amodal.errors import CheckpointError

        if not Path(DEFAULT_CHECKPOINT).is_file():
            raise CheckpointError(
                f"the shipped checkpoint {DEFAULT_CHECKPOINT} is missing; reinstall amodal or use from_checkpoint(path)"
            )
        return cls.from_checkpoint(DEFAULT_CHECKPOINT, device=device, threads=threads, **kwargs)

    # -- streaming -------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the current stream (objects, memory, frame size); call before a new stream."""
        self.session.reset()
        self._size = None
        self._frame_index = 0

    def step(self, image: np.ndarray, visible_masks: Optional[Mapping[int, np.ndarray]] = None,
             timestamp: Optional[float] = None) -> FrameResult:
        """Process the next frame of the stream.

        Args:
            image: RGB uint8 (H, W, 3) (grey (H, W) and RGBA (H, W, 4) are converted).
            visible_masks: optional `{object id: bool (H, W)}` visible masks from elsewhere; when
                given, they replace the built-in visible segmentation and tracking. A stream gives
                them on every frame or on none (reset() to switch).
            timestamp: the frame's time (e.g. the camera message's stamp), returned in the result.

        Returns:
            FrameResult with masks bool (N, H, W) at the input resolution; the arrays are the
            caller's (changing them in place does not reach the stream).

        Raises:
            InputError: bad image or masks, a frame size unlike the stream's first frame, or
                masks given on some frames and not others. A refused frame leaves the stream as
                it was: the next good frame gives what it would have given without it.
        """
        import torch

        start = time.perf_counter()
        image = as_rgb(image)
        h, w = image.shape[:2]
        if self._size is not None and self._size != (h, w):
            raise InputError(
                f"frame size changed from {self._size[1]}x{self._size[0]} to {w}x{h} mid-stream; "
                "call reset() first or use one predictor per stream"
            )
        masks = check_masks(visible_masks, h, w)
        small, small_masks = self._downscale(image, masks)
        with torch.inference_mode():
            result = self.session.step(small, small_masks)
        self._size = (h, w)  # the stream's size, once a frame of it is accepted
        result = self._restore(result, h, w, masks)
        result.frame_index = self._frame_index
        result.timestamp = timestamp
        self._frame_index += 1
        result.latency_ms = (time.perf_counter() - start) * 1000.0
        return result

    # -- whole videos ------------------------------------------------------------------------
    def predict_video(
        self,
        source: Any,
        visible_masks: Any = None,
        mode: str = "stream",
        fps: Optional[float] = None,
    ) -> Iterator[FrameResult]:
        """Predict a whole video; a lazy iterator of `FrameResult`, one per frame.

        Args:
            source: a video file / frame folder path, a camera index or stream URL, a
                `FrameSource` (`amodal.data.readers.open_source`), an iterable of RGB uint8
                frames (or `Frame` records), or a uint8 array (T, H, W, 3).
            visible_masks: optional per-frame `{id: bool (H, W)}` dicts (a list, or the result of
                `amodal.inference.visible_inputs.load_visible_masks`), or a path given to it.
            mode: "stream" (causal, constant memory, frame by frame) or "offline"
                (bidirectional; holds every frame of the clip in memory: H*W*3 bytes per frame,
                e.g. about 2.8 MB per 1280x720 frame, plus the masks).
            fps: frame rate of a frame folder (default 30); for a video file it replaces the
                container's timestamps with index / fps (no frames are dropped or repeated).

        The predictor is reset before the video starts; the iterator closes sources it opened.
        """
        pairs = self.predict_frames(source, visible_masks, mode, fps)
        return (result for _, result in pairs)

    def predict_frames(
        self,
        source: Any,
        visible_masks: Any = None,
        mode: str = "stream",
        fps: Optional[float] = None,
    ) -> Iterator[Tuple[Frame, FrameResult]]:
        """Like `predict_video`, but yields `(Frame, FrameResult)` pairs (for drawing/writing)."""
        if mode not in MODES:  # checked now; the source is opened on the first `next()`
            raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        return self._pairs(source, visible_masks, mode, fps)

    def _pairs(self, source: Any, visible_masks: Any, mode: str, fps: Optional[float]) -> Iterator[Tuple[Frame, FrameResult]]:
        frames, closer, name = _open_frames(source, fps)
        try:
            if mode == "offline" and getattr(frames, "is_live", False):
                raise InputError(f"mode 'offline' needs the whole clip; {name} is a live source (use mode='stream')")
            masks = _resolve_visible_masks(visible_masks, source_name(name))
            if masks is not None:
                from amodal.inference.visible_inputs import check_visible_masks

                n = _safe_len(frames)
                check_visible_masks(masks, n, frames_size(frames), name)
            self.reset()
            if mode == "stream":
                yield from self._stream(frames, masks)
            else:
                yield from self._offline(frames, masks)
        finally:
            if closer is not None:
                closer()

    def _stream(self, frames: Iterable[Any], masks: Optional[Sequence[MaskDict]]) -> Iterator[Tuple[Frame, FrameResult]]:
        for i, item in enumerate(frames):
            frame = _as_frame(item, i)
            vm = _mask_at(masks, i)
            result = self.step(frame.image, vm)
            result.frame_index = frame.index
            result.timestamp = _timestamp(frame)
            yield frame, result

    def _offline(self, frames: Iterable[Any], masks: Optional[Sequence[MaskDict]]) -> Iterator[Tuple[Frame, FrameResult]]:
        import torch

        from amodal.inference.offline import run_offline

        records: List[Frame] = []
        small_frames: List[np.ndarray] = []
        given: List[Optional[MaskDict]] = []
        small_given: List[Dict[int, np.ndarray]] = []
        size: Optional[Tuple[int, int]] = None
        for i, item in enumerate(frames):
            frame = _as_frame(item, i)
            image = as_rgb(frame.image, what=f"frame {frame.index}")
            if size is None:
                size = image.shape[:2]
            elif image.shape[:2] != size:
                raise InputError(f"frame {frame.index} is {image.shape[1]}x{image.shape[0]}, unlike the first frame {size[1]}x{size[0]}")
            vm = check_masks(_mask_at(masks, i), *size)
            small, small_vm = self._downscale(image, vm)
            records.append(Frame(frame.index, frame.timestamp, image))
            small_frames.append(small)
            given.append(vm)
            small_given.append(small_vm or {})
        if not records:
            return
        start = time.perf_counter()
        with torch.inference_mode():
            results = run_offline(
                self.model, small_frames, small_given if masks is not None else None, device=str(self.device),
                max_objects=self.max_objects, min_hits=self.min_hits, threshold=self.threshold, detector=self.detector,
                hidden_frames=self.hidden_frames, order_ratio=self.order_ratio,
            )
        per_frame_ms = (time.perf_counter() - start) * 1000.0 / len(records)
        assert size is not None
        for frame, result, vm in zip(records, results, given):
            result = self._restore(result, size[0], size[1], vm)
            result.frame_index = frame.index
            result.timestamp = _timestamp(frame)
            result.latency_ms = per_frame_ms
            yield frame, result

    # -- adaptation to one video (see docs/ADAPTATION.md) --------------------------------------
    def adapt(
        self,
        frames_or_source: Any,
        steps: Optional[int] = None,
        visible_masks: Any = None,
        save_to: Optional[PathLike] = None,
        config: Optional[PathLike] = None,
        overrides: Sequence[str] = (),
        show_progress: bool = False,
    ) -> Any:
        """Self-supervised test-time adaptation on one video; returns an `amodal.adapt.adapter.AdaptReport`.

        The video (any finite source `predict_video` takes) is pseudo-labelled (visible masks and
        tracks from this predictor, or `visible_masks`) into a temporary folder; its end is held
        back for the self-supervised validation loss; at most `steps` steps (default 300) train a
        deep copy of the current weights, stopping early when the held-back loss stops improving,
        and the best weights are kept. The predictor then uses the adapted copy; the weights it
        was loaded with (and the checkpoint file) are untouched: `reset_weights()` brings them
        back. Adapting again starts from the current (adapted) weights; call `reset_weights()`
        first for an unrelated video. The stream is reset.

        Args:
            frames_or_source: video file, frame folder, uint8 array (T, H, W, 3) or list of frames.
            steps: most optimizer steps (`train.steps`; default from the fine-tuning recipe).
            visible_masks: per-frame `{id: mask}` dicts or a path, as for `predict_video`.
            save_to: also write the adapted weights as a checkpoint there (never over the
                checkpoint this predictor was loaded from).
            config: YAML with data / train / adapt sections (default: `configs/finetune.yaml` values).
            overrides: `key=value` config overrides.
            show_progress: progress bars.
        """
        from amodal.adapt.tta import adapt_predictor

        return adapt_predictor(self, frames_or_source, steps=steps, visible_masks=visible_masks, save_to=save_to,
                               config=config, overrides=overrides, show_progress=show_progress)

    def reset_weights(self) -> None:
        """Go back to the weights the predictor was created with (undo every `adapt()`); resets the stream."""
        if self._original_model is not None:
            self._install_model(self._original_model)

    def _install_model(self, model: Any) -> None:
        """Use `model` from now on (a new session around it); the stream is reset."""
        self.model = model.to(self.device).eval()
        self.session = self._new_session()
        self.reset()

    # -- resolution handling -----------------------------------------------------------------
    def _downscale(self, image: np.ndarray, masks: Optional[MaskDict]) -> Tuple[np.ndarray, Optional[MaskDict]]:
        """Shrink a frame (and its given masks) so its long side is at most `max_side`."""
        import cv2

        h, w = image.shape[:2]
        if self.max_side is None or max(h, w) <= self.max_side:
            return image, masks
        s = self.max_side / float(max(h, w))
        nw, nh = max(MIN_SIDE, int(round(w * s))), max(MIN_SIDE, int(round(h * s)))  # thin frames keep 16 px
        if not self._warned_downscale:
            warnings.warn(
                f"frames of {w}x{h} are processed at {nw}x{nh} (max_side={self.max_side}); masks are scaled back "
                "to the input size", stacklevel=3,
            )
            self._warned_downscale = True
        small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
        small_masks = None
        if masks is not None:
            small_masks = {
                k: cv2.resize(m.astype(np.uint8), (nw, nh), interpolation=cv2.INTER_NEAREST).astype(bool)
                for k, m in masks.items()
            }
        return small, small_masks

    def _restore(self, result: FrameResult, h: int, w: int, given: Optional[MaskDict]) -> FrameResult:
        """Bring a result's masks to (H, W); given visible masks are returned exactly as given."""
        visible = np.asarray(result.visible, dtype=bool)
        amodal = np.asarray(result.amodal, dtype=bool)
        n = len(result.object_ids)
        if visible.shape[1:] == (h, w):
            return result  # not downscaled: the session saw the frame and the masks as given
        if n == 0:
            result.visible = np.zeros((0, h, w), dtype=bool)
            result.amodal = np.zeros((0, h, w), dtype=bool)
            return result
        if visible.shape[1:] != (h, w):
            visible = _resize_masks(visible, h, w)
            amodal = _resize_masks(amodal, h, w)
        if given:
            for k, oid in enumerate(result.object_ids):
                if int(oid) in given:
                    visible[k] = given[int(oid)]
        amodal = amodal | visible
        v_area = visible.reshape(n, -1).sum(1)
        a_area = amodal.reshape(n, -1).sum(1)
        result.visible, result.amodal = visible, amodal
        result.occlusion = np.where(a_area > 0, 1.0 - v_area / np.maximum(a_area, 1), 0.0).astype(np.float32)
        return result


# -- helpers for predict_video ------------------------------------------------------------------
def _open_frames(source: Any, fps: Optional[float]) -> Tuple[Iterable[Any], Any, str]:
    """(iterable of frames, close function or None, display name) for any accepted source."""
    if isinstance(source, (str, Path, int)) and not isinstance(source, bool):
        from amodal.data.readers import open_source

        src = open_source(source, fps=fps)
        return src, src.close, str(source)
    if isinstance(source, np.ndarray) and source.ndim != 4:
        raise InputError(
            f"predict_video takes a sequence of frames (T, H, W, 3), got shape {source.shape}; for one frame use step(image)"
        )
    if hasattr(source, "__iter__"):
        return source, None, str(getattr(source, "name", "the given frames"))
    raise InputError(f"cannot read frames from {type(source).__name__}: give a path, camera index, URL or frames")


def source_name(source: Any) -> str:
    """Short name of a source: file stem, folder name, 'camera<N>' or the URL's last part."""
    s = str(source)
    if s.isdigit():
        return f"camera{s}"
    if "://" in s:
        tail = s.rstrip("/").rsplit("/", 1)[-1]
        stem = tail.split("?", 1)[0].rsplit(".", 1)[0]
        return stem or "stream"
    p = Path(s)
    return p.name if p.is_dir() else p.stem


def frames_size(frames: Any) -> Optional[Tuple[int, int]]:
    """(W, H) of a frame source or a frame array (T, H, W, 3); None when unknown (lists, iterators)."""
    if isinstance(frames, np.ndarray):
        return (int(frames.shape[2]), int(frames.shape[1])) if frames.ndim == 4 else None
    size = getattr(frames, "size", None)
    return tuple(size) if isinstance(size, (tuple, list)) and len(size) == 2 else None


def _safe_len(frames: Any) -> Optional[int]:
    try:
        n = len(frames)
    except (TypeError, NotImplementedError):
        return None
    return n if n and n > 0 else None


def _resolve_visible_masks(visible_masks: Any, name: str) -> Optional[Sequence[MaskDict]]:
    if visible_masks is None:
        return None
    if isinstance(visible_masks, (str, Path)):
        from amodal.inference.visible_inputs import load_visible_masks

        return load_visible_masks(visible_masks, video_name=name)
    if isinstance(visible_masks, Mapping):
        raise InputError("visible_masks for a video must be one {id: mask} dict per frame (a list), not a single dict")
    if not hasattr(visible_masks, "__getitem__") or not hasattr(visible_masks, "__len__"):
        raise InputError(f"visible_masks must be a list of per-frame dicts or a path, got {type(visible_masks).__name__}")
    return visible_masks


def _mask_at(masks: Optional[Sequence[MaskDict]], i: int) -> Optional[MaskDict]:
    if masks is None:
        return None
    if i >= len(masks):
        raise InputError(f"visible masks end after {len(masks)} frames, but the video goes on")
    return masks[i]


def _timestamp(frame: Frame) -> Optional[float]:
    t = frame.timestamp
    return None if t is None or t != t else float(t)  # NaN marks frames given without a time


def _as_frame(item: Any, i: int) -> Frame:
    if isinstance(item, Frame):
        return item
    return Frame(index=i, timestamp=float("nan"), image=item)
