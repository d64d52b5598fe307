"""Tracker: stable ids through crossings, re-acquisition after full occlusion, bounded state."""
import numpy as np
import pytest

from amodal.errors import InputError
from amodal.models.tracker import Tracker

H, W = 60, 100


def box(cy: float, cx: float, r: int = 6, h: int = H, w: int = W) -> np.ndarray:
    m = np.zeros((h, w), bool)
    y0, x0 = int(round(cy)) - r, int(round(cx)) - r
    m[max(0, y0) : max(0, y0 + 2 * r), max(0, x0) : max(0, x0 + 2 * r)] = True
    return m


def test_new_objects_get_new_ids_and_ids_persist():
    tr = Tracker()
    ids = tr.update([box(20, 20), box(40, 70)], [0.9, 0.8])
    assert ids == [1, 2]
    ids = tr.update([box(41, 71), box(21, 22)], [0.9, 0.8])
    assert ids == [2, 1]
    ids = tr.update([box(22, 24), box(42, 72), box(10, 90, 4)], [0.9, 0.9, 0.5])
    assert ids == [1, 2, 3]
    assert sorted(tr.active_ids) == [1, 2, 3] and tr.lost_ids == []
    assert tr.update([], []) == []
    assert sorted(tr.lost_ids) == [1, 2, 3] and tr.active_ids == []


def test_ids_stable_through_a_crossing():
    """A passes in front of B: B's visible part shrinks, vanishes for a few frames, comes back."""
    tr = Tracker()
    seen = {"A": set(), "B": set()}
    for t in range(40):
        ax, bx = 10 + 2 * t, 90 - 2 * t
        a = box(30, ax, 8)
        b = box(30, bx, 6) & ~a  # A is in front
        masks, names = [a], ["A"]
        if b.sum() >= 10:
            masks.append(b)
            names.append("B")
        for n, i in zip(names, tr.update(masks, [1.0] * len(masks))):
            seen[n].add(i)
    assert len(seen["A"]) == 1 and len(seen["B"]) == 1 and seen["A"] != seen["B"]


@pytest.mark.parametrize("use_hints", [True, False])
def test_hidden_for_ten_frames_reacquires_id(use_hints):
    tr = Tracker()
    x = 20.0
    (tid,) = tr.update([box(30, x)], [1.0])
    for _ in range(5):
        x += 2
        assert tr.update([box(30, x)], [1.0]) == [tid]
    other = tr.update([box(10, 90, 4)], [1.0])[0]  # object fully hidden from here on
    for _ in range(9):
        x += 2
        hints = {tid: box(30, x + 2)} if use_hints else None
        assert tr.update([box(10, 90, 4)], [1.0], hints) == [other]
    assert tid in tr.lost_ids
    x += 4
    hints = {tid: box(30, x)} if use_hints else None
    ids = tr.update([box(10, 90, 4), box(30, x) & (np.arange(W) < x + 1)[None]], [1.0, 0.6], hints)
    assert ids == [other, tid]  # partly visible again, same id
    assert tid in tr.active_ids


def test_far_away_reappearance_gets_new_id():
    tr = Tracker()
    (tid,) = tr.update([box(30, 20)], [1.0])
    for _ in range(5):
        tr.update([], [])
    (new,) = tr.update([box(30, 85)], [1.0])
    assert new != tid and new > tid


def test_hint_resolves_ambiguity_between_candidates():
    tr = Tracker()
    (tid,) = tr.update([box(30, 50)], [1.0])
    for _ in range(3):
        tr.update([], [])
    # two candidates equally near the last position; the hint says the object went right
    ids = tr.update([box(30, 40), box(30, 62)], [1.0, 1.0], {tid: box(30, 62)})
    assert ids[1] == tid and ids[0] != tid


def test_lost_tracks_dropped_and_state_bounded():
    tr = Tracker(max_lost=5)
    rng = np.random.default_rng(0)
    h, w = 16, 16
    for step in range(10_000):
        n = int(rng.integers(0, 4))
        masks = []
        for _ in range(n):
            m = np.zeros((h, w), bool)
            y, x = rng.integers(0, 13, size=2)
            m[y : y + 3, x : x + 3] = True
            masks.append(m)
        ids = tr.update(masks, [1.0] * n)
        assert len(ids) == n and len(set(ids)) == n and all(i >= 1 for i in ids)
        assert len(tr) <= 3 * (5 + 1)
    assert all(i > 0 for i in tr.lost_ids)


