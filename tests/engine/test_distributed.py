"""Two CPU processes (gloo, DistributedDataParallel, the environment torchrun sets) end with identical weights.

Both shapes of the recipe's stages: the completion net trained alone, and a visible-net stage that
carries a completion net it never runs (its loss terms at weight 0), where DDP must not wait for
the carried net's gradients and must leave it as it was.
"""
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from amodal_fixtures import make_dataset

TINY = Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml"
COMPLETION_TERMS = ("visible_fit", "occluder_synthesis", "next_visible", "temporal_consistency")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sets(data, stage, init):
    sets = [f"data.train={data}", f"data.val={data}", "train.steps=3", "train.val_every=0"]
    if stage == "visible":
        sets += ["model.visible.enabled=true", "model.visible.width=6", f"train.init={init}",
                 "train.init_parts=[completion]"] + [f"train.loss_weights.{k}=0.0" for k in COMPLETION_TERMS]
    return sets


def _worker(rank, world, port, sets, out, result_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from amodal.config import load_config
    from amodal.engine.trainer import train

    res = train(load_config(str(TINY), sets), out, device="cpu", show_progress=False)
    assert res["main"] == (rank == 0)
    torch.save(res["model"].state_dict(), os.path.join(result_dir, f"rank{rank}.pt"))


@pytest.mark.parametrize("stage", ["completion", "visible"])
def test_two_ranks_identical_weights(tmp_path, stage):
    from amodal.config import load_config
    from amodal.data.clips import ClipDataset
    from amodal.engine.trainer import train
    from amodal.models.build import build_model

    data = make_dataset(tmp_path / "d", videos=2, frames=5)
    ClipDataset(data, clip_length=3, augment=False)  # motion cache computed once, before the ranks start
    init = tmp_path / "stage1" / "model.pt"
    if stage == "visible":
        train(load_config(str(TINY), _sets(data, "completion", None)), str(tmp_path / "stage1"), show_progress=False)
    sets = _sets(data, stage, init)
    mp.spawn(_worker, args=(2, _free_port(), sets, str(tmp_path / "run"), str(tmp_path)), nprocs=2, join=True)
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert (tmp_path / "run" / "last.pt").is_file()
    cfg = load_config(str(TINY), sets)
    torch.manual_seed(cfg.train.seed)
    start = build_model(cfg).state_dict()  # what both ranks started from (before train.init)
    trained = "visible." if stage == "visible" else "completion."
    assert any(not torch.equal(a[k], start[k]) for k in a if k.startswith(trained))  # the steps did train
    if stage == "visible":  # the carried completion net is the one stage 1 left, bit for bit
        carried = torch.load(init, weights_only=True)["model"]
        for k in a:
            if k.startswith("completion."):
                assert torch.equal(a[k], carried[k]), k
