"""CompletionNet: shapes, gradients, determinism, cross-object context."""
import pytest
import torch

from amodal.config import CompletionConfig
from amodal.models.completion import CompletionNet, input_channels


def _net(seed=0, **kw):
    torch.manual_seed(seed)
    return CompletionNet(CompletionConfig(crop_size=32, width=8, **kw))


def test_forward_backward_shapes():
    net = _net()
    x = torch.rand(5, len(input_channels(net.cfg)), 32, 32, requires_grad=True)
    out = net(x, torch.tensor([0, 0, 1, 1, 1]))
    assert out.shape == (5, 1, 32, 32)
    out.mean().backward()
    assert x.grad is not None and all(p.grad is not None for p in net.parameters())
    assert net(x[:0]).shape == (0, 1, 32, 32)


def test_deterministic_under_seed():
    x = torch.rand(3, 7, 32, 32)
    a, b = _net(3).eval(), _net(3).eval()
    assert torch.equal(a(x), b(x))


def test_rgb_channels_and_bad_input():
    net = _net(use_rgb=True)
    assert net.in_channels == 10
    with pytest.raises(ValueError):
        net(torch.rand(1, 7, 32, 32))


def test_context_only_within_frame():
    net = _net().eval()
    torch.nn.init.normal_(net.ctx_out.weight, std=0.5)
    x = torch.rand(3, 7, 32, 32)
    alone = net(x[:1], torch.tensor([0]))
    other_frame = net(x, torch.tensor([0, 1, 1]))
    same_frame = net(x, torch.tensor([0, 0, 1]))
    assert torch.allclose(alone, other_frame[:1], atol=1e-5)
    assert not torch.allclose(alone, same_frame[:1], atol=1e-5)


def test_fused_copy_gives_same_outputs():
    net = _net(1)
    x = torch.rand(2, 7, 32, 32)
    net.train()
    net(x)  # move the BatchNorm statistics away from their defaults
    net.eval()
    with torch.no_grad():
        assert torch.allclose(net(x), net.fused_for_inference()(x), atol=1e-5)
