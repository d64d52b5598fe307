"""Tiny synthetic amodal datasets for tests: textured ellipses moving over a textured background.

Objects are drawn back to front; amodal = the full ellipse, visible = amodal minus the objects in
front. Written in the native format (frames as PNG under `frames/`).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Tuple

import cv2
import numpy as np


def ellipse_video(frames: int, size: Tuple[int, int], objects: int, rng: np.random.Generator
                  ) -> Tuple[List[np.ndarray], np.ndarray, np.ndarray]:
    """Returns frames (T RGB uint8), visible (K, T, H, W) bool, amodal (K, T, H, W) bool (back to front)."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    bg = (rng.random((h, w, 3)) * 60 + 40).astype(np.uint8)
    bg = cv2.GaussianBlur(bg, (5, 5), 0)
    params = []
    for _ in range(objects):
        params.append(dict(c=rng.uniform([0.2 * w, 0.25 * h], [0.8 * w, 0.75 * h]), v=rng.uniform(-2, 2, 2) * w / 64,
                           ax=rng.uniform(0.12, 0.22, 2) * min(w, h) * 1.4, ang=rng.uniform(0, np.pi),
                           col=rng.integers(90, 255, 3), spin=rng.uniform(-0.1, 0.1)))
    out_frames, vis, amo = [], np.zeros((objects, frames, h, w), bool), np.zeros((objects, frames, h, w), bool)
    for t in range(frames):
        img = bg.copy()
        covered = np.zeros((h, w), bool)
        for k in reversed(range(objects)):  # front (k = 0) drawn last; iterate back to front
            p = params[k]
            cx, cy = p["c"] + p["v"] * t
            a = p["ang"] + p["spin"] * t
            dx, dy = xx - cx, yy - cy
            u = (dx * np.cos(a) + dy * np.sin(a)) / p["ax"][0]
            v = (-dx * np.sin(a) + dy * np.cos(a)) / p["ax"][1]
            m = u * u + v * v <= 1.0
            amo[k, t] = m
            stripes = ((np.floor((u + 2) * 3) % 2) * 40).astype(np.int32)
            img[m] = np.clip(p["col"][None] - stripes[m][:, None], 0, 255).astype(np.uint8)
        for k in range(objects):
            vis[k, t] = amo[k, t] & ~covered
            covered |= amo[k, t]
        out_frames.append(img)
    return out_frames, vis, amo


def make_dataset(root: Path, videos: int = 2, frames: int = 6, size: Tuple[int, int] = (64, 48), objects: int = 3,
                 seed: int = 0) -> Path:
    """Write a native-format dataset under `root`; returns the annotations JSON path."""
    from amodal.utils.masks import encode_rle

    rng = np.random.default_rng(seed)
    root = Path(root)
    vids, anns = [], []
    for i in range(videos):
        fr, vis, amo = ellipse_video(frames, size, objects, rng)
        names = []
        for t, img in enumerate(fr):
            name = f"{i:05d}/{t:05d}.png"
            (root / "frames" / f"{i:05d}").mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / "frames" / name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            names.append(name)
        vids.append({"id": i + 1, "width": size[0], "height": size[1], "length": frames, "file_names": names})
        for k in range(objects):
            anns.append({"id": len(anns) + 1, "video_id": i + 1, "category_id": 1, "iscrowd": 0,
                         "segmentations": [encode_rle(vis[k, t]) if vis[k, t].any() else None for t in range(frames)],
                         "amodal_segmentations": [encode_rle(amo[k, t]) for t in range(frames)]})
    path = root / "annotations.json"
    path.write_text(json.dumps({"videos": vids, "categories": [{"id": 1, "name": "ellipse"}], "annotations": anns}))
    return path


def strip_amodal(src: Path, dst: Path) -> Path:
    """Copy an annotations JSON without any amodal field (frames stay where they are)."""
    d = json.loads(Path(src).read_text())
    for a in d["annotations"]:
        for key in ("amodal_segmentations", "amodal_bboxes", "amodal_areas"):
            a.pop(key, None)
    Path(dst).write_text(json.dumps(d))
    return Path(dst)


def save_tiny_checkpoint(path: Path) -> Path:
    """Save a randomly initialised tiny model (48x64 visible net, 32-px crops) as a checkpoint."""
    import torch

    from amodal.config import load_config
    from amodal.engine.checkpoint import save_checkpoint
    from amodal.models.build import build_model

    cfg = load_config(None, [
        "model.visible.width=4", "model.visible.input_height=48", "model.visible.input_width=64",
        "model.completion.crop_size=32", "model.completion.width=8",
        "model.completion.memory_permanent=1", "model.completion.memory_recent=2",
    ])
    torch.manual_seed(0)
    save_checkpoint(path, build_model(cfg), cfg, step=0)
    return path


def load_tool(name: str):
    """The module of the script `tools/<name>.py` (tools are scripts, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def noise_texture(h: int, w: int, seed: int) -> np.ndarray:
    """Smooth colour noise RGB uint8 (h, w, 3)."""
    rng = np.random.default_rng(seed)
    noise = cv2.resize(rng.random((h // 4, w // 4, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(noise * 200 + 30, 0, 255).astype(np.uint8)


def panning_scene(t: int, with_object: bool = True, h: int = 120, w: int = 160) -> Tuple[np.ndarray, np.ndarray]:
    """Frame t of a camera panning (2, 1) px/frame over a textured world, and a textured square
    moving (4, -3) px/frame over it; returns RGB uint8 (h, w, 3) and the square's mask."""
    world = noise_texture(h + 40, w + 40, 0)
    frame = world[t:t + h, 2 * t:2 * t + w].copy()
    mask = np.zeros((h, w), bool)
    if with_object:
        y, x = 60 - 3 * t, 40 + 4 * t
        frame[y:y + 30, x:x + 30] = noise_texture(30, 30, 1)
        mask[y:y + 30, x:x + 30] = True
    return frame, mask


def tiny_completion_config():
    """A Config with no visible net and a tiny completion network (crops 32, width 8, memory 1 + 2)."""
    from amodal.config import Config

    cfg = Config()
    cfg.model.visible.enabled = False
    cfg.model.completion.crop_size = 32
    cfg.model.completion.width = 8
    cfg.model.completion.memory_recent = 2
    cfg.model.completion.memory_permanent = 1
    return cfg


def two_object_clip(t: int = 4, step: float = 1.0):
    """`ClipObjects` of one 40x48 clip: object 1 moves `step` pixels right per frame behind object 2, which stays."""
    import torch

    from amodal.losses.selfsup import ClipObjects

    ids = torch.zeros(1, t, 40, 48, dtype=torch.long)
    for i in range(t):
        x = int(round(6 + step * i))
        ids[0, i, 8:24, x:x + 16] = 1
        ids[0, i, 14:30, 24:40] = 2  # object 2 hides part of object 1
    motions = torch.tensor([[1.0, 0, step], [0, 1, 0]]).expand(2, t - 1, 2, 3).clone()
    motions[1] = torch.tensor([[1.0, 0, 0], [0, 1, 0]])
    return ClipObjects(ids, torch.tensor([0, 0]), torch.tensor([1, 2]), motions)
