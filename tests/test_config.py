"""amodal.config: --set values, typed as the config's fields."""
from pathlib import Path

import pytest

from amodal.config import load_config
from amodal.errors import ConfigError

TINY = str(Path(__file__).resolve().parents[1] / "configs" / "tiny.yaml")


def test_numbers_in_exponent_form_are_numbers():
    # YAML 1.1 reads 3e-4 (no dot) as text; a float key takes it as the number it spells
    cfg = load_config(TINY, ["train.lr=3e-4", "model.completion.threshold=4e-1", "train.loss_weights.anchor=1e-2",
                             "train.weight_decay=1"])
    assert cfg.train.lr == pytest.approx(3e-4) and cfg.model.completion.threshold == pytest.approx(0.4)
    assert cfg.train.loss_weights["anchor"] == pytest.approx(0.01) and cfg.train.weight_decay == 1.0
    assert isinstance(cfg.train.weight_decay, float)


@pytest.mark.parametrize("item", ["train.lr=abc", "train.lr=nan", "train.lr=true", "train.lr=[1]",
                                  "train.loss_weights.anchor=x"])
def test_a_float_key_refuses_what_is_no_finite_number(item):
    with pytest.raises(ConfigError, match=rf"config key '{item.split('=')[0]}' must be a number"):
        load_config(TINY, [item])


def test_amodal_train_with_an_exponent_learning_rate_runs_and_a_bad_one_is_one_line(tmp_path, capsys):
    from amodal.cli.main import main
    from amodal_fixtures import make_dataset

    data = make_dataset(tmp_path / "d", videos=1, frames=4)
    base = ["train", "--config", TINY, "--set", f"data.train={data}", "--set", "data.val=\"\"", "--set", "train.steps=1",
            "--quiet"]
    assert main(base + ["--out", str(tmp_path / "a"), "--set", "train.lr=3e-4"]) == 0
    assert main(base + ["--out", str(tmp_path / "b"), "--set", "train.lr=abc"]) == 2
    err = capsys.readouterr().err
    assert "must be a number" in err and "Traceback" not in err
    assert not (tmp_path / "b").exists()  # refused before the run folder: the same command can run again
