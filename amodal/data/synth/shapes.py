"""Silhouettes as polygons in canonical coordinates (object centre at 0, extent radius ~1).

A `Shape` is a union of parts; each part is a closed polygon (N, 2) of (x, y) with y pointing
down (image convention). Parts with a pivot swing about it over time (legs, tails, fins),
which gives articulated, non-rigid motion. Categories are the shape kinds plus "occluder".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import numpy as np

from amodal.data.synth.config import SHAPE_KINDS

CATEGORY_NAMES = list(SHAPE_KINDS) + ["occluder"]
CATEGORY_IDS: Dict[str, int] = {name: i + 1 for i, name in enumerate(CATEGORY_NAMES)}


def categories() -> List[Dict[str, object]]:
    """The fixed category table written into every annotation file."""
    return [{"id": CATEGORY_IDS[n], "name": n} for n in CATEGORY_NAMES]


@dataclass
class Shape:
    """A silhouette.

    Attributes:
        kind: shape kind ("star", "animal", ..., "bar", "rock").
        parts: closed polygons (N_i, 2) float64 in canonical units.
        pivots: per part, a swing pivot (2,) or None for rigid parts.
        phases: per part, the phase of its swing (radians).
        category: category name written to annotations.
    """

    kind: str
    parts: List[np.ndarray]
    pivots: List[Optional[np.ndarray]] = field(default_factory=list)
    phases: List[float] = field(default_factory=list)
    category: str = ""

    def __post_init__(self) -> None:
        if not self.pivots:
            self.pivots = [None] * len(self.parts)
        if not self.phases:
            self.phases = [0.0] * len(self.parts)
        if not self.category:
            self.category = self.kind


def _circle(n: int, rx: float = 1.0, ry: float = 1.0, cx: float = 0.0, cy: float = 0.0) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _rot(points: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return points @ np.array([[c, s], [-s, c]])


def chaikin(points: np.ndarray, iterations: int, ratio: float = 0.25) -> np.ndarray:
    """Corner-cutting smoothing of a closed polygon (rounds its corners)."""
    for _ in range(iterations):
        nxt = np.roll(points, -1, axis=0)
        q = (1 - ratio) * points + ratio * nxt
        r = ratio * points + (1 - ratio) * nxt
        points = np.stack([q, r], axis=1).reshape(-1, 2)
    return points


def _normalise(shape: Shape) -> Shape:
    """Centre on the bounding-box centre and scale so the farthest point is at radius 1."""
    allp = np.concatenate(shape.parts)
    centre = (allp.min(0) + allp.max(0)) / 2
    radius = np.sqrt(((allp - centre) ** 2).sum(1)).max()
    shape.parts = [(p - centre) / radius for p in shape.parts]
    shape.pivots = [None if v is None else (v - centre) / radius for v in shape.pivots]
    return shape


def _ellipse(rng: np.random.Generator) -> Shape:
    return Shape("ellipse", [_circle(48, 1.0, rng.uniform(0.35, 1.0))])


def _polygon(rng: np.random.Generator) -> Shape:
    n = int(rng.integers(3, 9))
    ang = np.sort(rng.uniform(0, 2 * np.pi, n) * 0.3 + np.arange(n) * 2 * np.pi / n)
    rad = rng.uniform(0.7, 1.0, n)
    pts = np.stack([rad * np.cos(ang), rad * np.sin(ang)], 1)
    return Shape("polygon", [chaikin(pts, int(rng.integers(1, 4)), rng.uniform(0.1, 0.25))])


def _star(rng: np.random.Generator) -> Shape:
    n = int(rng.integers(4, 9))
    inner = rng.uniform(0.3, 0.6)
    ang = np.arange(2 * n) * np.pi / n
    rad = np.where(np.arange(2 * n) % 2 == 0, 1.0, inner) * rng.uniform(0.85, 1.0, 2 * n)
    pts = np.stack([rad * np.cos(ang), rad * np.sin(ang)], 1)
    return Shape("star", [chaikin(pts, int(rng.integers(0, 3)), 0.2)])


def _crescent(rng: np.random.Generator) -> Shape:
    r = rng.uniform(0.75, 0.95)
    d = rng.uniform(0.3, 0.65)
    x = (1 - r * r + d * d) / (2 * d)
    y = np.sqrt(max(1 - x * x, 1e-6))
    alpha = np.arctan2(y, x)
    beta = np.arctan2(y, x - d)
    t_out = np.linspace(alpha, 2 * np.pi - alpha, 40)
    t_in = np.linspace(-beta, -(2 * np.pi - beta), 32)
    outer = np.stack([np.cos(t_out), np.sin(t_out)], 1)
    inner = np.stack([d + r * np.cos(t_in), r * np.sin(t_in)], 1)
    return Shape("crescent", [np.concatenate([outer, inner[1:-1]])])


def _lshape(rng: np.random.Generator) -> Shape:
    a, b = 1.0, rng.uniform(0.7, 1.3)
    t1, t2 = rng.uniform(0.22, 0.45, 2)
    pts = np.array([[0, 0], [t1, 0], [t1, b - t2], [a, b - t2], [a, b], [0, b]], float)
    return Shape("lshape", [chaikin(pts, int(rng.integers(0, 3)), 0.12)])


def _ushape(rng: np.random.Generator) -> Shape:
    w, h = 1.0, rng.uniform(0.7, 1.3)
    t, tb = rng.uniform(0.2, 0.35), rng.uniform(0.2, 0.4)
    pts = np.array([[0, 0], [t, 0], [t, h - tb], [w - t, h - tb], [w - t, 0], [w, 0], [w, h], [0, h]], float)
    return Shape("ushape", [chaikin(pts, int(rng.integers(0, 3)), 0.12)])


def fourier_contour(rng: np.random.Generator, amplitude: float, kmax: int = 7, n: int = 96) -> np.ndarray:
    """Closed contour r(t) = 1 + sum_k a_k cos(k t + phi_k), kept positive (star-shaped, can be very non-convex)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones_like(t)
    for k in range(2, kmax + 1):
        r += rng.uniform(0, amplitude) / k ** 0.7 * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    r = np.maximum(r, 0.25 * r.max())
    return np.stack([r * np.cos(t), r * np.sin(t)], 1)


