# Set-up is a virtual environment in the checkout (.venv) with the tested pins.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
AMODAL := $(VENV)/bin/amodal
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
DEMO_VIDEO := data/sample/videos/00000.mp4
DEMO_OUT := outputs/demo

.PHONY: setup demo test test-slow test-all bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PINS)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: setup
	$(AMODAL) infer $(DEMO_VIDEO) --out $(DEMO_OUT) --overwrite

test: setup
	$(PY) -m pytest -q -m "not slow"

test-slow: setup
	$(PY) -m pytest -q -m slow

test-all: setup
	$(PY) -m pytest -q

bench: setup
	$(AMODAL) bench --out docs/BENCHMARKS.md

clean:
	rm -rf $(VENV) outputs .pytest_cache
