"""Every config under configs/ loads (known keys, right types) and builds its model."""
from pathlib import Path

import pytest

import amodal

from amodal.config import config_from_dict, load_config
from amodal.models.build import build_model

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def _config(name: str):
    """The resolved config of configs/<name>."""
    return load_config(str(ROOT / "configs" / name))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_config_file_loads_and_builds(path):
    if path.name == "finetune.yaml":  # data/train/adapt sections only (amodal.adapt.settings reads it)
        from amodal.adapt.settings import finetune_config
        from amodal.config import Config

        assert finetune_config(Config(), str(path)).train.occluder_runs
        return
    cfg = load_config(str(path))
    model = build_model(cfg)
    assert (model.visible is not None) == cfg.model.visible.enabled
    if cfg.model.visible.enabled:
        v = cfg.model.visible
        assert model.visible.in_channels == 3 + 3 * v.motion + 2 * v.flow


def test_the_shipped_stage_2_trains_a_motion_network_on_clips_of_frames():
    cfg = _config("visible.yaml")
    assert cfg.model.visible.motion and cfg.data.clip_length >= 2


# Stage 1b's later rounds (docs/TRAINING.md, configs/default_more.yaml's header): round n starts from round n-1.
LATER_ROUNDS = [f"amodal train --config configs/default_more.yaml --out runs/default_more{n} --set train.init={init}"
                f" --set train.lr={lr} --set train.seed={n}{tail}"
                for n, init, lr, tail in ((2, "runs/default_more/model.pt", 0.0007, ""),
                                          (3, "runs/default_more2/model.pt", 0.0005, " --set train.val_every=0"),
                                          (4, "runs/default_more3/model.pt", 0.0003, " --set train.val_every=0"),
                                          (5, "runs/default_more4/model.pt", 0.0002, " --set train.val_every=0"))]


def test_stage_1b_trains_stage_1s_network_on_with_its_objective_and_stage_2_carries_it():
    import dataclasses

    stage1, more, stage2 = (_config(n) for n in ("default.yaml", "default_more.yaml", "visible.yaml"))
    assert more.train.init == stage1.train.out_dir + "/model.pt" and more.train.init_parts == ["completion"]
    assert dataclasses.asdict(more.model) == dataclasses.asdict(stage1.model)
    assert dataclasses.asdict(more.data) == dataclasses.asdict(stage1.data)
    assert more.train.loss_weights == stage1.train.loss_weights
    assert more.train.occluder_runs == stage1.train.occluder_runs
    outs = [more.train.out_dir]
    for command in LATER_ROUNDS:
        assert command in (ROOT / "docs" / "TRAINING.md").read_text()
        assert command in (ROOT / "configs" / "default_more.yaml").read_text()
        assert f" --set train.init={outs[-1]}/model.pt " in command  # from the round before
        outs.append(command.split(" --out ")[1].split()[0])
    assert stage2.train.init == outs[-1] + "/model.pt"  # stage 2 carries the last round


# The recipe's ship step (docs/TRAINING.md): tools/set_decoding.py on stage 3's model.pt with these.
SHIP_OVERRIDES = ["model.visible.flow_preset=medium_fast"]


def test_the_shipped_checkpoint_is_what_the_last_stage_of_the_recipe_describes():
    import dataclasses

    from amodal.config import apply_overrides, config_to_dict
    from amodal.engine.checkpoint import load_checkpoint

    stage3, stage2 = _config("visible_hqflow.yaml"), _config("visible.yaml")
    assert stage3.train.init == stage2.train.out_dir + "/model.pt"  # stage 3 fine-tunes stage 2
    recipe = config_from_dict(apply_overrides(config_to_dict(stage3), SHIP_OVERRIDES))
    assert "set_decoding.py runs/default_hqflow/model.pt amodal/weights/default.pt " + " ".join(SHIP_OVERRIDES) in \
        (ROOT / "docs" / "TRAINING.md").read_text()
    # resolved as loading does: keys added since the checkpoint was written take their defaults
    shipped = config_from_dict(load_checkpoint(Path(amodal.__file__).parent / "weights" / "default.pt")["config"])
    assert dataclasses.asdict(shipped.model.visible) == dataclasses.asdict(recipe.model.visible)
    assert dataclasses.asdict(shipped.model.completion) == dataclasses.asdict(recipe.model.completion)