def _blob(rng: np.random.Generator) -> Shape:
    return Shape("blob", [fourier_contour(rng, rng.uniform(0.25, 0.6))])


def _limb(start: np.ndarray, angle: float, length: float, width: float, taper: float = 0.6) -> np.ndarray:
    """A tapered, round-ended limb polygon from `start` along `angle`."""
    base = np.array([[0, -width / 2], [length, -width * taper / 2], [length + width * taper / 2, 0],
                     [length, width * taper / 2], [0, width / 2], [-width / 2, 0]])
    return _rot(chaikin(base, 1, 0.2), -angle) + start


def _animal(rng: np.random.Generator) -> Shape:
    ry = rng.uniform(0.3, 0.5)
    parts: List[np.ndarray] = [_circle(40, 1.0, ry)]
    pivots: List[Optional[np.ndarray]] = [None]
    phases: List[float] = [0.0]
    hr = rng.uniform(0.25, 0.42)
    head = np.array([rng.uniform(0.95, 1.2), -ry * rng.uniform(0.5, 1.3)])
    parts.append(_circle(28, hr * rng.uniform(1.0, 1.4), hr, *head))
    pivots.append(np.array([0.8, -ry * 0.3]))
    phases.append(rng.uniform(0, 2 * np.pi))
    parts.append(_limb(np.array([0.75, -ry * 0.3]), np.arctan2(ry, head[0] - 0.75) + 0.3, 0.45, 0.3, 0.9))
    pivots.append(None)
    phases.append(0.0)
    if rng.random() < 0.7:  # ears
        for dx in (-0.1, 0.12):
            parts.append(_limb(head + np.array([dx, -hr * 0.7]), np.pi / 2 + rng.uniform(-0.3, 0.3),
                               hr * rng.uniform(0.6, 1.2), hr * 0.45, 0.4))
            pivots.append(None)
            phases.append(0.0)
    leg_len = rng.uniform(0.5, 1.0)
    leg_w = rng.uniform(0.12, 0.22)
    for i, x in enumerate((-0.7, -0.5, 0.5, 0.7)):
        top = np.array([x, ry * 0.4])
        parts.append(_limb(top, -np.pi / 2, leg_len, leg_w, 0.7))
        pivots.append(top)
        phases.append(np.pi * (i % 2) + (0.0 if x < 0 else np.pi / 2))
    tail_root = np.array([-0.95, -ry * 0.2])
    parts.append(_limb(tail_root, np.pi - rng.uniform(-0.6, 0.9), rng.uniform(0.3, 0.9), rng.uniform(0.06, 0.14), 0.5))
    pivots.append(tail_root)
    phases.append(rng.uniform(0, 2 * np.pi))
    return Shape("animal", parts, pivots, phases)


