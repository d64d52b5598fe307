"""Copy a checkpoint with other decoding thresholds (weights untouched).

Decoding thresholds (the visible-mask network's `model.visible.score_threshold`,
`center_threshold`, ..., and the amodal decision `model.completion.threshold`) do not change
training, so they can be chosen on the validation split after training and written into the
checkpoint's config, which is what inference reads.

    python tools/set_decoding.py IN.pt OUT.pt model.visible.score_threshold=0.3 [...]

Only the decoding keys below may be set; anything else is refused (it would no longer describe
the weights). OUT is written atomically and must differ from IN.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List

from amodal.config import DECODING_KEYS, apply_overrides, config_from_dict, config_to_dict
from amodal.engine.checkpoint import load_checkpoint, write_checkpoint
from amodal.errors import AmodalError, ConfigError
from amodal.models.build import build_model


def set_decoding(src: Path, dst: Path, overrides: List[str]) -> None:
    """Write `dst`: the checkpoint `src` with decoding `key=value` overrides applied to its config."""
    if src.resolve() == dst.resolve():
        raise ConfigError("the output must be another file than the input checkpoint")
    allowed = {f"model.{part}.{k}" for part, keys in DECODING_KEYS.items() for k in keys}
    for item in overrides:
        if item.split("=", 1)[0] not in allowed:
            raise ConfigError(f"{item!r}: only decoding keys can be set ({', '.join(sorted(allowed))})")
    ckpt = load_checkpoint(src)
    values = apply_overrides(ckpt["config"], overrides)
    cfg = config_from_dict(values)  # validates types and names
    build_model(cfg)  # validates the ranges the networks check (e.g. a threshold that is no probability)
    ckpt["config"] = config_to_dict(cfg)
    write_checkpoint(dst, ckpt)


def main(argv: List[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        set_decoding(Path(argv[0]), Path(argv[1]), argv[2:])
    except AmodalError as exc:
        print(f"set_decoding: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
