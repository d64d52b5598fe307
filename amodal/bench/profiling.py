"""Where the time of a streaming frame goes.

Two views of one world streamed end to end:

* components: the pipeline's stages are wrapped (for the duration of the run only; nothing is
  changed in the package) with timers that record *exclusive* wall time, so nested stages are not
  counted twice (e.g. the visible net runs inside detection + tracking);
* cProfile: the functions with the most own time (tottime), for a second opinion.
"""
from __future__ import annotations

import cProfile
import io
import pstats
import time
from collections import defaultdict
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Tuple

from amodal.bench.stats import rnd
from amodal.bench.stream import make_predictor, stream_once
from amodal.bench.worlds import World

COMPONENT_ORDER = ("decode", "visible net", "instance decoding", "tracker", "flow", "motion fit", "crops",
                   "shape memory", "completion net", "paste-back", "ordering", "post-processing",
                   "session glue", "other (API, loop)")


class ComponentTimer:
    """Accumulates exclusive wall time per label over wrapped callables (single-threaded use)."""

    def __init__(self) -> None:
        self.seconds: Dict[str, float] = defaultdict(float)
        self.calls: Dict[str, int] = defaultdict(int)
        self._stack: List[float] = []

    def wrap(self, label: str, fn: Callable) -> Callable:
        """`fn` timed under `label`; time of wrapped callees is charged to them, not to `label`."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            self._stack.append(0.0)
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t0
                child = self._stack.pop()
                self.seconds[label] += dt - child
                self.calls[label] += 1
                if self._stack:
                    self._stack[-1] += dt

        timed.__wrapped__ = fn  # type: ignore[attr-defined]
        return timed


@contextmanager
def instrumented(timer: ComponentTimer, targets: List[Tuple[Any, str, str]]) -> Iterator[None]:
    """Temporarily replace `getattr(obj, name)` by its timed version for each (obj, name, label)."""
    saved = []
    try:
        for obj, name, label in targets:
            try:
                own = vars(obj)  # module, class (mappingproxy) or instance namespace
            except TypeError:
                own = {}
            had_own = name in own
            original = own[name] if had_own else None
            setattr(obj, name, timer.wrap(label, getattr(obj, name)))
            saved.append((obj, name, had_own, original))
        yield
    finally:
        for obj, name, had_own, original in reversed(saved):
            if had_own:
                setattr(obj, name, original)
            else:
                delattr(obj, name)


def _targets(predictor: Any, model: Any) -> List[Tuple[Any, str, str]]:
    import amodal.inference.session as session_mod
    import amodal.models.visible as visible_mod
    from amodal.models.memory import ShapeMemory

    session = getattr(predictor, "session", predictor)
    t: List[Tuple[Any, str, str]] = [
        (session, "step", "session glue"),
        (session.flow, "gray", "flow"),
        (session.flow, "flow_gray", "flow"),
        (session_mod, "object_motions", "motion fit"),
        (session_mod, "extract_crops", "crops"),
        (session_mod, "extract_plane_crops", "crops"),
        (session_mod, "crop_matrix", "crops"),
        (session_mod, "square_from_box", "crops"),
        (session_mod, "mask_box", "crops"),
        (session_mod, "union_box", "crops"),
        (session_mod, "warp_box", "crops"),
        (session_mod, "read_memories", "shape memory"),
        (ShapeMemory, "advance", "shape memory"),
        (ShapeMemory, "write", "shape memory"),
        (session.net, "forward", "completion net"),
        (session_mod, "paste_crops", "paste-back"),
        (session_mod, "paste_crops_into", "paste-back"),
        (session_mod, "depth_order", "ordering"),
        (session_mod, "occlusion_rates", "ordering"),
        (session_mod, "finalize", "post-processing"),
        (session_mod, "others_mask", "post-processing"),
    ]
    if model.visible is not None:
        t += [
            (session, "_detect", "tracker"),
            (session.tracker, "update", "tracker"),
            (model.visible, "forward", "visible net"),
            (model.visible, "_to_input", "visible net"),
            (model.visible, "_sized", "visible net"),
            (visible_mod, "relative_flow_u8", "visible net"),  # its flow input, computed before its tensors
            (visible_mod, "decode_instances", "instance decoding"),
        ]
    return [(obj, name, label) for obj, name, label in t if obj is not None and callable(getattr(obj, name, None))]


def profile_components(model: Any, world: World, given: bool) -> Dict[str, Any]:
    """Stream `world` once with every stage timed; per-frame milliseconds and shares per component."""
    from amodal.data.readers import open_source

    predictor, driver = make_predictor(model)
    stream_once(predictor, world, given, limit=min(10, world.frames))  # warm-up
    predictor.reset()
    timer = ComponentTimer()
    n = 0
    with instrumented(timer, _targets(predictor, model)), open_source(world.video) as src:
        it = iter(src)
        next_frame = timer.wrap("decode", lambda: next(it, None))
        t0 = time.perf_counter()
        while True:
            frame = next_frame()
            if frame is None:
                break
            predictor.step(frame.image, world.masks[frame.index] if given else None)
            n += 1
        total = time.perf_counter() - t0
    timer.seconds["other (API, loop)"] = max(total - sum(timer.seconds.values()), 0.0)
    per_frame = total * 1000.0 / max(n, 1)
    rows = []
    for label in COMPONENT_ORDER:
        if label not in timer.seconds:
            continue
        ms = timer.seconds[label] * 1000.0 / max(n, 1)
        rows.append({"component": label, "ms_per_frame": rnd(ms, 3), "share": rnd(ms / per_frame if per_frame else 0, 4),
                     "calls_per_frame": rnd(timer.calls.get(label, 0) / max(n, 1), 2)})
    return {"mode": "given" if given else "own", "objects": world.objects, "frames": n, "driver": driver,
            "ms_per_frame": rnd(per_frame, 2), "fps": rnd(1000.0 / per_frame if per_frame else float("nan"), 1),
            "components": rows}


def _short(func: Tuple[str, int, str]) -> str:
    path, line, name = func
    if path == "~":
        return name
    parts = path.replace("\\", "/").split("/")
    if "amodal" in parts:
        path = "/".join(parts[len(parts) - 1 - parts[::-1].index("amodal"):])
    else:
        path = "/".join(parts[-2:])
    return f"{path}:{line}({name})"


def cprofile_stream(model: Any, world: World, given: bool, top: int = 15) -> Dict[str, Any]:
    """cProfile of one streaming run; the `top` functions by own time (ms per frame)."""
    predictor, _ = make_predictor(model)
    stream_once(predictor, world, given, limit=min(10, world.frames))
    prof = cProfile.Profile()
    prof.enable()
    run = stream_once(predictor, world, given)
    prof.disable()
    stats = pstats.Stats(prof, stream=io.StringIO())
    n = max(run["frames"], 1)
    entries = []
    for func, (cc, nc, tt, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
        entries.append((tt, ct, nc, func))
    entries.sort(key=lambda e: e[0], reverse=True)
    rows = [{"function": _short(f), "tottime_ms_per_frame": rnd(tt * 1000.0 / n, 3),
             "cumtime_ms_per_frame": rnd(ct * 1000.0 / n, 3), "calls_per_frame": rnd(nc / n, 2)}
            for tt, ct, nc, f in entries[:top]]
    return {"mode": "given" if given else "own", "objects": world.objects, "frames": run["frames"],
            "fps_under_profiler": rnd(run["fps"], 1), "top": rows}
