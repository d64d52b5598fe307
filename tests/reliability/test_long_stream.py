"""A 10,000-frame stream with objects appearing, disappearing and reappearing keeps a bounded
state (memories, entries, Python objects) and the caller's identities."""
import gc

import numpy as np
import pytest
import torch

from amodal.config import load_config
from amodal.inference.session import AmodalSession
from amodal.models.build import build_model


def _masks(t: int, h: int, w: int):
    """Three objects on periodic schedules: each is absent for a while, then comes back."""
    out = {}
    for k, (period, absent) in enumerate([(50, 10), (230, 90), (1000, 400)], start=1):
        if t % period < period - absent:
            m = np.zeros((h, w), bool)
            x = 4 + (t * (k + 1)) % (w - 20)
            m[8 + 6 * k: 20 + 6 * k, x: x + 12] = True
            out[k if t < 5000 else k + 10] = m  # ids change half-way: old ones must be forgotten
    return out


@pytest.mark.slow
def test_ten_thousand_frames_bounded_state():
    cfg = load_config(None, ["model.visible.enabled=false", "model.completion.crop_size=32",
                             "model.completion.width=8"])
    torch.manual_seed(0)  # the random head's predictions decide which hidden objects are reported
    session = AmodalSession(build_model(cfg).eval(), max_lost=30)
    rng = np.random.default_rng(0)
    h, w = 48, 64
    frame = (rng.random((h, w, 3)) * 255).astype(np.uint8)
    counts = []
    for t in range(10_000):
        given = _masks(t, h, w)
        r = session.step(frame, visible_masks=given)
        assert set(given) <= set(r.object_ids)  # identities are the caller's; the others are wholly hidden ones
        for i, k in enumerate(r.object_ids):
            assert k in given or (not r.visible[i].any() and r.amodal[i].any())
        assert all((a >= v).all() for a, v in zip(r.amodal, r.visible))
        assert session.num_memories <= 2 * session.max_objects
        if t % 1000 == 999:
            gc.collect()
            counts.append(len(gc.get_objects()))
    assert session.num_memories <= 3 + 3  # only recently seen objects keep a memory
    assert max(counts[1:]) - min(counts[1:]) < 2000, counts  # no growth of live Python objects
