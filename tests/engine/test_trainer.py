"""Training: a few-step smoke run (checkpoint, log, config), exact resume, NaN stop, run-folder safety."""
import json
from pathlib import Path

import pytest
import torch
import yaml

from amodal.config import load_config
from amodal.engine.checkpoint import load_checkpoint
from amodal.engine.trainer import learning_rate, train
from amodal.errors import CheckpointError, ConfigError, OutputExistsError, TrainingError
from amodal_fixtures import make_dataset

TINY = str(Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return make_dataset(root / "d", videos=2, frames=5)


def _cfg(data, **over):
    sets = [f"data.train={data}", f"data.val={data}"] + [f"{k}={v}" for k, v in over.items()]
    return load_config(TINY, sets)


def test_smoke_run_writes_checkpoint_log_config(tmp_path, data):
    res = train(_cfg(data), str(tmp_path / "run"), show_progress=False)
    run = tmp_path / "run"
    assert res["step"] == 4
    for name in ("last.pt", "model.pt", "config.yaml", "log.jsonl", "val.json"):
        assert (run / name).is_file(), name
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["kind"] == "train"] == [1, 2, 3, 4]
    assert {"total", "visible_fit", "next_visible"} <= set(records[0])
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["steps"] == 4
    val = json.loads((run / "val.json").read_text())
    assert 0.0 <= val["full_miou"] <= 1.0
    assert load_checkpoint(run / "last.pt")["step"] == 4
    with pytest.raises(OutputExistsError):
        train(_cfg(data), str(run), show_progress=False)


def test_resume_equals_uninterrupted(tmp_path, data, capsys):
    cfg = _cfg(data, **{"train.val_every": 0})
    straight = train(cfg, str(tmp_path / "a"), show_progress=False)["model"]
    train(cfg, str(tmp_path / "b"), stop_after=2, show_progress=False)
    assert load_checkpoint(tmp_path / "b" / "last.pt")["step"] == 2
    resumed = train(cfg, str(tmp_path / "b"), resume=True, show_progress=False)["model"]
    for (k, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), k
    assert "changed settings" not in capsys.readouterr().err


def test_resuming_with_other_settings_says_which(tmp_path, data, capsys):
    train(_cfg(data, **{"train.val_every": 0}), str(tmp_path / "r"), stop_after=2, show_progress=False)
    more = _cfg(data, **{"train.val_every": 0, "train.steps": 6, "train.loss_weights.next_visible": 2.0})
    assert train(more, str(tmp_path / "r"), resume=True, show_progress=False)["step"] == 6
    err = capsys.readouterr().err
    assert "resuming" in err and "at step 2 with changed settings" in err
    assert "train.steps 4 -> 6" in err and "train.loss_weights {} -> {'next_visible': 2.0}" in err
    assert "model." not in err and "data." not in err  # only what changed


def test_periodic_validation_does_not_change_the_weights(tmp_path, data):
    # the recipe's later stage-1b rounds run with train.val_every=0 (docs/TRAINING.md)
    validated = train(_cfg(data, **{"train.val_every": 1}), str(tmp_path / "a"), show_progress=False)["model"]
    assert (tmp_path / "a" / "val.json").is_file()
    silent = train(_cfg(data, **{"train.val_every": 0}), str(tmp_path / "b"), show_progress=False)["model"]
    assert not (tmp_path / "b" / "val.json").exists()
    for (k, a), (_, b) in zip(validated.state_dict().items(), silent.state_dict().items()):
        assert torch.equal(a, b), k


def test_nan_loss_stops_with_step(tmp_path, data, monkeypatch):
    import amodal.losses as losses

    real = losses.compute_losses
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        out = real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 3:
            out["total"] = out["total"] * float("nan")
        return out

    monkeypatch.setattr(losses, "compute_losses", poisoned)
    with pytest.raises(TrainingError, match="step 2"):
        train(_cfg(data), str(tmp_path / "run"), show_progress=False)
    assert load_checkpoint(tmp_path / "run" / "last.pt")["step"] == 2


def test_learning_rate_schedule():
    cfg = load_config(TINY, ["train.steps=1000", "train.lr=0.01"])
    assert learning_rate(cfg, 0) < learning_rate(cfg, 49) <= 0.01
    assert abs(learning_rate(cfg, 999) - 0.0005) < 1e-4


def test_init_starts_from_checkpoint_and_zero_weights_freeze_completion(tmp_path, data):
    """A recipe stage: train.init loads an earlier stage's weights; with every completion loss
    weight at 0 only the visible net changes."""
    first = train(_cfg(data, **{"train.val_every": 0, "model.visible.enabled": "true"}), str(tmp_path / "a"),
                  show_progress=False)["model"]
    zero = {f"train.loss_weights.{k}": 0.0 for k in ("visible_fit", "occluder_synthesis", "next_visible",
                                                     "temporal_consistency")}
    cfg = _cfg(data, **{"train.val_every": 0, "model.visible.enabled": "true",
                        "train.init": str(tmp_path / "a" / "model.pt"), **zero})
    second = train(cfg, str(tmp_path / "b"), show_progress=False)["model"]
    for (k, a), (_, b) in zip(first.completion.state_dict().items(), second.completion.state_dict().items()):
        assert torch.equal(a, b), k
    changed = [k for (k, a), (_, b) in zip(first.visible.state_dict().items(), second.visible.state_dict().items())
               if a.dtype.is_floating_point and not torch.equal(a, b)]
    assert changed


