"""Procedural, photo-like textures: fractal value noise mapped through colour palettes,
stripes, spots, gradients, marble, Voronoi cells; textured backgrounds with clutter.

All functions return RGB float32 images (H, W, 3) in [0, 255] and use only the given numpy
generator (deterministic). Heavy lifting is in OpenCV resizes and numpy lookups.
"""
from __future__ import annotations

from typing import Dict

import cv2
import numpy as np


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """(N, 3) HSV in [0, 1] -> (N, 3) RGB in [0, 255] float32."""
    h, s, v = hsv[:, 0] * 6.0, hsv[:, 1], hsv[:, 2]
    i = np.floor(h).astype(int) % 6
    f = h - np.floor(h)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = np.stack([np.stack([v, t, p], 1), np.stack([q, v, p], 1), np.stack([p, v, t], 1),
                      np.stack([p, q, v], 1), np.stack([t, p, v], 1), np.stack([v, p, q], 1)], 0)
    return (table[i, np.arange(len(i))] * 255).astype(np.float32)


def random_palette(rng: np.random.Generator, n: int, saturation: float = 0.6) -> np.ndarray:
    """`n` harmonious colours (n, 3) RGB: analogous hues or a complementary accent, natural saturation."""
    base = rng.random()
    scheme = rng.integers(3)
    hues = base + rng.normal(0, 0.04, n)
    if scheme == 1:  # complementary accent
        hues[rng.integers(n)] += 0.5
    elif scheme == 2:  # triad-ish
        hues += rng.choice([0.0, 1 / 3, 2 / 3], n) * (rng.random(n) < 0.4)
    sat = np.clip(rng.uniform(0.05, 1.0, n) * saturation * 1.4, 0, 1)
    val = np.sort(rng.uniform(0.15, 1.0, n))
    return hsv_to_rgb(np.stack([hues % 1.0, sat, val], 1))


def palette_lut(palette: np.ndarray, stops: np.ndarray = None) -> np.ndarray:
    """(256, 3) lookup table interpolating the palette colours over [0, 1]."""
    n = len(palette)
    stops = np.linspace(0, 1, n) if stops is None else stops
    x = np.linspace(0, 1, 256)
    return np.stack([np.interp(x, stops, palette[:, c]) for c in range(3)], 1).astype(np.float32)