def test_max_lost_zero_and_never_reused_ids():
    tr = Tracker(max_lost=0)
    a = tr.update([box(30, 20)], [1.0])[0]
    tr.update([], [])
    assert len(tr) == 0
    b = tr.update([box(30, 20)], [1.0])[0]
    assert b != a


def test_reset_and_input_errors():
    tr = Tracker()
    first = tr.update([box(30, 20)], [1.0])
    tr.reset()
    assert tr.active_ids == [] and tr.lost_ids == [] and len(tr) == 0
    again = tr.update([box(10, 10, 3, 32, 32)], [1.0])  # new stream of another size is fine
    assert again[0] != first[0]
    with pytest.raises(InputError):
        tr.update([box(30, 20)], [1.0])  # size changed without reset
    with pytest.raises(InputError):
        tr.update([box(10, 10, 3, 32, 32)], [])
    with pytest.raises(InputError):
        Tracker(iou_threshold=2.0)


def test_large_frames_use_working_resolution():
    tr = Tracker()
    big = np.zeros((480, 640), bool)
    big[100:180, 200:300] = True
    (tid,) = tr.update([big], [1.0])
    moved = np.roll(big, 6, axis=1)
    assert tr.update([moved], [1.0]) == [tid]


def test_iou_matrix_matches_direct_computation():
    from amodal.models.tracker import iou_matrix

    rng = np.random.default_rng(0)
    a = rng.random((3, 77)) > 0.5
    b = rng.random((4, 77)) > 0.7
    b[3] = False
    got = iou_matrix(a.astype(np.float32), b.astype(np.float32))
    for i in range(3):
        for j in range(4):
            union = np.logical_or(a[i], b[j]).sum()
            want = np.logical_and(a[i], b[j]).sum() / union if union else 0.0
            assert abs(got[i, j] - want) < 1e-9


def test_min_hits_confirms_persistent_tracks_and_drops_flickers():
    tr = Tracker(min_hits=3)
    steady = [box(30, 20 + t) for t in range(5)]
    first = tr.update([steady[0], box(10, 80, 4)], [1.0, 0.5])  # the second one flickers once
    assert tr.confirmed_ids == [] and sorted(tr.active_ids) == sorted(first)
    second = tr.update([steady[1]], [1.0])
    assert second[0] == first[0] and tr.confirmed_ids == [] and len(tr) == 1  # flicker deleted at once
    tr.update([steady[2]], [1.0])
    assert tr.confirmed_ids == [first[0]]
    tr.update([], [])  # a confirmed track survives misses (max_lost)
    assert tr.lost_ids == [first[0]] and tr.confirmed_ids == []
    assert tr.update([steady[4]], [1.0]) == [first[0]] and tr.confirmed_ids == [first[0]]


def test_a_streams_first_frames_are_reported_before_confirmation():
    tr = Tracker(min_hits=3)
    first = tr.update([box(30, 20), box(10, 80, 4)], [1.0, 0.5])
    assert tr.confirmed_ids == [] and sorted(tr.reported_ids) == sorted(first)  # frame 1 of 3: nothing to wait for
    second = tr.update([box(30, 21)], [1.0])
    assert tr.reported_ids == [second[0]] == [first[0]]  # frame 2: still warming up; the flicker is gone
    tr.update([box(30, 22), box(50, 50)], [1.0, 0.9])
    assert tr.reported_ids == tr.confirmed_ids == [first[0]]  # from frame 3 on, new tracks wait to be confirmed
    tr.reset()
    assert tr.update([box(30, 20)], [1.0]) and tr.reported_ids == tr.active_ids  # a new stream warms up again


def test_min_hits_one_confirms_at_once_and_bad_values_refused():
    tr = Tracker()
    ids = tr.update([box(30, 20)], [1.0])
    assert tr.confirmed_ids == ids
    for bad in (0, -1, 1.5):
        with pytest.raises(InputError, match="min_hits"):
            Tracker(min_hits=bad)
