# SELD Studio: two commands.
#   make run   create .venv if missing, install, start the app (opens the embedded default)
#   make test  same environment, run the whole test suite headless
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The CPU build of torch, pinned: a bare `torch` requirement pulls a multi-GB CUDA build.
TORCH_PIN ?= torch==2.13.0

.PHONY: run test test-portability install clean-venv lint bench

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

# The suite as other x86-64 processors run it, each time in a random test order: numpy's
# OpenBLAS and torch's kernels (ATen, oneDNN, MKL) held to what an AVX-512 (SkylakeX), an AVX2
# (Haswell), an AVX (Sandybridge) and an SSE-only (Prescott) machine would use. Results that
# are equal only by the accident of one processor's rounding fail here. Slow: four suites.
PORTABILITY = \
	"OPENBLAS_CORETYPE=SkylakeX ATEN_CPU_CAPABILITY=avx512 ONEDNN_MAX_CPU_ISA=AVX512_CORE MKL_ENABLE_INSTRUCTIONS=AVX512" \
	"OPENBLAS_CORETYPE=Haswell ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2" \
	"OPENBLAS_CORETYPE=Sandybridge ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=AVX MKL_ENABLE_INSTRUCTIONS=AVX" \
	"OPENBLAS_CORETYPE=Prescott ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41 MKL_ENABLE_INSTRUCTIONS=SSE4_2"

test-portability: $(STAMP)
	@for cfg in $(PORTABILITY); do \
		case "$$cfg" in *SkylakeX*) grep -qw avx512f /proc/cpuinfo 2>/dev/null || \
			{ echo "== make test-portability: no AVX-512 here, skipped: $$cfg"; continue; } ;; esac; \
		seed=$$(od -An -N2 -tu2 /dev/urandom | tr -d ' '); \
		echo "== make test-portability: $$cfg, tests in random order (--random-order-seed=$$seed)"; \
		env $$cfg $(MAKE) --no-print-directory test \
			PYTEST_ARGS="-q --random-order-bucket=global --random-order-seed=$$seed $(PYTEST_ARGS)" || exit 1; \
	done

# What CI checks besides the tests: ruff's lint and format, and mypy on core (it ships py.typed).
lint: $(STAMP)
	$(VENV)/bin/ruff check core seldgui tests benchmarks experiments docs
	$(VENV)/bin/ruff format --check core seldgui tests benchmarks experiments docs
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) benchmarks/bench_features.py

clean-venv:
	rm -rf $(VENV)