def test_init_parts_loads_only_the_named_networks(tmp_path, data):
    """The recipe's stage 2: the completion net comes from a stage without a visible net, and a
    visible net of another width starts from scratch."""
    first = train(_cfg(data, **{"train.val_every": 0}), str(tmp_path / "a"), show_progress=False)["model"]
    assert first.visible is None
    sets = {"train.val_every": 0, "model.visible.enabled": "true", "model.visible.width": 6,
            "train.init": str(tmp_path / "a" / "model.pt"), "train.steps": 1}
    cfg = _cfg(data, **sets, **{"train.init_parts": "[completion]", "train.lr": 0.0})
    second = train(cfg, str(tmp_path / "b"), show_progress=False)["model"]
    for (k, a), (_, b) in zip(first.completion.state_dict().items(), second.completion.state_dict().items()):
        if a.dtype.is_floating_point and "running" not in k:
            assert torch.equal(a, b), k
    with pytest.raises(CheckpointError, match="no 'visible' network"):  # default: both networks
        train(_cfg(data, **sets), str(tmp_path / "c"), show_progress=False)


@pytest.mark.parametrize("parts, message", [("[]", "distinct networks"), ("[visible, visible]", "distinct"),
                                            ("[head]", "among visible, completion"),
                                            ("[visible]", "visible.enabled is false")])
def test_init_parts_rejects_bad_lists(tmp_path, data, parts, message):
    with pytest.raises(ConfigError, match=message):
        train(_cfg(data, **{"train.init_parts": parts, "train.init": str(tmp_path / "earlier.pt")}),
              str(tmp_path / "run"), show_progress=False)


def test_a_motion_visible_net_trains_on_pairs_of_frames(tmp_path, data):
    sets = {"train.val_every": 0, "model.visible.enabled": "true", "model.visible.width": 6,
            "model.visible.motion": "true", "train.steps": 2}
    res = train(_cfg(data, **sets, **{"data.clip_length": 2}), str(tmp_path / "a"), show_progress=False)
    assert res["model"].visible.in_channels == 6
    assert load_checkpoint(tmp_path / "a" / "model.pt")["config"]["model"]["visible"]["motion"] is True
    with pytest.raises(ConfigError, match="data.clip_length must be >= 2"):
        train(_cfg(data, **sets, **{"data.clip_length": 1}), str(tmp_path / "b"), show_progress=False)


@pytest.mark.parametrize("key, value", [("model.completion.threshold", 1.0), ("model.completion.crop_size", 20),
                                        ("train.occluder_front", 1.5), ("train.occluder_front", -0.1)])
def test_values_the_networks_refuse_are_config_errors(tmp_path, data, key, value):
    with pytest.raises(ConfigError, match=key):
        train(_cfg(data, **{key: value}), str(tmp_path / "run"), show_progress=False)


def test_a_visible_only_stage_does_not_depend_on_the_completion_weights_it_carries(tmp_path, data):
    """The shipped recipe's stage 2 trains the visible net with the completion terms at weight 0: its
    visible weights are bit for bit the same whatever completion net stage 1 left, and that completion
    net passes through untouched (so a new stage 1 + the old stage 2's visible net = a full rerun)."""
    zero = {f"train.loss_weights.{k}": 0.0 for k in ("visible_fit", "occluder_synthesis", "next_visible",
                                                    "temporal_consistency")}
    stage2 = []
    for seed in (0, 1):
        first = train(_cfg(data, **{"train.val_every": 0, "train.seed": seed}), str(tmp_path / f"s1_{seed}"),
                      show_progress=False)["model"]
        sets = {"train.val_every": 0, "model.visible.enabled": "true", "model.visible.width": 6, "train.steps": 3,
                "train.init": str(tmp_path / f"s1_{seed}" / "model.pt"), "train.init_parts": "[completion]", **zero}
        second = train(_cfg(data, **sets), str(tmp_path / f"s2_{seed}"), show_progress=False)["model"]
        for (k, a), b in zip(first.completion.state_dict().items(), second.completion.state_dict().values()):
            assert torch.equal(a, b), k
        stage2.append(second)
    a, b = (m.completion.state_dict() for m in stage2)
    assert any(not torch.equal(a[k], b[k]) for k in a)  # two different completion nets ...
    a, b = (m.visible.state_dict() for m in stage2)
    assert all(torch.equal(a[k], b[k]) for k in a)  # ... one visible net


@pytest.mark.parametrize("error, why", [(EOFError(), "EOFError"),
                                        (ConnectionResetError("Connection reset by peer\nmore"), "Connection reset by peer")])
