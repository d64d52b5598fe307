"""ShapeMemory: bounded, resets, keeps the best entries; ClipMemory applies the same rule."""
import numpy as np
import torch

from amodal.models.crops import crop_matrix
from amodal.models.memory import ClipMemory, ShapeMemory, read_memories

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
    assert sorted(e.quality for e in mem.entries[:2]) == [16.0, 16.0]
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
        assert [e.quality for e in stream.entries] == clip.quality[0].tolist()
    cur = crop_matrix((25, 19, 30), S)
    a = read_memories([stream], cur[None], S)
    b = clip.read(torch.from_numpy(cur)[None])
    assert torch.allclose(a, b, atol=2e-3)
