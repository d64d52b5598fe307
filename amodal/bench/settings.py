"""What a benchmark run measures and at which sizes (`BenchSettings`), with the targets."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Tuple

from amodal.errors import ConfigError, OutputWriteError

STAGES = ("decode", "stream", "offline", "threads", "profile", "memory", "training", "generator")

# Targets written beside the measurements (see docs/BENCHMARKS.md).
TARGET_OWN_FPS = 30.0  # streaming, own visible-mask network, up to 4 objects
TARGET_GIVEN_FPS = 100.0  # streaming, visible masks given, up to 4 objects
TARGET_MEMORY_GROWTH_MB = 50.0  # over 10,000 frames
TARGET_RECIPE_MINUTES = 30.0  # default recipe reaches its quality


@dataclass
class BenchSettings:
    """Sizes of one benchmark run.

    Attributes:
        out: the markdown report; plots go to `<out dir>/images/bench_*.png`, raw numbers to
            `<out dir>/benchmarks.json`.
        checkpoint: checkpoint measured (None: the shipped default, else a random model).
        config: YAML config of the random model used when there is no checkpoint.
        quick: smoke-run sizes (tiny videos, one repeat).
        repeats: runs per figure (the figure is their median).
        size: (W, H) of the test videos.
        objects: object counts of the streaming worlds.
        stream_frames: frames of each streaming test video.
        offline_frames: frames of the offline (bidirectional) runs.
        memory_frames: length of the long stream of the memory test.
        memory_every: RSS sample period (frames).
        memory_subprocess: run the memory test in a fresh process (clean RSS baseline).
        memory_threads: torch threads of the memory test (it measures memory, not speed; 1 thread
            keeps 10,000 frames short on a shared machine).
        train_steps: optimizer steps per training-throughput run.
        train_videos / train_frames: size of the generated training set.
        gen_videos / gen_frames: size of each generator-throughput run.
        train_log: the training run folders (or log.jsonl files) of the recipe's stages, in order
            (time for the recipe to reach its quality); empty: not measured.
        stages: stages to run (subset of STAGES).
        threads: torch intra-op threads.
        work_dir: a new sub-folder of it keeps the generated videos (None: a temporary folder, removed after).
        seed: seed of the generated worlds.
        progress: print progress lines.
    """

    out: Path = Path("docs/BENCHMARKS.md")
    checkpoint: Optional[Path] = None
    config: Optional[Path] = None
    quick: bool = False
    repeats: int = 3
    size: Tuple[int, int] = (320, 240)
    objects: Tuple[int, ...] = (2, 4, 8)
    stream_frames: int = 300
    offline_frames: int = 100
    memory_frames: int = 10000
    memory_every: int = 250
    memory_subprocess: bool = True
    memory_threads: int = 1
    train_steps: int = 12
    train_videos: int = 6
    train_frames: int = 16
    gen_videos: int = 4
    gen_frames: int = 32
    train_log: Tuple[Path, ...] = ()
    stages: Tuple[str, ...] = field(default_factory=lambda: STAGES)
    threads: int = 2
    work_dir: Optional[Path] = None
    seed: int = 7
    progress: bool = True

    @classmethod
    def quick_defaults(cls, **overrides) -> "BenchSettings":
        """Tiny sizes for a smoke run (tests): seconds, not minutes. Overrides win."""
        values = dict(quick=True, repeats=1, size=(96, 72), objects=(2, 4), stream_frames=8, offline_frames=6,
                      memory_frames=60, memory_every=20, memory_subprocess=False, train_steps=3, train_videos=2,
                      train_frames=6, gen_videos=2, gen_frames=3)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values).validated()

    def validated(self) -> "BenchSettings":
        """Check ranges; raise ConfigError naming the option."""
        checks = (("repeats", 1), ("stream_frames", 3), ("offline_frames", 2), ("memory_frames", 2),
                  ("memory_every", 1), ("memory_threads", 1), ("train_steps", 2), ("train_videos", 1), ("train_frames", 3),
                  ("gen_videos", 1), ("gen_frames", 1), ("threads", 1))
        for name, low in checks:
            if int(getattr(self, name)) < low:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= {low}, got {getattr(self, name)}")
        if not self.stages:
            raise ConfigError(f"--stages: no stage given (choose from {', '.join(STAGES)})")
        unknown = [s for s in self.stages if s not in STAGES]
        if unknown:
            raise ConfigError(f"unknown benchmark stage(s) {', '.join(unknown)} (choose from {', '.join(STAGES)})")
        if not self.objects or any(n < 1 for n in self.objects):
            raise ConfigError(f"object counts must be >= 1, got {self.objects}")
        if self.size[0] < 32 or self.size[1] < 32:
            raise ConfigError(f"video size must be at least 32x32, got {self.size[0]}x{self.size[1]}")
        if self.checkpoint is not None and not Path(self.checkpoint).is_file():
            raise ConfigError(f"--checkpoint {self.checkpoint}: no such file")
        if self.config is not None and not Path(self.config).is_file():
            raise ConfigError(f"--config {self.config}: no such file")
        if self.work_dir is not None and Path(self.work_dir).exists() and not Path(self.work_dir).is_dir():
            raise ConfigError(f"--work-dir {self.work_dir}: exists and is not a folder")
        for p in self.train_log:
            if not Path(p).exists():
                raise ConfigError(f"--train-log {p}: no such file or folder")
        check_out(Path(self.out))
        return self

    @property
    def out_dir(self) -> Path:
        return Path(self.out).parent

    @property
    def images_dir(self) -> Path:
        return self.out_dir / "images"

    @property
    def json_path(self) -> Path:
        return self.out_dir / "benchmarks.json"


def _nearest_existing(path: Path) -> Path:
    """`path` or its nearest ancestor that exists."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_out(out: Path) -> None:
    """Refuse a report path that is a folder or whose folder cannot be written (before any stage runs).

    Raises:
        OutputWriteError: one line naming --out.
    """
    if out.is_dir():
        raise OutputWriteError(f"--out {out}: is a folder; give the report's file path, e.g. {out / 'BENCHMARKS.md'}")
    if (out.parent / "benchmarks.json").is_dir():
        raise OutputWriteError(f"--out {out}: {out.parent / 'benchmarks.json'} beside it is a folder")
    images = out.parent / "images"
    if images.exists() and not images.is_dir():
        raise OutputWriteError(f"--out {out}: the plots' folder {images} exists and is not a folder")
    folder = _nearest_existing(out.parent)
    if not folder.is_dir():
        raise OutputWriteError(f"--out {out}: {folder} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=folder):  # the real test (permissions, read-only file system)
            pass
    except OSError as exc:
        raise OutputWriteError(f"--out {out}: cannot write in {folder} ({exc.strerror or exc})") from None