def apply_lut(values: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] (H, W) through a (256, 3) LUT -> (H, W, 3)."""
    return lut[np.clip(values * 255, 0, 255).astype(np.uint8)]


def value_noise(rng: np.random.Generator, h: int, w: int, cells: float = 4.0, octaves: int = 5,
                persistence: float = 0.5) -> np.ndarray:
    """Fractal value noise (H, W) float32 normalised to [0, 1]; `cells` = lattice cells of the first octave."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    c = cells
    for _ in range(octaves):
        gh, gw = max(2, int(round(c * h / max(h, w))) + 2), max(2, int(round(c * w / max(h, w))) + 2)
        grid = rng.random((gh, gw)).astype(np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= persistence
        c *= 2.0
        if c > max(h, w) / 1.5:
            break
    out /= total
    lo, hi = np.percentile(out, (1, 99)) if out.size > 16 else (out.min(), out.max())
    return np.clip((out - lo) / max(hi - lo, 1e-6), 0, 1)


def _coords(h: int, w: int) -> tuple:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    s = float(max(h, w))
    return x / s, y / s


def _grain(rng: np.random.Generator, img: np.ndarray, strength: float) -> np.ndarray:
    """Multiplicative fine-grain detail (skin, fabric, bark micro-texture)."""
    h, w = img.shape[:2]
    g = value_noise(rng, h, w, cells=max(h, w) / 6, octaves=2)
    return img * (1 + strength * (g[..., None] - 0.5))


def texture(kind: str, rng: np.random.Generator, h: int, w: int, scale: float = 1.0) -> np.ndarray:
    """A procedural texture of `kind` (see TEXTURE_KINDS / BACKGROUND_KINDS; "photo" is cut from
    photographs by `amodal.data.synth.photos` instead) as (H, W, 3) float32 RGB.

    `scale` multiplies the feature frequency (more detail for larger images).
    """
    if kind == "flat":
        return np.broadcast_to(random_palette(rng, 1)[0], (h, w, 3)).astype(np.float32).copy()
    x, y = _coords(h, w)
    if kind == "noise":
        v = value_noise(rng, h, w, cells=rng.uniform(2, 6) * scale, persistence=rng.uniform(0.4, 0.65))
        img = apply_lut(v, palette_lut(random_palette(rng, int(rng.integers(2, 5)))))
    elif kind == "stripes":
        ang = rng.uniform(0, np.pi)
        freq = rng.uniform(3, 10) * scale
        warp = value_noise(rng, h, w, cells=3) * rng.uniform(0, 3)
        phase = 2 * np.pi * freq * (x * np.cos(ang) + y * np.sin(ang)) + warp
        v = 0.5 + 0.5 * np.tanh(rng.uniform(1, 6) * np.sin(phase))
        img = apply_lut(v, palette_lut(random_palette(rng, 2)))
    elif kind == "spots":
        base = value_noise(rng, h, w, cells=3 * scale) * 0.5 + 0.25
        pal = random_palette(rng, 3)
        img = apply_lut(base, palette_lut(pal[:2]))
        spot = np.zeros((h, w), np.uint8)
        n = int(rng.integers(8, 40) * scale ** 2)
        rmax = max(2, int(max(h, w) * rng.uniform(0.03, 0.09) / scale))
        for _ in range(n):
            c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            ax = (int(rng.integers(1, rmax + 1)), int(rng.integers(1, rmax + 1)))
            cv2.ellipse(spot, c, ax, float(rng.uniform(0, 180)), 0, 360, 255, -1, cv2.LINE_AA)
        a = cv2.GaussianBlur(spot, (0, 0), 0.8).astype(np.float32)[..., None] / 255
        img = img * (1 - a) + pal[2] * a
    elif kind == "gradient":
        ang = rng.uniform(0, 2 * np.pi)
        v = x * np.cos(ang) + y * np.sin(ang)
        v = (v - v.min()) / max(float(v.max() - v.min()), 1e-6)
        v = np.clip(v + 0.15 * (value_noise(rng, h, w, cells=3) - 0.5), 0, 1)
        img = apply_lut(v, palette_lut(random_palette(rng, int(rng.integers(2, 4)))))
    elif kind == "marble":
        turb = value_noise(rng, h, w, cells=rng.uniform(2, 5) * scale, octaves=5)
        ang = rng.uniform(0, np.pi)
        freq = rng.uniform(1, 4) * scale
        v = 0.5 + 0.5 * np.sin(2 * np.pi * freq * (x * np.cos(ang) + y * np.sin(ang)) + rng.uniform(3, 8) * turb)
        img = apply_lut(v ** rng.uniform(0.5, 2.0), palette_lut(random_palette(rng, 3)))
    elif kind == "cells":
        n = int(rng.integers(6, 40) * scale ** 2)
        seeds = np.full((h, w), 255, np.uint8)
        seeds[rng.integers(0, h, n), rng.integers(0, w, n)] = 0
        dist, labels = cv2.distanceTransformWithLabels(seeds, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
        pal = random_palette(rng, 4)
        colours = pal[rng.integers(0, 4, labels.max() + 1)] * rng.uniform(0.8, 1.2, (labels.max() + 1, 1))
        img = colours[labels].astype(np.float32)
        # Dark seams between cells: the distance to the nearest seed is large near cell borders.
        edge = dist / max(float(dist.max()), 1e-6)
        img *= (1 - rng.uniform(0.1, 0.5) * edge ** 2)[..., None]
    elif kind == "terrain":
        v = value_noise(rng, h, w, cells=rng.uniform(2, 5) * scale, octaves=6, persistence=0.55)
        pal = random_palette(rng, 4, saturation=0.45)
        img = apply_lut(v, palette_lut(pal))
        img *= (0.8 + 0.4 * y / max(float(y.max()), 1e-6))[..., None]  # nearer is brighter/warmer
    elif kind == "horizon":
        line = 0.3 + 0.3 * rng.random() + 0.05 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * x[0] + rng.uniform(0, 6))
        yn = y / max(float(y.max()), 1e-6)
        sky = apply_lut(np.clip(yn / line[None, :] + 0.1 * value_noise(rng, h, w, 2), 0, 1),
                        palette_lut(random_palette(rng, 2, saturation=0.4)))
        ground = texture("terrain", rng, h, w, scale)
        m = np.clip((yn - line[None, :]) * max(h, w) / 3 + 0.5, 0, 1)[..., None]
        img = sky * (1 - m) + ground * m
    else:
        raise ValueError(f"unknown texture kind {kind!r}")
    if kind not in ("gradient",):
        img = _grain(rng, img, rng.uniform(0.0, 0.35))
    return np.clip(img, 0, 255).astype(np.float32)


def shade(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Volumetric shading of a sprite texture: darker towards the silhouette edge and away from a light.

    Args:
        img: (S, S, 3) float32 texture.
        mask: (S, S) uint8 silhouette at rest pose (non-zero inside).
        strength: 0 (flat) .. 1 (strong).
    """
    if strength <= 0:
        return img
    dist = cv2.distanceTransform((mask > 0).astype(np.uint8), cv2.DIST_L2, 3)
    d = np.sqrt(dist / max(float(dist.max()), 1e-6))
    x, y = _coords(*mask.shape)
    ang = rng.uniform(0, 2 * np.pi)
    light = (x - x.mean()) * np.cos(ang) + (y - y.mean()) * np.sin(ang)
    s = (1 - strength) + strength * (0.55 + 0.45 * d) * (1 + strength * light)
    return np.clip(img * s[..., None], 0, 255).astype(np.float32)


def pick(weights: Dict[str, float], rng: np.random.Generator) -> str:
    """Draw a key of `weights` with probability proportional to its weight."""
    keys = sorted(weights)
    p = np.array([weights[k] for k in keys], float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]