def _fish(rng: np.random.Generator) -> Shape:
    ry = rng.uniform(0.25, 0.5)
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    # A lens-like body, blunter at the head (x > 0).
    x = np.cos(t)
    y = ry * np.sin(t) * (1 - 0.35 * np.clip(-x, 0, None) ** 1.5)
    parts: List[np.ndarray] = [np.stack([x, y], 1)]
    pivots: List[Optional[np.ndarray]] = [None]
    phases: List[float] = [0.0]
    tl = rng.uniform(0.35, 0.6)
    fork = rng.uniform(0.0, 0.6)
    tail = np.array([[-0.85, 0], [-0.85 - tl, -tl * 0.9], [-0.85 - tl * (1 - fork * 0.6), 0],
                     [-0.85 - tl, tl * 0.9]])
    parts.append(chaikin(tail, 1, 0.15))
    pivots.append(np.array([-0.8, 0.0]))
    phases.append(0.0)
    dorsal = np.array([[-0.3, -ry * 0.8], [rng.uniform(-0.3, 0.1), -ry - rng.uniform(0.15, 0.4)], [0.3, -ry * 0.8]])
    parts.append(dorsal)
    pivots.append(None)
    phases.append(0.0)
    if rng.random() < 0.6:
        fin = _limb(np.array([0.25, ry * 0.4]), -np.pi / 2 - 0.6, rng.uniform(0.2, 0.4), 0.12, 0.5)
        parts.append(fin)
        pivots.append(np.array([0.25, ry * 0.4]))
        phases.append(np.pi / 2)
    return Shape("fish", parts, pivots, phases)


def _worm(rng: np.random.Generator) -> Shape:
    n = 40
    s = np.linspace(-1, 1, n)
    amp, freq, ph = rng.uniform(0.05, 0.35), rng.uniform(0.3, 1.2), rng.uniform(0, 2 * np.pi)
    centre = np.stack([s, amp * np.sin(2 * np.pi * freq * s + ph)], 1)
    tangent = np.gradient(centre, axis=0)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], 1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    w = rng.uniform(0.05, 0.14) * (1 - 0.6 * np.abs(s) ** 2)
    poly = np.concatenate([centre + normal * w[:, None], (centre - normal * w[:, None])[::-1]])
    return Shape("worm", [poly])


def bar_shape(rng: np.random.Generator, half_width: float) -> Shape:
    """A long straight occluder (post, rail): length 2, width `2 * half_width` (canonical units)."""
    hw = half_width
    wobble = rng.uniform(0.0, 0.15) * hw  # slightly irregular edges (a tree trunk more than a ruler)
    x = np.linspace(-1, 1, 9)
    top = np.stack([x, -hw + wobble * np.sin(3 * x + rng.uniform(0, 6))], 1)
    bottom = np.stack([x[::-1], hw + wobble * np.sin(4 * x[::-1] + rng.uniform(0, 6))], 1)
    pts = np.concatenate([top, bottom])
    return Shape("bar", [pts], category="occluder")


def rock_shape(rng: np.random.Generator) -> Shape:
    """A smooth, large, low-frequency blob with a flattened bottom (a rock or bush)."""
    pts = fourier_contour(rng, rng.uniform(0.1, 0.3), kmax=4, n=64)
    pts[:, 1] = np.minimum(pts[:, 1], rng.uniform(0.3, 0.7))
    return _normalise(Shape("rock", [pts], category="occluder"))


_MAKERS: Dict[str, Callable[[np.random.Generator], Shape]] = {
    "ellipse": _ellipse, "polygon": _polygon, "star": _star, "crescent": _crescent, "lshape": _lshape,
    "ushape": _ushape, "blob": _blob, "animal": _animal, "fish": _fish, "worm": _worm,
}


def make_shape(kind: str, rng: np.random.Generator) -> Shape:
    """Draw a random silhouette of `kind` (one of `SHAPE_KINDS`), normalised to radius 1."""
    return _normalise(_MAKERS[kind](rng))


def pose_parts(shape: Shape, swing: float, t: float, omega: float) -> List[np.ndarray]:
    """Parts at time `t` (frames): pivoted parts rotated by `swing * sin(omega * t + phase)`."""
    out = []
    for part, pivot, phase in zip(shape.parts, shape.pivots, shape.phases):
        if pivot is None or swing == 0.0:
            out.append(part)
        else:
            out.append(_rot(part - pivot, swing * np.sin(omega * t + phase)) + pivot)
    return out
