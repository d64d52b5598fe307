"""Motion: object trajectories (translation, rotation, scale, mirror turns, non-rigid warps)
and the global camera path.

World coordinates are the pixel coordinates of frame 0; the camera maps world to image per
frame. An object's pose maps canonical shape coordinates (radius ~1) to world coordinates.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from amodal.data.synth.config import CameraConfig, MotionConfig

# How each shape kind is oriented: free spin, facing its velocity, or upright (mirrored on turns).
HEADING = {"fish": "heading", "worm": "heading", "animal": "upright"}


@dataclass
class Track:
    """Per-frame pose of one object (T frames) plus its deformation parameters.

    Attributes:
        pos: (T, 2) world position of the canonical origin.
        angle: (T,) rotation (radians).
        radius: (T,) pixels per canonical unit.
        flip: (T,) x mirror factor in [-1, 1] (|flip| < 1 while turning around).
        velocity: (T, 2) world velocity (pixels / frame), for motion blur.
        deform: radial sinusoidal warp amplitude (fraction of radius).
        bend: bending (undulation) amplitude.
        swing: articulated part swing amplitude (radians).
    """

    pos: np.ndarray
    angle: np.ndarray
    radius: np.ndarray
    flip: np.ndarray
    velocity: np.ndarray
    deform: float = 0.0
    deform_k: int = 3
    bend: float = 0.0
    omega: float = 0.3
    phase: float = 0.0
    swing: float = 0.0

    def matrix(self, t: int) -> np.ndarray:
        """(3, 3) canonical -> world transform at frame t."""
        c, s = np.cos(self.angle[t]), np.sin(self.angle[t])
        r = self.radius[t]
        return np.array([[c * r * self.flip[t], -s * r, self.pos[t, 0]],
                         [s * r * self.flip[t], c * r, self.pos[t, 1]],
                         [0.0, 0.0, 1.0]])

    def deform_points(self, pts: np.ndarray, t: int) -> np.ndarray:
        """Non-rigid warp of canonical points (N, 2) at frame t: radial ripple + undulation."""
        if self.deform == 0.0 and self.bend == 0.0:
            return pts
        out = pts
        ph = self.omega * t + self.phase
        if self.deform:
            theta = np.arctan2(pts[:, 1], pts[:, 0])
            out = out * (1 + self.deform * np.sin(self.deform_k * theta + ph))[:, None]
        if self.bend:
            out = out.copy()
            out[:, 1] += self.bend * np.sin(2.2 * pts[:, 0] - 1.3 * ph) * (0.3 + 0.7 * np.abs(pts[:, 0]))
        return out


def static_track(frames: int, pos: np.ndarray, angle: float, radius: float) -> Track:
    """A track that does not move in the world (occluders)."""
    return Track(pos=np.tile(np.asarray(pos, float), (frames, 1)), angle=np.full(frames, angle),
                 radius=np.full(frames, radius), flip=np.ones(frames), velocity=np.zeros((frames, 2)))


def _walk(rng: np.random.Generator, cfg: MotionConfig, p: np.ndarray, v_target: np.ndarray, steps: int,
          squash: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple:
    """Smooth random walk from `p`: velocity follows a target that turns now and then; reflected
    at the box [lo, hi]. Returns (steps, 2) positions and velocities."""
    speed = float(np.linalg.norm(v_target)) + 1e-6
    v = v_target * squash
    pos, vel = np.zeros((steps, 2)), np.zeros((steps, 2))
    for t in range(steps):
        pos[t], vel[t] = p, v
        if rng.random() < cfg.turn_prob:
            turn = rng.choice([-1, 1]) * rng.uniform(0.5, 2.2)
            c, s = np.cos(turn), np.sin(turn)
            v_target = np.array([[c, -s], [s, c]]) @ v_target * rng.uniform(0.6, 1.5)
        v = v + cfg.smoothness * (v_target * squash - v) + rng.normal(0, 0.04 * speed + 1e-3, 2)
        p = p + v
        for ax in (0, 1):
            if (p[ax] < lo[ax] and v[ax] < 0) or (p[ax] > hi[ax] and v[ax] > 0):
                v[ax], v_target[ax] = -v[ax], -v_target[ax]
    return pos, vel


def _positions(rng: np.random.Generator, cfg: MotionConfig, frames: int, width: int, height: int,
               radius: float, enter: bool, horizontal: bool, meet: Optional[Tuple[int, np.ndarray]]) -> tuple:
    """Object path: (T, 2) world positions and velocities.

    Entering objects start just outside the frame and head in. Objects with a meeting `(t, point)`
    pass through `point` at frame t (walked forwards and backwards from there), so several
    objects cross each other there. Others start anywhere, mostly heading to the middle.
    """
    speed = rng.uniform(*cfg.speed) * width
    squash = np.array([1.0, 0.3 if horizontal else 1.0])
    lo = np.array([-cfg.margin * width - radius, -cfg.margin * height - radius])
    hi = np.array([width * (1 + cfg.margin) + radius, height * (1 + cfg.margin) + radius])
    if enter:
        side = int(rng.integers(4))
        p = np.array([rng.uniform(0, width), rng.uniform(0, height)])
        out = radius * 1.05
        p[side % 2] = -out if side < 2 else (width, height)[side % 2] + out
        target = np.array([width, height]) * rng.uniform(0.3, 0.7, 2)
        direction = np.arctan2(target[1] - p[1], target[0] - p[0])
        speed = max(speed, rng.uniform(0.5, 1.0) * cfg.speed[1] * width)
    elif meet is not None:
        t0, point = meet
        direction = rng.uniform(0, 2 * np.pi)
        v0 = speed * np.array([np.cos(direction), np.sin(direction)])
        fwd_p, fwd_v = _walk(rng, cfg, point, v0, frames - t0, squash, lo, hi)
        back_p, back_v = _walk(rng, cfg, point, -v0, t0 + 1, squash, lo, hi)
        pos = np.concatenate([back_p[:0:-1], fwd_p])
        vel = np.concatenate([-back_v[:0:-1], fwd_v])
        return pos, vel
    else:
        p = np.array([rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height])
        if rng.random() < 0.7:  # head towards a point in the middle of the frame: more crossings
            goal = np.array([width, height]) * rng.uniform(0.3, 0.7, 2)
            direction = np.arctan2(goal[1] - p[1], goal[0] - p[0]) + rng.normal(0, 0.3)
        else:
            direction = rng.uniform(0, 2 * np.pi)
    v_target = speed * np.array([np.cos(direction), np.sin(direction)])
    return _walk(rng, cfg, p, v_target, frames, squash, lo, hi)


def object_track(rng: np.random.Generator, cfg: MotionConfig, kind: str, frames: int, width: int, height: int,
                 radius: float, enter: bool, meet: Optional[Tuple[int, np.ndarray]] = None) -> Track:
    """Draw a full trajectory for an object of shape `kind` with base radius `radius` (pixels).

    `meet = (t, point)` makes the object pass through world `point` at frame t.
    """
    mode = HEADING.get(kind, "spin")
    pos, vel = _positions(rng, cfg, frames, width, height, radius, enter, mode == "upright", meet)
    t = np.arange(frames, dtype=float)
    # Scale: slow breathing / approach, never below half or above double.
    a = rng.uniform(*cfg.scale_var)
    drift = rng.normal(0, a / max(frames, 1))
    rad = radius * np.exp(np.clip(a * np.sin(2 * np.pi * t / rng.uniform(20, 80) + rng.uniform(0, 6)) + drift * t,
                                  -0.7, 0.7))
    flip = np.ones(frames)
    if mode == "spin":
        omega = rng.choice([-1, 1]) * rng.uniform(*cfg.rotation)
        angle = rng.uniform(0, 2 * np.pi) + omega * t + rng.uniform(0, 0.15) * np.sin(t * rng.uniform(0.1, 0.4))
    elif mode == "heading":
        raw = np.unwrap(np.arctan2(vel[:, 1], vel[:, 0]))
        angle = np.empty(frames)
        angle[0] = raw[0]
        for i in range(1, frames):  # turn smoothly
            angle[i] = angle[i - 1] + np.clip(raw[i] - angle[i - 1], -0.35, 0.35)
    else:  # upright: mirror when walking left, passing through a narrow side view while turning
        angle = np.clip(0.5 * np.arctan2(vel[:, 1], np.abs(vel[:, 0]) + 1e-6), -0.3, 0.3)
        f = 1.0 if vel[0, 0] >= 0 else -1.0
        for i in range(frames):
            target = 1.0 if vel[i, 0] >= 0 else -1.0
            f = float(np.clip(f + np.clip(target - f, -0.45, 0.45), -1, 1))
            if abs(f) < 0.25:
                f = 0.25 * (target if target else 1.0)
            flip[i] = f
    return Track(pos=pos, angle=angle, radius=rad, flip=flip, velocity=vel,
                 deform=rng.uniform(*cfg.deform) if mode == "spin" else rng.uniform(*cfg.deform) * 0.4,
                 deform_k=int(rng.integers(2, 6)),
                 bend=rng.uniform(0.03, 0.12) if kind in ("fish", "worm") else 0.0,
                 omega=rng.uniform(0.2, 0.7), phase=rng.uniform(0, 2 * np.pi),
                 swing=rng.uniform(*cfg.swing))


def camera_path(rng: np.random.Generator, cfg: CameraConfig, frames: int, width: int, height: int,
                moving: bool) -> np.ndarray:
    """(T, 3, 3) world -> image transforms: pan, zoom and roll about the frame centre plus shake."""
    mats = np.tile(np.eye(3), (frames, 1, 1))
    if not moving:
        return mats
    t = np.arange(frames, dtype=float)
    ang = rng.uniform(0, 2 * np.pi)
    pan_speed = rng.uniform(*cfg.pan) * width
    wob = rng.uniform(0, 0.5)
    pan = np.stack([np.cos(ang + wob * np.sin(t / 7.0)), np.sin(ang + wob * np.sin(t / 7.0))], 1) * pan_speed
    pan = np.cumsum(pan, 0) - pan[0]
    zoom = np.exp(rng.choice([-1, 1]) * rng.uniform(*cfg.zoom) * t)
    roll = rng.choice([-1, 1]) * rng.uniform(*cfg.roll) * t
    amp = rng.uniform(*cfg.shake)
    shake = np.cumsum(rng.normal(0, amp, (frames, 2)), 0)
    shake = shake - np.linspace(0, 1, frames)[:, None] * shake[-1]  # no drift from shake
    c = np.array([width / 2, height / 2])
    for i in range(frames):
        co, si = np.cos(roll[i]) * zoom[i], np.sin(roll[i]) * zoom[i]
        lin = np.array([[co, -si], [si, co]])
        mats[i, :2, :2] = lin
        mats[i, :2, 2] = c - lin @ (c + pan[i]) + shake[i]
    return mats


def view_bounds(cameras: np.ndarray, width: int, height: int) -> List[float]:
    """World-space box [x0, y0, x1, y1] seen by any frame of the camera path."""
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], float)
    pts = np.concatenate([(np.linalg.inv(m) @ corners.T).T[:, :2] for m in cameras])
    return [float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())]
