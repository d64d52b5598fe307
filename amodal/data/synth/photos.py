"""Photo textures: crops of real photographs as object and background textures (kind "photo").

The generator's procedural textures are smooth noise, stripes and cells; real video has the
structured edges of walls, fences, foliage and fabric. A folder of photographs (`photos` in the
synth config; `tools/collect_photos.py` gathers the sample photos that installed packages ship)
gives those: a random crop, flipped or turned, in the photo's own colours or with its brightness
mapped through a random palette (so a handful of photos gives many looks).

A video stays a pure function of (config, seed, index) and the folder's contents: files are read
in sorted order and every choice uses the video's generator.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import List, Tuple

import cv2
import numpy as np

from amodal.data.synth.textures import apply_lut, palette_lut, random_palette
from amodal.errors import ConfigError

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
MAX_SIDE = 640  # photos are shrunk to at most this many pixels on their longer side once, when read
MIN_SIDE = 32


def photo_files(folder: str) -> List[Path]:
    """Image files directly in `folder`, sorted by name; ConfigError when it has none."""
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"photos: folder {folder!r} not found (tools/collect_photos.py makes one)")
    files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
    if not files:
        raise ConfigError(f"photos: folder {folder!r} holds no images ({', '.join(PHOTO_SUFFIXES)})")
    return files


@lru_cache(maxsize=4)
def load_photos(folder: str) -> Tuple[np.ndarray, ...]:
    """The folder's photos as (H, W, 3) float32 RGB in [0, 255], longer side <= MAX_SIDE.

    Read once per process and folder. Unreadable or tiny files are a ConfigError naming them.
    """
    photos = []
    for path in photo_files(folder):
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None or min(img.shape[:2]) < MIN_SIDE:
            raise ConfigError(f"photos: {path} is not a readable image of at least {MIN_SIDE}x{MIN_SIDE} pixels")
        s = MAX_SIDE / max(img.shape[:2])
        if s < 1:
            img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        photos.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB).astype(np.float32))
    return tuple(photos)


def photo_texture(folder: str, rng: np.random.Generator, h: int, w: int, zoom: Tuple[float, float]) -> np.ndarray:
    """A (h, w, 3) float32 RGB texture cut from a random photo of `folder`.

    Args:
        zoom: the crop's size as a fraction [low, high] of the largest crop of the texture's
            aspect that fits the photo (small: a close-up of a surface; 1: the whole view).
    """
    photos = load_photos(folder)
    img = photos[int(rng.integers(len(photos)))]
    if rng.random() < 0.5:
        img = img.transpose(1, 0, 2)  # with the flips below: any of the 8 right-angle poses
    if rng.random() < 0.5:
        img = img[:, ::-1]
    if rng.random() < 0.5:
        img = img[::-1]
    ph, pw = img.shape[:2]
    fit = min(ph / h, pw / w)  # the largest crop of aspect h:w is (h * fit, w * fit)
    f = fit * rng.uniform(*zoom)
    ch, cw = max(2, min(ph, int(round(h * f)))), max(2, min(pw, int(round(w * f))))
    y0, x0 = int(rng.integers(0, ph - ch + 1)), int(rng.integers(0, pw - cw + 1))
    crop = np.ascontiguousarray(img[y0:y0 + ch, x0:x0 + cw])
    out = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA if ch > h else cv2.INTER_LINEAR)
    if rng.random() < 0.5:  # its brightness through a random palette: new colours, the photo's structure
        grey = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY) / 255.0
        out = apply_lut(grey, palette_lut(random_palette(rng, int(rng.integers(2, 5)))))
    else:
        out = out * rng.uniform(0.85, 1.15, 3).astype(np.float32)  # a slight colour cast
    return np.clip(out, 0, 255).astype(np.float32)
