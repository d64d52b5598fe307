"""Object churn of the memory test and the exact-object-count worlds."""
import numpy as np

from amodal.bench.memory import LOOP_ID_STRIDE, churn
from amodal.bench.worlds import world_config


def test_churn_objects_come_and_go():
    masks = {1: np.ones((4, 4), bool), 2: np.ones((4, 4), bool), 3: np.ones((4, 4), bool)}
    seen = [churn(masks, t, 0) for t in range(80)]
    for oid in masks:
        present = [oid in s for s in seen]
        assert any(present) and not all(present)
    absent_1 = sum(1 not in s for s in seen)
    absent_2 = sum(2 not in s for s in seen)
    assert absent_1 < 30 < absent_2  # one short absence (memory kept), one longer than max_lost
    later = churn(masks, 79, 3)
    assert all(k > 3 * LOOP_ID_STRIDE for k in later)


def test_world_config_has_exactly_n_objects():
    cfg = world_config(8, 5, (64, 48))
    assert cfg.objects.count == [8, 8] and cfg.occluders.count == [0, 0]
    assert (cfg.width, cfg.height, cfg.frames) == (64, 48, 5)
    assert cfg.objects.enter_prob == 0.0 and cfg.camera.prob == 0.0
