"""Hand-computed cases for amodal.eval.metrics (every value worked out in the comments)."""
import numpy as np
import pytest

from amodal.eval.metrics import (
    VARIANTS,
    amodal_counts,
    boundary,
    boundary_counts,
    boundary_tolerance,
    f_measure,
    occlusion_rate,
)


def grid(rows, shape=(4, 6)):
    """Mask with the given (row, col) cells set."""
    m = np.zeros(shape, dtype=bool)
    for r, c in rows:
        m[r, c] = True
    return m


def box(r0, r1, c0, c1, shape=(4, 6)):
    """Mask with rows r0..r1 and cols c0..c1 (inclusive) set."""
    m = np.zeros(shape, dtype=bool)
    m[r0 : r1 + 1, c0 : c1 + 1] = True
    return m


def iou(counts, name):
    inter, union = counts[VARIANTS.index(name)]
    return None if union == 0 else inter / union


# Scene used by several tests (4 x 6):
#   G (object A amodal)  = rows 1-2, cols 0-3      -> 8 px
#   V (object A visible) = rows 1-2, cols 0-1      -> 4 px; hidden G-V = rows 1-2, cols 2-3 (4 px)
#   O (object B visible) = rows 0-3, cols 3-4      -> covers column 3 of A's hidden part only;
#                                                     column 2 is hidden by something unannotated.
G = box(1, 2, 0, 3)
V = box(1, 2, 0, 1)
O = box(0, 3, 3, 4)


def test_perfect_prediction_is_one_everywhere():
    c = amodal_counts(G.copy(), G, V, O, pasted_erode=0)
    for name in VARIANTS:
        assert iou(c, name) == 1.0


def test_disjoint_prediction_is_zero():
    p = box(0, 0, 0, 5) | box(3, 3, 0, 5)  # rows 0 and 3: no pixel of G
    c = amodal_counts(p, G, V, O, pasted_erode=0)
    assert iou(c, "full") == 0.0  # 0 / (12 + 8)
    assert iou(c, "strict") == 0.0
    assert iou(c, "savos") == 0.0  # P∩O = (0,3),(0,4),(3,3),(3,4) vs G∩O = (1,3),(2,3): 0 / 6
    assert c[VARIANTS.index("savos")].tolist() == [0, 6]
    # pasted: P' = P ∪ V, P'∩G = V (4 px), P'∪G = 12 + 8 = 20 -> 0.2
    assert iou(c, "pasted_full") == pytest.approx(0.2)


def test_nothing_occluded_is_excluded_not_one():
    # the object is fully visible: G = V; O overlaps nothing of it
    g = box(1, 2, 0, 1)
    p = box(1, 2, 0, 2)  # over-extends by one column (2 px)
    c = amodal_counts(p, g, g, O, pasted_erode=0)
    assert iou(c, "full") == pytest.approx(4 / 6)
    assert iou(c, "strict") is None  # G - V empty -> excluded (union stored as 0)
    assert iou(c, "savos") is None  # G ∩ O empty -> excluded
    assert iou(c, "pasted_occ") is None
    assert c[VARIANTS.index("strict")].tolist() == [0, 0]


def test_savos_restriction_to_other_objects_visible_masks():
    # P = rows 1-2, cols 0-2 plus (1, 3): 7 px, all inside G
    p = box(1, 2, 0, 2) | grid([(1, 3)])
    c = amodal_counts(p, G, V, O, pasted_erode=0)
    assert iou(c, "full") == pytest.approx(7 / 8)  # P ⊂ G: 7 / 8
    # strict: P-V = col 2 (2 px) + (1,3) = 3 px; G-V = 4 px -> 3 / 4
    assert iou(c, "strict") == pytest.approx(3 / 4)
    # savos: only column 3 counts (O): P∩O = (1,3); G∩O = (1,3),(2,3) -> 1 / 2
    assert iou(c, "savos") == pytest.approx(1 / 2)


def test_pasted_differs_from_raw_and_strict():
    # prediction of the hidden part only (forgets the visible part)
    p = box(1, 2, 2, 3)
    c = amodal_counts(p, G, V, O, pasted_erode=0)
    assert iou(c, "full") == pytest.approx(4 / 8)  # 4 of 8
    assert iou(c, "pasted_full") == 1.0  # P ∪ V = G
    # without erosion the pasted occluded IoU is the strict one: (P∪V)-V = P-V
    assert iou(c, "pasted_occ") == iou(c, "strict") == 1.0


def test_pasted_occluded_erosion_by_hand():
    # 7 x 7: G = everything, V = cols 0-2, hidden = cols 3-6 (28 px)
    shape = (7, 7)
    g = np.ones(shape, bool)
    v = box(0, 6, 0, 2, shape)
    others = np.zeros(shape, bool)
    p = box(0, 6, 0, 5, shape)  # misses column 6
    c = amodal_counts(p, g, v, others, pasted_erode=3)
    # strict: P-V = cols 3-5 (21) vs cols 3-6 (28) -> 21 / 28
    assert iou(c, "strict") == pytest.approx(0.75)
    # 3x3 erosion, outside the image counts as foreground:
    #   G-V cols 3-6 -> cols 4-6 (col 3 touches col 2, which is not hidden): 21 px
    #   P'-V cols 3-5 -> col 4 only (col 3 touches col 2, col 5 touches col 6): 7 px
    assert c[VARIANTS.index("pasted_occ")].tolist() == [7, 21]
    assert iou(c, "pasted_occ") == pytest.approx(1 / 3)
    assert iou(c, "savos") is None  # no other object


def test_occlusion_rate_exact_fractions():
    g = np.zeros((2, 5), bool)
    g[:] = True  # 10 px
    v = g.copy()
    v[0, 0] = False  # 1 hidden
    assert occlusion_rate(v, g) == 0.1  # exactly the literal, so strict filters behave
    v[0, :3] = False  # 3 hidden... plus nothing else
    assert occlusion_rate(v, g) == 0.3
    assert occlusion_rate(np.zeros_like(g), g) == 1.0
    with pytest.raises(ValueError):
        occlusion_rate(v, np.zeros_like(g))


def test_boundary_and_f_measure():
    m = box(0, 3, 1, 3)  # 4 x 3 block touching the top and bottom image edges
    b = boundary(m)
    # image edges are not contour: only cols 1 and 3 are boundary -> 8 px
    assert b.sum() == 8 and not b[:, 2].any()
    # identical masks: all matched
    c = boundary_counts(m, m, tolerance=1)
    assert c.tolist() == [8, 8, 8, 8] and f_measure(c) == 1.0
    # shift by one column: boundary cols 2 and 4 vs 1 and 3 -> all within 1 px
    shifted = box(0, 3, 2, 4)
    assert f_measure(boundary_counts(shifted, m, tolerance=1)) == 1.0
    # tolerance 0: pred col 2 vs gt cols {1,3}: no overlap; pred col 4: none -> 0 / 8
    c0 = boundary_counts(shifted, m, tolerance=0)
    assert c0.tolist() == [8, 0, 8, 0] and f_measure(c0) == 0.0
    # one empty mask
    assert f_measure(boundary_counts(np.zeros_like(m), m, 1)) == 0.0
    assert f_measure(np.zeros(4, np.int64)) is None


def test_boundary_tolerance_is_davis_fraction_of_diagonal():
    assert boundary_tolerance(480, 854) == 8  # 0.008 * 979.7 = 7.84 -> 8
    assert boundary_tolerance(4, 6) == 1  # at least one pixel


def test_shape_mismatch_raises():
    with pytest.raises(ValueError):
        amodal_counts(np.zeros((3, 3), bool), G, V, O)
