"""Draw a random scene from a `SynthConfig` and render it.

`generate_video(cfg, seed, index)` is a pure function of its arguments: video `index` of seed
`seed` gets its own generator `default_rng(SeedSequence([seed, index]))`, so a video is the same
whatever the number of workers or the order videos are made in, and the first N videos of a
bigger run are the videos of a run of N.
"""
from __future__ import annotations

from typing import List

import cv2
import numpy as np

from amodal.data.synth.config import SHAPE_KINDS, SynthConfig
from amodal.data.synth.motion import camera_path, object_track, static_track, view_bounds
from amodal.data.synth.photos import photo_texture
from amodal.data.synth.render import render_scene
from amodal.data.synth.scene import TEXTURE_EXTENT, Photometric, Scene, SceneObject, SynthVideo
from amodal.data.synth.shapes import CATEGORY_IDS, Shape, bar_shape, make_shape, rock_shape
from amodal.data.synth.textures import pick, random_palette, shade, texture

MAX_TEXTURE = 384
OBJECT_PHOTO_ZOOM = (0.15, 0.6)  # an object's photo texture: a close-up of part of a photo
BACKGROUND_PHOTO_ZOOM = (0.5, 1.0)  # a background: most of a photo's view


def video_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of video `index` (0-based) of a run with `seed`."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))


def _rasterise_canonical(shape: Shape, size: int) -> np.ndarray:
    """Rest-pose silhouette in texture pixel space: (size, size) uint8."""
    mask = np.zeros((size, size), np.uint8)
    unit = 2 * TEXTURE_EXTENT / size
    for p in shape.parts:
        px = np.round(((p + TEXTURE_EXTENT) / unit - 0.5) * 16).astype(np.int32)
        cv2.fillPoly(mask, [px], 255, cv2.LINE_8, 4)
    return mask


def _texture(cfg: SynthConfig, kind: str, rng: np.random.Generator, h: int, w: int, scale: float,
             photo_zoom: tuple) -> np.ndarray:
    """(h, w, 3) float32 RGB of `kind`: a crop of the config's photos for "photo", else procedural."""
    if kind == "photo":
        return photo_texture(cfg.photos, rng, h, w, photo_zoom)
    return texture(kind, rng, h, w, scale=scale)


def _object_texture(rng: np.random.Generator, cfg: SynthConfig, shape: Shape, max_radius: float) -> np.ndarray:
    size = int(np.clip(np.ceil(2 * TEXTURE_EXTENT * max_radius), 16, MAX_TEXTURE))
    kind = pick(cfg.objects.textures, rng)
    tex = _texture(cfg, kind, rng, size, size, rng.uniform(1.0, 3.0), OBJECT_PHOTO_ZOOM)
    if kind != "flat":
        tex = shade(tex, _rasterise_canonical(shape, size), rng, rng.uniform(*cfg.objects.shading))
    return tex


