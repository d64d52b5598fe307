"""Frames the visible-mask network is trained on, with and without motion input."""
import numpy as np

from amodal.losses.visible_picks import MAX_GAP, STATIC_PROBABILITY, pick_visible_frames


def test_without_motion_distinct_frames_per_clip_and_no_earlier_frame():
    bi, ti, pi = pick_visible_frames(5, 4, 2, np.random.default_rng(0))
    assert bi.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert np.array_equal(ti, pi)
    assert all(len(set(ti[bi == b])) == 2 for b in range(5))
    # the draws of the recipe before motion input existed (the visible stage's weights depend on them)
    rng = np.random.default_rng(0)
    old = np.stack([rng.choice(4, size=2, replace=False) for _ in range(5)]).reshape(-1)
    assert np.array_equal(ti, old)


def test_with_motion_each_frame_has_an_earlier_one_within_the_gap():
    bi, ti, pi = pick_visible_frames(4000, 3, 1, np.random.default_rng(0), motion=True)
    assert len(bi) == len(ti) == len(pi) == 4000
    gaps = ti - pi
    assert (ti >= 1).all() and (pi >= 0).all()
    assert gaps.min() == 0 and gaps.max() == MAX_GAP
    assert set(np.unique(gaps)) == set(range(MAX_GAP + 1))
    assert abs((gaps == 0).mean() - STATIC_PROBABILITY) < 0.02  # the stream's first frame: no motion


def test_with_motion_and_single_frame_clips_the_frame_is_its_own_earlier_frame():
    bi, ti, pi = pick_visible_frames(3, 1, 2, np.random.default_rng(0), motion=True)
    assert bi.tolist() == [0, 1, 2] and ti.tolist() == [0, 0, 0] and pi.tolist() == [0, 0, 0]


def test_a_flow_alone_network_is_never_given_a_frame_without_motion():
    bi, ti, pi = pick_visible_frames(2000, 3, 1, np.random.default_rng(0), motion=True, static=0.0)
    gaps = ti - pi
    assert gaps.min() == 1 and gaps.max() == MAX_GAP
