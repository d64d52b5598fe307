"""Copy a checkpoint with one of its networks taken from another checkpoint.

    python tools/take_network.py BASE.pt DONOR.pt OUT.pt --part completion

OUT is BASE (its config, its other network, its decoding thresholds) with every `<part>.*` tensor
replaced by DONOR's. The two checkpoints must hold the same architecture for that network (same
keys and shapes, and the same `model.<part>` config apart from decoding keys); anything else is
refused. OUT is written atomically and must differ from both inputs.

Why: the shipped recipe's stage 2 trains the visible-mask network with the completion terms at
weight 0, so its visible weights do not depend on stage 1 (tests/engine/test_trainer.py). After a
change to stage 1 alone, `take_network.py STAGE2.pt NEW_STAGE1.pt OUT.pt --part completion` writes
what rerunning stage 2 would (docs/TRAINING.md).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List

from amodal.config import DECODING_KEYS, config_from_dict, config_to_dict
from amodal.engine.checkpoint import load_checkpoint, write_checkpoint
from amodal.errors import AmodalError, ConfigError

PARTS = tuple(DECODING_KEYS)  # the networks: visible, completion


def take_network(base: Path, donor: Path, out: Path, part: str) -> int:
    """Write `out` = `base` with `part`'s tensors from `donor`; returns the number of tensors replaced."""
    if part not in PARTS:
        raise ConfigError(f"--part must be one of {', '.join(PARTS)}, got {part!r}")
    if out.resolve() in (base.resolve(), donor.resolve()):
        raise ConfigError("the output must be another file than both input checkpoints")
    a, b = load_checkpoint(base), load_checkpoint(donor)
    cfg_a, cfg_b = (config_to_dict(config_from_dict(c["config"]))["model"][part] for c in (a, b))
    differ = sorted(k for k in set(cfg_a) | set(cfg_b) if k not in DECODING_KEYS[part] and cfg_a.get(k) != cfg_b.get(k))
    if differ:
        raise ConfigError(f"model.{part} differs between {base} and {donor}: {', '.join(differ)}")
    prefix = part + "."
    keys_a = {k for k in a["model"] if k.startswith(prefix)}
    keys_b = {k for k in b["model"] if k.startswith(prefix)}
    if not keys_a or keys_a != keys_b:
        raise ConfigError(f"{base} and {donor} do not hold the same '{part}' network "
                          f"({len(keys_a)} and {len(keys_b)} tensors, {len(keys_a ^ keys_b)} names differ)")
    bad = [k for k in keys_a if a["model"][k].shape != b["model"][k].shape]
    if bad:
        raise ConfigError(f"'{part}' tensors of other shapes in {donor}: {', '.join(sorted(bad)[:3])}")
    for k in keys_a:
        a["model"][k] = b["model"][k]
    a["config"] = config_to_dict(config_from_dict(a["config"]))
    a["optimizer"] = None  # the base's optimizer state no longer matches its weights
    write_checkpoint(out, a)
    return len(keys_a)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("donor", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--part", required=True, choices=PARTS)
    args = parser.parse_args(argv)
    try:
        n = take_network(args.base, args.donor, args.out, args.part)
    except AmodalError as exc:
        print(f"take_network: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: {n} '{args.part}' tensors from {args.donor}, the rest from {args.base}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