def _add_clutter(rng: np.random.Generator, cfg: SynthConfig, bg: np.ndarray, height: int) -> None:
    """Faint, slightly defocused shapes painted into the background (not annotated), in place."""
    n = int(rng.integers(cfg.background.clutter[0], cfg.background.clutter[1] + 1))
    hb, wb = bg.shape[:2]
    for _ in range(n):
        shape = make_shape(SHAPE_KINDS[int(rng.integers(len(SHAPE_KINDS)))], rng)
        r = rng.uniform(0.03, 0.15) * height
        ang = rng.uniform(0, 2 * np.pi)
        c, s = np.cos(ang) * r, np.sin(ang) * r
        centre = np.array([rng.uniform(0, wb), rng.uniform(0, hb)])
        mask = np.zeros((hb, wb), np.uint8)
        for p in shape.parts:
            q = p @ np.array([[c, s], [-s, c]]) + centre
            cv2.fillPoly(mask, [np.round(q * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
        a = cv2.GaussianBlur(mask, (0, 0), rng.uniform(0.5, 2.5)).astype(np.float32) / 255
        a *= rng.uniform(*cfg.background.clutter_contrast)
        colour = random_palette(rng, 1)[0]
        bg *= 1 - a[..., None]
        bg += a[..., None] * colour


def _occluder(rng: np.random.Generator, cfg: SynthConfig, frames: int, view: List[float]) -> tuple:
    """(shape, track) of a static occluder placed in the world."""
    w, h = view[2] - view[0], view[3] - view[1]
    fw, fh = cfg.width, cfg.height
    kind = pick(cfg.occluders.kinds, rng)
    if kind == "bar":
        r = 0.6 * float(np.hypot(w, h))
        half_w = rng.uniform(*cfg.occluders.bar_width) * fh / 2 / r
        shape = bar_shape(rng, half_w)
        if rng.random() < 0.65:
            angle = np.pi / 2 + rng.normal(0, 0.12)
            pos = np.array([rng.uniform(0.1, 0.9) * fw, fh / 2])
        else:
            angle = rng.normal(0, 0.08)
            pos = np.array([fw / 2, rng.uniform(0.2, 0.85) * fh])
        direction = np.array([np.cos(angle), np.sin(angle)])
        if rng.random() < 0.35:  # one end of the bar inside the frame (a post, a branch)
            end = pos + direction * rng.uniform(-0.3, 0.3) * np.array([fw, fh])
            pos = end + direction * r * rng.choice([-1, 1])
        return shape, static_track(frames, pos, angle, r)
    shape = rock_shape(rng)
    r = rng.uniform(*cfg.occluders.rock_size) * fh
    if rng.random() < 0.6:
        pos = np.array([rng.uniform(0, fw), fh + rng.uniform(-0.4, 0.2) * r])
    else:
        pos = np.array([rng.uniform(0.1, 0.9) * fw, rng.uniform(0.2, 0.8) * fh])
    return shape, static_track(frames, pos, rng.normal(0, 0.1), r)


def _photometric(rng: np.random.Generator, cfg: SynthConfig) -> Photometric:
    p, n_frames, h, w = cfg.photometric, cfg.frames, cfg.height, cfg.width
    t = np.arange(n_frames, dtype=float)
    level = rng.uniform(*p.brightness) * (1 + rng.uniform(*p.light_change) * np.sin(2 * np.pi * t / rng.uniform(15, 60)
                                                                             + rng.uniform(0, 2 * np.pi)))
    cast0 = 1 + rng.uniform(*p.color_cast) * rng.normal(0, 1, 3)
    cast1 = 1 + rng.uniform(*p.color_cast) * rng.normal(0, 1, 3)
    frac = (t / max(n_frames - 1, 1))[:, None]
    gain = level[:, None] * (cast0 * (1 - frac) + cast1 * frac)
    amp = rng.uniform(*p.light_gradient)
    ang = rng.uniform(0, 2 * np.pi) + rng.normal(0, 0.03) * t
    gradient = np.stack([np.full(n_frames, amp), np.cos(ang), np.sin(ang)], 1)
    sh_ang = rng.uniform(0, 2 * np.pi)
    shadow_offset = np.array([np.cos(sh_ang), np.sin(sh_ang)]) * rng.uniform(0.015, 0.05) * h
    shadow_blur = rng.uniform(1.0, 4.0) * h / 240
    exposure = p.motion_blur * rng.uniform(0.0, 0.8)
    defocus = rng.uniform(*p.defocus)
    noise = rng.uniform(*p.noise)
    bank = rng.standard_normal((3, h + 16, w + 16, 3), dtype=np.float32) * np.float32(noise) if noise > 0 else None
    offsets = np.stack([rng.integers(0, 3, n_frames), rng.integers(0, 17, n_frames), rng.integers(0, 17, n_frames)], 1)
    jpeg = int(rng.integers(p.jpeg_quality[0], p.jpeg_quality[1] + 1)) if rng.random() < p.jpeg_prob else 0
    return Photometric(gain=gain.astype(np.float32), gradient=gradient, shadow_offset=shadow_offset,
                       shadow_blur=float(shadow_blur), exposure=float(exposure), defocus=float(defocus),
                       noise=float(noise), noise_bank=bank, noise_offsets=offsets, jpeg_quality=jpeg,
                       antialias=p.antialias)


def draw_scene(cfg: SynthConfig, rng: np.random.Generator) -> Scene:
    """Draw every random choice of one video (layout, looks, motion, camera, image formation)."""
    w, h, n_frames = cfg.width, cfg.height, cfg.frames
    cameras = camera_path(rng, cfg.camera, n_frames, w, h, moving=rng.random() < cfg.camera.prob)
    max_zoom = float(np.abs(np.linalg.det(cameras[:, :2, :2])).max() ** 0.5)
    view = view_bounds(cameras, w, h)
    x0, y0 = np.floor(view[0]) - 8, np.floor(view[1]) - 8
    wb = int(min(np.ceil(view[2]) + 8 - x0, 4 * w))
    hb = int(min(np.ceil(view[3]) + 8 - y0, 4 * h))
    bg = _texture(cfg, pick(cfg.background.textures, rng), rng, hb, wb, 1.5 * max(wb, hb) / max(w, h),
                  BACKGROUND_PHOTO_ZOOM)
    _add_clutter(rng, cfg, bg, h)
    shadow = rng.uniform(*cfg.objects.shadow)

    objects: List[SceneObject] = []
    n_obj = int(rng.integers(cfg.objects.count[0], cfg.objects.count[1] + 1))
    n_meet = int(rng.integers(cfg.motion.meetings[0], cfg.motion.meetings[1] + 1))
    meetings = [(int(rng.integers(0, n_frames)), np.array([w, h]) * rng.uniform(0.25, 0.75, 2))
                for _ in range(n_meet)]
    for _ in range(n_obj):
        kind = pick(cfg.objects.shapes, rng)
        shape = make_shape(kind, rng)
        radius = rng.uniform(*cfg.objects.size) * h
        enter = rng.random() < cfg.objects.enter_prob
        meet = None
        if not enter and rng.random() < cfg.motion.meet_prob:
            t_meet, point = meetings[int(rng.integers(n_meet))]
            meet = (t_meet, point + rng.normal(0, 0.3 * radius, 2))
        track = object_track(rng, cfg.motion, kind, n_frames, w, h, radius, enter, meet)
        tex = _object_texture(rng, cfg, shape, float(track.radius.max()) * max_zoom)
        objects.append(SceneObject(shape, track, tex, CATEGORY_IDS[shape.category], True, shadow))
    depth = [int(i) for i in rng.permutation(n_obj)]

    n_occ = int(rng.integers(cfg.occluders.count[0], cfg.occluders.count[1] + 1))
    for _ in range(n_occ):
        shape, track = _occluder(rng, cfg, n_frames, view)
        tex = _object_texture(rng, cfg, shape, float(track.radius[0]) * max_zoom)
        objects.append(SceneObject(shape, track, tex, CATEGORY_IDS["occluder"], cfg.occluders.annotated, shadow))
        idx = len(objects) - 1
        if rng.random() < cfg.occluders.front_prob:
            depth.append(idx)
        else:
            depth.insert(int(rng.integers(0, len(depth) + 1)), idx)

    return Scene(width=w, height=h, frames=n_frames, background=bg, bg_origin=np.array([x0, y0]),
                 cameras=cameras, objects=objects, depth=depth, photometric=_photometric(rng, cfg),
                 swap_prob=cfg.motion.depth_swap_prob, swap_seed=int(rng.integers(2 ** 62)))


def generate_video(cfg: SynthConfig, seed: int, index: int) -> SynthVideo:
    """Render video `index` (0-based) of the run with `seed`: frames and exact masks."""
    scene = draw_scene(cfg, video_rng(seed, index))
    video = render_scene(scene)
    video.meta = {"seed": int(seed), "index": int(index), "jpeg_quality": scene.photometric.jpeg_quality}
    return video
