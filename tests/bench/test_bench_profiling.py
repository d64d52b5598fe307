"""Component timers: exclusive time accounting (fake clock) and patches that are always undone."""
import types

import pytest

import amodal.bench.profiling as profiling
from amodal.bench.profiling import ComponentTimer, instrumented


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_exclusive_time(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(profiling.time, "perf_counter", clock)
    timer = ComponentTimer()

    def inner():
        clock.now += 2.0

    inner_t = timer.wrap("inner", inner)

    def outer():
        clock.now += 1.0
        inner_t()
        clock.now += 3.0

    timer.wrap("outer", outer)()
    assert timer.seconds["inner"] == pytest.approx(2.0)
    assert timer.seconds["outer"] == pytest.approx(4.0)  # 6 s in total, 2 of them charged to inner
    assert timer.calls == {"inner": 1, "outer": 1}


class Thing:
    def method(self, x):
        return x + 1


def test_instrumented_restores_module_class_and_instance_attributes():
    mod = types.ModuleType("m")
    mod.f = lambda x: x * 2
    original_f, original_method = mod.f, Thing.__dict__["method"]
    obj = Thing()
    timer = ComponentTimer()
    with instrumented(timer, [(mod, "f", "a"), (Thing, "method", "b"), (obj, "method", "c")]):
        assert mod.f(2) == 4 and obj.method(1) == 2 and Thing().method(1) == 2
    assert timer.calls["a"] == 1 and timer.calls["c"] == 1 and timer.calls["b"] == 2
    assert mod.f is original_f and Thing.__dict__["method"] is original_method and "method" not in vars(obj)
    with pytest.raises(RuntimeError):
        with instrumented(timer, [(mod, "f", "a")]):
            raise RuntimeError("stage failed")
    assert mod.f is original_f
