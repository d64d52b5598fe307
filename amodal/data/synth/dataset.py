"""Generate a whole synthetic dataset folder in parallel (spawn-safe multiprocessing).

Each worker renders and writes its own videos and returns their annotation records; the parent
merges them in video order, numbers annotations 1.. and writes `annotations.json` atomically,
plus `synth_config.yaml` (the resolved config, loadable with `--config`; seed and count in its header).
"""
from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

import yaml

from amodal.data.synth.config import SynthConfig, synth_config_from_dict, synth_config_to_dict
from amodal.data.synth.shapes import categories
from amodal.utils.files import atomic_write_json, atomic_write_text, output_dir_undone_on_error

_STATE: Dict[str, Any] = {}


def _init_worker(cfg_dict: Dict[str, Any], seed: int, out_dir: str, with_mp4: bool) -> None:
    """Pool initializer: one OpenCV/BLAS thread per process, config rebuilt from a plain dict.

    An error here is kept and raised by the worker's first task: raised by an initializer, it
    would make the pool start new workers forever instead of failing."""
    import cv2

    cv2.setNumThreads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        _STATE.update(cfg=synth_config_from_dict(cfg_dict), seed=seed, out_dir=Path(out_dir), with_mp4=with_mp4)
    except Exception as exc:  # noqa: BLE001 - handed to the parent through the first task
        _STATE["error"] = exc


def _make_one(index: int) -> Dict[str, Any]:
    from amodal.data.synth.generator import generate_video
    from amodal.data.synth.writer import write_video

    if "error" in _STATE:
        raise _STATE["error"]
    cfg: SynthConfig = _STATE["cfg"]
    video = generate_video(cfg, _STATE["seed"], index)
    return write_video(video, _STATE["out_dir"], index, _STATE["with_mp4"], cfg.fps)


def _records(cfg: SynthConfig, out_dir: Path, videos: int, seed: int, workers: int,
             with_mp4: bool) -> Iterator[Dict[str, Any]]:
    args = (synth_config_to_dict(cfg), int(seed), str(out_dir), bool(with_mp4))
    if workers <= 1 or videos <= 1:
        _init_worker(*args)
        for i in range(videos):
            yield _make_one(i)
        return
    ctx = mp.get_context("spawn")
    with ctx.Pool(min(workers, videos), initializer=_init_worker, initargs=args) as pool:
        yield from pool.imap(_make_one, range(videos), chunksize=1)


def generate_dataset(cfg: SynthConfig, out_dir: Path, videos: int, seed: int, workers: int = 1,
                     with_mp4: bool = True, overwrite: bool = False,
                     progress: bool = True) -> Tuple[Dict[str, Any], Optional[float]]:
    """Write `videos` videos of run `seed` to `out_dir`; return (annotation dict, seconds taken).

    Raises:
        OutputExistsError: `out_dir` exists, is not empty and `overwrite` is False.
    """
    import time

    from tqdm import tqdm

    start = time.perf_counter()
    data: Dict[str, Any] = {"videos": [], "categories": categories(), "annotations": []}
    with output_dir_undone_on_error(out_dir, overwrite) as folder:  # a failed run leaves nothing to --overwrite
        out_dir = folder.path
        bar = tqdm(total=videos, desc="synth", unit="video", disable=not progress, dynamic_ncols=True)
        try:
            for rec in _records(cfg, out_dir, videos, seed, workers, with_mp4):
                data["videos"].append(rec["video"])
                for ann in rec["annotations"]:
                    data["annotations"].append({"id": len(data["annotations"]) + 1, **ann})
                bar.update(1)
        finally:
            bar.close()
        atomic_write_json(out_dir / "annotations.json", data)
        header = f"# amodal synth: {videos} videos, seed {seed}. Reproduce with --config this file.\n"
        text = header + yaml.safe_dump(synth_config_to_dict(cfg), sort_keys=False)
        atomic_write_text(out_dir / "synth_config.yaml", text)
    return data, time.perf_counter() - start
