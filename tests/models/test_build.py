"""build_model: with and without the visible net."""
from amodal.config import Config
from amodal.models.build import AmodalModel, build_model


def test_build_without_visible():
    cfg = Config()
    cfg.model.visible.enabled = False
    model = build_model(cfg)
    assert isinstance(model, AmodalModel) and model.visible is None
    assert sum(p.numel() for p in model.completion.parameters()) < 1_000_000


def test_build_with_visible():
    model = build_model(Config())
    assert model.visible is not None
    assert any(k.startswith("visible.") for k in model.state_dict())
