"""ShapeMemory: bounded, resets, keeps the best entries; ClipMemory applies the same rule; the
slot-based streaming read equals the plain per-entry math."""
import cv2
import numpy as np
import pytest
import torch

from amodal.models.crops import crop_matrix
from amodal.models.memory import ClipMemory, ShapeMemory, _drop_index, aggregate, read_memories

S = 16


def test_bounded_after_1000_steps_and_reset():
    mem = ShapeMemory(permanent=2, recent=3)
    mat = crop_matrix((20, 20, 30), S)
    shift = np.array([[1, 0, 0.1], [0, 1, 0.0]])
    vis = np.ones((S, S), np.float32)
    for t in range(1000):
        mem.advance(shift)
        mem.write(vis, vis, mat, quality=float(t % 17))
        assert len(mem) <= 5
    assert len(mem) == 5
    assert sorted(mem.qualities[:2]) == [16.0, 16.0]
    mem.reset()
    assert len(mem) == 0
    out = read_memories([mem], mat[None], S)
    assert out.shape == (1, 4, S, S) and float(out.abs().sum()) == 0.0


def test_read_moves_with_motion():
    mem = ShapeMemory(1, 2)
    mat = crop_matrix((32, 32, 32), S)
    vis = np.zeros((S, S), np.float32)
    vis[4:8, 4:8] = 1
    mem.write(vis, vis, mat, 16)
    same = read_memories([mem], mat[None], S)[0]
    assert torch.allclose(same[0], torch.from_numpy(vis), atol=1e-5)
    mem.advance(np.array([[1, 0, 8.0], [0, 1, 0]]))  # 8 frame px = 4 crop px to the right
    moved = read_memories([mem], mat[None], S)[0]
    assert torch.allclose(moved[0, 4:8, 8:12], torch.ones(4, 4), atol=1e-5)
    assert float(moved[3].max()) == 1.0


def test_clip_memory_matches_streaming_memory():
    rng = np.random.default_rng(0)
    stream = ShapeMemory(2, 2)
    clip = ClipMemory(1, 2, 2, S, torch.device("cpu"))
    for t in range(9):
        motion = np.array([[1, 0, rng.uniform(-1, 1)], [0, 1, rng.uniform(-1, 1)]], np.float32)
        if t:
            stream.advance(motion)
            clip.advance(torch.from_numpy(motion)[None])
        mat = crop_matrix((20 + t, 18, 28 + t), S)
        vis = (rng.random((S, S)) > 0.5).astype(np.float32)
        q = float(rng.integers(0, 5))
        stream.write(vis, vis * 0.5, mat, q)
        clip.write(torch.from_numpy(vis)[None], torch.from_numpy(vis * 0.5)[None], torch.from_numpy(mat)[None],
                   torch.tensor([q]))
        assert len(stream) == len(clip)
        assert stream.qualities == clip.quality[0].tolist()
    cur = crop_matrix((25, 19, 30), S)
    a = read_memories([stream], cur[None], S)
    b = clip.read(torch.from_numpy(cur)[None])
    assert torch.allclose(a, b, atol=2e-3)


class _PlainMemory:
    """Reference: one list entry per frame, 3-channel canvases, every entry moved and read on its own."""

    def __init__(self, permanent: int, recent: int) -> None:
        self.permanent, self.capacity = permanent, permanent + recent
        self.entries = []  # [canvas (S, S, 3), to_frame (3, 3), quality]

    def advance(self, motion):
        m = np.eye(3)
        m[:2] = motion
        for e in self.entries:
            e[1] = m @ e[1]

    def write(self, vis, amodal, mat, quality):
        canvas = np.dstack([vis, amodal, np.ones_like(vis)]).astype(np.float32)
        self.entries.append([canvas, np.linalg.inv(np.vstack([mat.astype(np.float64), [0, 0, 1]])), quality])
        if len(self.entries) > self.capacity:
            del self.entries[_drop_index([e[2] for e in self.entries], self.permanent)]


def _plain_read(memories, mats, size):
    e_max = max(len(m.entries) for m in memories)
    warped = np.zeros((len(memories), e_max, size, size, 3), np.float32)
    present = np.zeros((len(memories), e_max), bool)
    for i, (mem, cm) in enumerate(zip(memories, mats)):
        cur = np.vstack([cm.astype(np.float64), [0, 0, 1]])
        for j, (canvas, to_frame, _) in enumerate(mem.entries):
            warped[i, j] = cv2.warpAffine(canvas, (cur @ to_frame)[:2], (size, size), flags=cv2.INTER_LINEAR,
                                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            present[i, j] = True
    return aggregate(torch.from_numpy(warped).permute(0, 1, 4, 2, 3), torch.from_numpy(present))


@pytest.mark.parametrize("permanent,recent", [(2, 6), (0, 3), (1, 1)])
def test_slot_memory_matches_plain_per_entry_math(permanent, recent):
    rng = np.random.default_rng(permanent * 10 + recent)
    objects = 4
    fast = [ShapeMemory(permanent, recent) for _ in range(objects)]
    plain = [_PlainMemory(permanent, recent) for _ in range(objects)]
    for t in range(40):
        cur = np.stack([crop_matrix((rng.uniform(0, 60), rng.uniform(0, 40), rng.uniform(20, 50)), S)
                        for _ in range(objects)])
        for k in range(objects):
            a = rng.uniform(-0.1, 0.1)
            motion = np.array([[np.cos(a), -np.sin(a), rng.uniform(-2, 2)], [np.sin(a), np.cos(a), rng.uniform(-2, 2)]])
            fast[k].advance(motion)
            plain[k].advance(motion)
        if t:
            got = read_memories(fast, cur, S)
            want = _plain_read(plain, cur, S)
            assert got.shape == want.shape == (objects, 4, S, S)
            assert torch.allclose(got, want, atol=1e-5, rtol=0)
        for k in range(objects):
            if t % (k + 1):  # objects are written at different rates: unequal entry counts, padding in the reference
                continue
            vis = (rng.random((S, S)) > 0.4).astype(np.float32)
            amodal = rng.random((S, S)).astype(np.float32)
            q = float(rng.integers(0, 6))
            fast[k].write(vis, amodal, cur[k], q)
            plain[k].write(vis, amodal, cur[k], q)
            assert fast[k].qualities == [e[2] for e in plain[k].entries]
            assert np.array_equal(fast[k].canvases[..., :3], np.stack([e[0] for e in plain[k].entries]))
    assert all(len(m) <= permanent + recent for m in fast)


def test_write_refuses_another_canvas_size():
    mem = ShapeMemory(1, 1)
    mem.write(np.ones((S, S)), np.ones((S, S)), crop_matrix((20, 20, 30), S), 1.0)
    with pytest.raises(ValueError, match="canvases are 16 pixels"):
        mem.write(np.ones((8, 8)), np.ones((8, 8)), crop_matrix((20, 20, 30), 8), 1.0)
