"""Detector: network, motion and network+motion instances; the fusion's rules; config checks."""
import numpy as np
import pytest

from amodal.config import Config
from amodal.errors import ConfigError
from amodal.models.build import build_model
from amodal.models.detector import MOTION_SCORE, Detector, check_detector, fuse_motion
from amodal.models.instances import Instance
from amodal_fixtures import panning_scene


def _box(y0, y1, x0, x1, shape=(40, 40)):
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


def _disjoint(instances):
    total = np.sum([x.mask.astype(int) for x in instances], axis=0)
    return total.max() <= 1


def test_unsure_pieces_in_a_moving_region_become_one_instance():
    region = _box(5, 35, 5, 25)
    pieces = [Instance(_box(5, 15, 5, 25), 0.45), Instance(_box(20, 30, 5, 25), 0.5)]
    elsewhere = Instance(_box(0, 10, 30, 40), 0.9)
    out = fuse_motion(pieces + [elsewhere], [region], confident=0.6, min_area=10)
    assert len(out) == 2 and out[0] is elsewhere
    assert np.array_equal(out[1].mask, region) and out[1].score == 0.5
    assert _disjoint(out)


def test_a_sure_instance_keeps_the_network_partition():
    region = _box(5, 35, 5, 35)
    a, b = Instance(_box(5, 35, 5, 20), 0.8), Instance(_box(5, 35, 20, 35), 0.5)  # two touching movers
    out = fuse_motion([a, b], [region], confident=0.6, min_area=10)
    assert out == [a, b]


def test_a_moving_region_without_instances_is_added_without_stealing_pixels():
    region = _box(10, 30, 10, 30)
    outside = Instance(_box(0, 15, 0, 40), 0.9)  # a third of it lies in the region, most outside
    out = fuse_motion([outside], [region], confident=0.95, min_area=10)
    assert len(out) == 2 and out[0] is outside and out[0].mask.sum() == 15 * 40
    assert out[1].score == MOTION_SCORE and np.array_equal(out[1].mask, region & ~outside.mask)
    assert _disjoint(out)


def test_a_region_too_small_once_others_are_removed_leaves_the_pieces_alone():
    region = _box(10, 14, 10, 14)
    piece = Instance(_box(10, 12, 10, 12), 0.4)
    assert fuse_motion([piece], [region], confident=0.6, min_area=100) == [piece]


def _net_model():
    cfg = Config()
    cfg.model.visible.enabled = True
    return build_model(cfg)


def test_detectors_on_a_moving_square():
    (prev, _), (cur, mask) = panning_scene(3), panning_scene(4)
    model = _net_model()
    motion = Detector(None, "motion")
    assert motion(cur, None, 16) == []  # a stream's first frame has no motion
    found = motion(cur, prev, 16)
    assert len(found) == 1 and (found[0].mask & mask).sum() / (found[0].mask | mask).sum() > 0.6
    assert motion(cur, prev, 0) == []
    network = Detector(model.visible, "network")
    assert not network.needs_previous and motion.needs_previous


class _Pieces:
    """A visible net stand-in that finds the square in two unsure halves."""

    motion = False

    def __init__(self, mask):
        self.halves = [mask.copy(), mask.copy()]
        rows = np.nonzero(mask.any(1))[0]
        self.halves[0][rows[len(rows) // 2]:] = False
        self.halves[1] &= ~self.halves[0]

    def predict_instances(self, image, max_objects=16, previous=None):
        return [Instance(h, 0.45) for h in self.halves]


def test_network_and_motion_join_the_halves_of_a_moving_square():
    (prev, _), (cur, mask) = panning_scene(3), panning_scene(4)
    both = Detector(_Pieces(mask), "network+motion")
    assert both.needs_previous
    assert len(both(cur, None, 16)) == 2  # no motion at a stream's first frame: the network's
    fused = both(cur, prev, 16)
    assert len(fused) == 1 and fused[0].score == 0.45
    assert (fused[0].mask & mask).sum() == mask.sum()


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="one of network, motion, network"):
        check_detector("optical")
    with pytest.raises(ConfigError, match="motion_threshold"):
        check_detector("motion", motion_threshold=0)
    with pytest.raises(ConfigError, match="motion_confident"):
        check_detector("motion", confident=1.5)
    with pytest.raises(ConfigError, match="needs a visible-mask network"):
        Detector(None, "network+motion")
    cfg = Config()
    cfg.model.visible.detector = "flow"
    with pytest.raises(ConfigError, match="detector"):
        build_model(cfg)
