"""Two CPU processes (gloo, DistributedDataParallel) end with identical weights."""
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from amodal_fixtures import make_dataset


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, world, port, data, out, result_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from amodal.config import load_config
    from amodal.engine.trainer import train

    tiny = Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml"
    cfg = load_config(str(tiny), [f"data.train={data}", f"data.val={data}", "train.steps=3", "train.val_every=0"])
    res = train(cfg, out, device="cpu", show_progress=False)
    torch.save(res["model"].state_dict(), os.path.join(result_dir, f"rank{rank}.pt"))


@pytest.mark.slow
def test_two_ranks_identical_weights(tmp_path):
    data = make_dataset(tmp_path / "d", videos=2, frames=5)
    from amodal.data.clips import ClipDataset

    ClipDataset(data, clip_length=3, augment=False)  # motion cache computed once, before the ranks start
    mp.spawn(_worker, args=(2, _free_port(), str(data), str(tmp_path / "run"), str(tmp_path)), nprocs=2, join=True)
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert (tmp_path / "run" / "last.pt").is_file()