def test_a_worker_lost_mid_send_is_a_training_error_even_without_a_message(tmp_path, data, monkeypatch, error, why):
    import amodal.engine.trainer as trainer

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(trainer, "_train", broken)
    with pytest.raises(TrainingError, match=rf"worker died \({why}\); the last good checkpoint is none"):
        train(_cfg(data), str(tmp_path / "run"), show_progress=False)


def test_future_teacher_needs_a_starting_network(tmp_path, data):
    with pytest.raises(ConfigError, match="future_teacher needs train.init"):
        train(_cfg(data, **{"train.loss_weights.future_teacher": 1.0}), str(tmp_path / "r"), show_progress=False)


def test_future_teacher_is_the_starting_network_also_after_a_resume(tmp_path, data):
    """The term is logged, and a resumed run equals an uninterrupted one: the teacher is `train.init`'s
    completion network, not the weights the run resumes from."""
    train(_cfg(data, **{"train.val_every": 0}), str(tmp_path / "start"), show_progress=False)
    cfg = _cfg(data, **{"train.val_every": 0, "train.init": str(tmp_path / "start" / "model.pt"),
                        "train.init_parts": "[completion]", "train.loss_weights.future_teacher": 1.0})
    straight = train(cfg, str(tmp_path / "a"), show_progress=False)["model"]
    records = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert all("future_teacher" in r for r in records if r["kind"] == "train")
    train(cfg, str(tmp_path / "b"), stop_after=2, show_progress=False)
    resumed = train(cfg, str(tmp_path / "b"), resume=True, show_progress=False)["model"]
    for (k, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), k


def test_every_loss_weight_zero_is_a_config_error_before_the_run_folder(tmp_path, data):
    zero = {f"train.loss_weights.{k}": 0.0 for k in ("visible_fit", "occluder_synthesis", "next_visible",
                                                    "temporal_consistency")}
    with pytest.raises(ConfigError, match="nothing to train"):
        train(_cfg(data, **zero), str(tmp_path / "run"), show_progress=False)
    assert not (tmp_path / "run").exists()
    vis_zero = {**zero, "model.visible.enabled": "true", "model.visible.width": 6,
                **{f"train.loss_weights.{k}": 0.0 for k in ("vis_fg", "vis_boundary", "vis_center", "vis_offset")}}
    with pytest.raises(ConfigError, match="nothing to train"):
        train(_cfg(data, **vis_zero), str(tmp_path / "run"), show_progress=False)


@pytest.mark.parametrize("main_process", [True, False])
def test_amodal_train_prints_its_result_once_under_torchrun(tmp_path, data, monkeypatch, capsys, main_process):
    import amodal.engine.trainer as trainer
    from amodal.cli.main import main

    monkeypatch.setattr(trainer, "train", lambda *a, **k: {"step": 3, "val": {}, "run_dir": "r", "model": None,
                                                           "main": main_process})
    assert main(["train", "--config", str(TINY), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert (json.loads(out) == {"step": 3, "val": {}, "run_dir": "r"}) if main_process else out == ""


def test_training_never_reads_the_amodal_masks_of_its_data(tmp_path, data):
    """data.train with amodal fields that cannot be read: the self-supervised run trains as on the
    same file without them (bit for bit), and only the supervised bound, which does read them, fails."""
    d = json.loads(Path(data).read_text())
    bare = json.loads(Path(data).read_text())
    for a, b in zip(d["annotations"], bare["annotations"]):
        a.update(amodal_segmentations="not masks", amodal_bboxes=[[1]], amodal_areas="none")
        for key in ("amodal_segmentations", "amodal_bboxes", "amodal_areas"):
            b.pop(key, None)
    canary, stripped = tmp_path / "canary.json", tmp_path / "stripped.json"
    canary.write_text(json.dumps(d))
    stripped.write_text(json.dumps(bare))
    for name in ("frames",):  # the frames are found beside the annotations
        (tmp_path / name).symlink_to(Path(data).parent / name)
    runs = [train(_cfg(data, **{"data.train": str(p), "train.val_every": 0}), str(tmp_path / p.stem), show_progress=False)
            for p in (canary, stripped)]
    a, b = (r["model"].state_dict() for r in runs)
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(Exception, match="amodal"):
        train(_cfg(data, **{"data.train": str(canary), "train.amodal_supervision": "true", "train.val_every": 0}),
              str(tmp_path / "sup"), show_progress=False)


def test_the_fine_tuning_config_without_data_is_refused_not_trained_from_scratch(tmp_path, data, capsys):
    """`amodal train --config configs/finetune.yaml` without --data once trained a new network from
    scratch, its anchor term silently dropped (no starting network to stay near)."""
    from amodal.cli.main import main

    finetune = str(Path(TINY).parent / "finetune.yaml")
    argv = ["train", "--config", finetune, "--out", str(tmp_path / "r"), "--quiet", "--set", f"data.train={data}",
            "--set", "train.steps=1", "--set", "data.val=\"\""]
    assert main(argv) == 2
    assert "amodal train --data" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
