# SELD Studio: two commands.
#   make run   create .venv if missing, install, start the app (opens the embedded default)
#   make test  same environment, run the whole test suite headless
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The CPU build of torch, pinned: a bare `torch` requirement pulls a multi-GB CUDA build.
TORCH_PIN ?= torch==2.13.0

.PHONY: run test install clean-venv lint bench

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_PIN)" -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/seldgui $(ARGS)

# xvfb-run gives the GL tests a real (Mesa llvmpipe) display; without it Qt runs offscreen
# and the tests that need OpenGL skip with a stated reason.
test: $(STAMP)
	@if [ -z "$$DISPLAY" ] && command -v xvfb-run >/dev/null 2>&1; then \
		echo "make test: running under xvfb-run (QT_QPA_PLATFORM=xcb)"; \
		QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" $(PY) -m pytest $(PYTEST_ARGS); \
	else \
		echo "make test: no xvfb-run or DISPLAY set; Qt platform $${QT_QPA_PLATFORM:-offscreen}"; \
		QT_QPA_PLATFORM=$${QT_QPA_PLATFORM:-offscreen} $(PY) -m pytest $(PYTEST_ARGS); \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check core seldgui tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/bench_features.py

clean-venv:
	rm -rf $(VENV)
