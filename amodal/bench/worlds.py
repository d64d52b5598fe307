"""Generated test videos ("worlds") with exactly N objects, and their ground-truth visible masks.

A world is one synthetic video (mp4 + PNG frames + native annotations) written by the synthetic
generator with `objects.count = [N, N]`, no annotated occluders, no objects entering from outside
and a still camera, so (nearly) all N objects are in view all the time.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

MaskDict = Dict[int, np.ndarray]


@dataclass
class World:
    """One test video.

    Attributes:
        objects: objects drawn in the world (N).
        video: the mp4 file.
        annotations: its native-format annotations.json.
        masks: per frame {track id: bool (H, W)} ground-truth visible masks (non-empty ones).
        size: (W, H).
    """

    objects: int
    video: Path
    annotations: Path
    masks: List[MaskDict]
    size: Tuple[int, int]

    @property
    def frames(self) -> int:
        return len(self.masks)

    @property
    def mean_visible_objects(self) -> float:
        """Objects with a non-empty visible mask, averaged over frames."""
        return float(np.mean([len(m) for m in self.masks])) if self.masks else 0.0


def world_config(objects: int, frames: int, size: Tuple[int, int]):
    """SynthConfig of a world with exactly `objects` annotated objects, all in view."""
    from amodal.data.synth.config import load_synth_config, replace_size

    cfg = replace_size(load_synth_config(), size[0], size[1], frames)
    cfg = dataclasses.replace(
        cfg,
        objects=dataclasses.replace(cfg.objects, count=[objects, objects], enter_prob=0.0),
        occluders=dataclasses.replace(cfg.occluders, count=[0, 0]),
        motion=dataclasses.replace(cfg.motion, margin=0.0),
        camera=dataclasses.replace(cfg.camera, prob=0.0),
    )
    return cfg


def visible_masks(annotations: Path) -> List[MaskDict]:
    """Per frame {track id: bool (H, W)} of the first video of a native annotations file."""
    from amodal.data.format import load_dataset

    ds = load_dataset(annotations, read_amodal=False, check_files=False)
    video = ds.videos[0]
    tracks = ds.tracks(video.id)
    out: List[MaskDict] = []
    for t in range(video.length):
        frame: MaskDict = {}
        for tr in tracks:
            if tr.segmentations[t] is None:
                continue
            m = tr.visible_mask(t)
            if m.any():
                frame[int(tr.id)] = m
        out.append(frame)
    return out


def make_world(out_dir: Path, objects: int, frames: int, size: Tuple[int, int], seed: int) -> World:
    """Generate (or overwrite) a one-video world in `out_dir` and load its visible masks."""
    from amodal.data.synth.dataset import generate_dataset

    cfg = world_config(objects, frames, size)
    generate_dataset(cfg, Path(out_dir), videos=1, seed=seed, workers=1, with_mp4=True, overwrite=True,
                     progress=False)
    ann = Path(out_dir) / "annotations.json"
    from amodal.data.format import load_dataset

    ds = load_dataset(ann, read_amodal=False, check_files=False)
    video = ds.video_path(ds.videos[0].id)
    return World(objects, Path(video), ann, visible_masks(ann), (int(size[0]), int(size[1])))
