"""Baseline training: 5-step smoke runs, determinism, no amodal ground truth, CLI errors."""
import json

import numpy as np
import pytest
import torch
from amodal_fixtures import load_tool, make_dataset, strip_amodal

from amodal.baselines.config import CONFIG_DIR, load_baseline_config
from amodal.baselines.pcnet_data import PCNetSampler
from amodal.baselines.savos_data import SaVosSampler
from amodal.data.format import load_dataset



def _tool():
    return load_tool("train_baseline")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("bl"), videos=3, frames=6, size=(64, 48), objects=3, seed=1)


@pytest.mark.parametrize("name", ["pcnet", "savos"])
def test_five_step_smoke_run(tmp_path, data, name):
    out = tmp_path / "run"
    rc = _tool().main([name, "--data", str(data), "--out", str(out), "--config",
                       str(CONFIG_DIR / f"tiny_{name}.yaml"), "--steps", "5", "--quiet"])
    assert rc == 0
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    train = [r for r in records if r["kind"] == "train"]
    assert [r["step"] for r in train] == [1, 2, 3, 4, 5]
    assert all(np.isfinite(r["total"]) for r in train)
    assert any(r["kind"] == "val" for r in records) and records[-1]["kind"] == "end"
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["model"] == name and ckpt["step"] == 5
    assert (out / "config.yaml").is_file()


def test_training_is_seeded(tmp_path, data):
    tool = _tool()
    states = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        assert tool.main(["pcnet", "--data", str(data), "--out", str(out), "--config",
                          str(CONFIG_DIR / "tiny_pcnet.yaml"), "--steps", "3", "--seed", "4", "--quiet"]) == 0
        states.append(torch.load(out / "checkpoint.pt", weights_only=True)["state_dict"])
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_training_loads_without_amodal_fields(tmp_path, data, monkeypatch):
    import amodal.data.format as fmt

    seen = []
    real = fmt.load_dataset

    def spy(*args, **kwargs):
        seen.append(kwargs.get("read_amodal"))
        return real(*args, **kwargs)

    monkeypatch.setattr(fmt, "load_dataset", spy)
    assert _tool().main(["pcnet", "--data", str(data), "--out", str(tmp_path / "r"), "--config",
                         str(CONFIG_DIR / "tiny_pcnet.yaml"), "--steps", "1", "--quiet"]) == 0
    assert seen == [False]


@pytest.mark.parametrize("name", ["pcnet", "savos"])
def test_batches_identical_without_amodal_fields(data, name):
    stripped = strip_amodal(data, data.parent / "no_amodal.json")
    cfg = load_baseline_config(name, CONFIG_DIR / f"tiny_{name}.yaml")
    batches = []
    for path, read_amodal in ((data, True), (stripped, False)):
        ds = load_dataset(path, read_amodal=read_amodal)
        ids = [v.id for v in ds.videos]
        sampler = (PCNetSampler if name == "pcnet" else SaVosSampler)(ds, ids, cfg.model, cfg.train)
        batches.append(sampler.batch(np.random.default_rng(0), 3))
    a, b = batches
    for field in a.__dataclass_fields__:
        assert torch.equal(getattr(a, field), getattr(b, field)), field


def test_cli_errors_are_one_line(tmp_path, capsys, data):
    tool = _tool()
    assert tool.main(["pcnet", "--data", str(tmp_path / "missing.json"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "missing.json" in err and "\n" not in err
    out = tmp_path / "full"
    out.mkdir()
    (out / "x").write_text("x")
    assert tool.main(["savos", "--data", str(data), "--out", str(out), "--steps", "1"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert tool.main(["pcnet", "--data", str(data), "--out", str(tmp_path / "o2"), "--set", "train.bogus=1"]) == 2
    assert "bogus" in capsys.readouterr().err
