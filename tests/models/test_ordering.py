"""amodal.models.ordering: depth order, occlusion rates, running votes and settled extensions."""
import numpy as np
import pytest

from amodal.models.ordering import OrderVotes, depth_order, occlusion_matrix, settle_order


def _pair():
    """A (front) hides the left end of B; A's amodal also spills onto B's visible pixels (wrong).

    Returns visible, amodal: bool (2, 20, 30); true hidden part of B: 30 pixels, A's spill: 12.
    """
    vis = np.zeros((2, 20, 30), bool)
    vis[0, 5:15, 2:12] = True  # A
    vis[1, 5:15, 12:25] = True  # B, its columns 9-11 hidden under A
    amodal = vis.copy()
    amodal[1, 5:15, 9:12] = True  # B extends behind A: 30 pixels under A's visible mask
    amodal[0, 7:11, 12:15] = True  # A extends behind B: 12 pixels under B's visible mask
    return vis, amodal


def test_occlusion_matrix_counts_the_hidden_part_under_each_visible_mask():
    vis, amodal = _pair()
    m = occlusion_matrix(vis, amodal)
    assert m[0, 1] == 30 and m[1, 0] == 12
    assert depth_order(vis, amodal) == [0, 1]


def test_votes_accumulate_with_decay_and_forget_pairs_of_dropped_ids():
    votes = OrderVotes(decay=0.5)
    m = np.array([[0.0, 4.0], [2.0, 0.0]])
    assert np.allclose(votes.update([7, 3], m), m)
    assert np.allclose(votes.update([7, 3], m), 1.5 * m)  # 0.5 x previous + this frame's
    acc = votes.update([3, 7, 9], np.zeros((3, 3)))  # order of ids does not matter; a new id starts at 0
    assert acc[1, 0] == 0.75 * 4.0 and acc[0, 1] == 0.75 * 2.0 and acc[2].sum() == 0
    assert len(votes) == 6
    votes.keep([7, 9])
    assert len(votes) == 2
    votes.reset()
    assert len(votes) == 0


def test_settle_order_removes_the_front_objects_spill_only_when_the_votes_decide():
    vis, amodal = _pair()
    votes = occlusion_matrix(vis, amodal)  # 30 vs 12
    settled = settle_order(vis, amodal, votes, ratio=2.0)
    assert not (settled[0] & vis[1]).any()  # A no longer extends behind B
    assert (settled[0] >= vis[0]).all() and (settled[1] == amodal[1]).all()  # visible kept, B's hidden part kept
    assert settle_order(vis, amodal, votes, ratio=3.0) is amodal  # 30 < 3 x 12: undecided, unchanged
    # a history that says B is in front decides the other way, whatever this frame says
    settled = settle_order(vis, amodal, votes.T, ratio=2.0)
    assert (settled[0] == amodal[0]).all() and not (settled[1] & vis[0]).any()


def test_settle_order_never_touches_visible_pixels():
    rng = np.random.default_rng(0)
    vis = rng.random((3, 16, 16)) > 0.6
    amodal = vis | (rng.random((3, 16, 16)) > 0.5)
    settled = settle_order(vis, amodal, rng.random((3, 3)) * 100, ratio=1.0)
    assert (settled >= vis).all() and (settled <= amodal).all()
