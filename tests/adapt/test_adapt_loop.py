"""The bounded adaptation loop: held-back split, early stop restoring the best weights, frozen parts."""
import copy
from pathlib import Path

import pytest
import torch

from amodal.adapt.adapter import adapt_model, pick_evenly, split_clips
from amodal.adapt.settings import finetune_config
from amodal.config import load_config
from amodal.errors import InputError
from amodal.models.build import build_model
from amodal_fixtures import make_dataset

TINY = str(Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml")
FAST = ["data.clip_length=3", "data.max_objects=3", "train.val_every=2", "adapt.max_val_clips=2"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("adapt") / "d", videos=1, frames=12, size=(64, 48))


def _model(visible=False):
    sets = ["model.visible.enabled=true", "model.visible.width=4", "model.visible.input_height=48",
            "model.visible.input_width=64"] if visible else []
    cfg = load_config(TINY, sets)
    torch.manual_seed(0)
    return build_model(cfg), cfg


def _same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_split_keeps_the_end_of_each_video_and_never_straddles():
    items = [(1, s) for s in range(10 - 3 + 1)] + [(2, s) for s in range(4 - 3 + 1)]
    train, val = split_clips(items, {1: 10, 2: 4}, span=3, holdout=0.2)
    # video 1: last 3 frames (7, 8, 9) held back; video 2 is too short to split: training only.
    assert [items[i] for i in val] == [(1, 7)]
    assert [items[i] for i in train] == [(1, s) for s in range(5)] + [(2, 0), (2, 1)]
    assert pick_evenly(list(range(10)), 3) == [0, 4, 9] and pick_evenly([4, 5], 8) == [4, 5]


def test_improving_run_keeps_best_and_reports(data):
    model, base = _model()
    cfg = finetune_config(base, None, FAST + ["train.steps=4", "train.lr=0.003"])
    rep = adapt_model(model, cfg, data)
    assert rep.steps_run == 4 and not rep.stopped_early and rep.stop_reason == "steps"
    assert [h["step"] for h in rep.history] == [0, 2, 4]
    assert rep.loss_after == min(h["val_loss"] for h in rep.history) <= rep.loss_before
    assert rep.val_clips == 1 and rep.train_clips > 0 and rep.seconds > 0
    assert not model.training


def test_worsening_held_back_loss_stops_early_and_restores_best(data):
    model, base = _model()
    original = copy.deepcopy(model)
    cfg = finetune_config(base, None, FAST + ["train.steps=40", "train.lr=50.0", "train.val_every=1",
                                              "adapt.patience=2", "adapt.freeze_batchnorm=false"])
    rep = adapt_model(model, cfg, data)
    assert rep.stopped_early and rep.stop_reason in ("patience", "non-finite loss")
    assert rep.steps_run < 40
    assert rep.best_step == 0 and rep.loss_after == rep.loss_before
    assert not rep.loss_final < rep.loss_before  # it did get worse
    assert _same(model, original)  # the better (starting) weights are back, BN statistics included


def test_visible_net_frozen_completion_trained(data):
    model, base = _model(visible=True)
    before = copy.deepcopy(model)
    cfg = finetune_config(base, None, FAST + ["train.steps=2", "adapt.patience=5"])
    rep = adapt_model(model, cfg, data)
    assert rep.best_step == 2  # the held-back loss went down: the trained weights are kept
    assert _same(model.visible, before.visible)  # weights and BN statistics of the visible net untouched
    assert not _same(model.completion, before.completion)


def test_too_short_video_is_refused(tmp_path):
    short = make_dataset(tmp_path / "s", videos=1, frames=5, size=(64, 48))
    model, base = _model()
    with pytest.raises(InputError, match="at least 6 frames"):
        adapt_model(model, finetune_config(base, None, FAST), short)


@pytest.mark.parametrize("term", ["anchor", "future_teacher"])
def test_a_term_of_the_starting_network_changes_training_but_not_the_held_back_loss(data, term):
    """The anchor and the future teacher (both the frozen starting network) are training terms only: the
    held-back loss of the start is the same with or without them."""
    runs = {}
    for w in (0.0, 5.0):
        model, base = _model()
        cfg = finetune_config(base, None, FAST + ["train.steps=2", f"train.loss_weights.{term}={w}",
                                                  "train.lr=0.01"])
        runs[w] = (adapt_model(model, cfg, data), model)
    assert runs[0.0][0].loss_before == runs[5.0][0].loss_before
    assert all(term not in h for h in runs[5.0][0].history)
    assert not _same(runs[0.0][1].completion, runs[5.0][1].completion)
