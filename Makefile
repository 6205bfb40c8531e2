# SELD Studio: two commands.
#   make run   create .venv if missing, install, start the app (opens the embedded default)
#   make test  same environment, run the whole test suite headless
# The desktop bundle (packaging/README.md): make package, make package-lean, make smoke.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The CPU build of torch, pinned: a bare `torch` requirement pulls a multi-GB CUDA build.
TORCH_PIN ?= torch==2.13.0

.PHONY: run test test-portability install clean-venv lint bench package package-lean smoke bundle-venv

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

# ---------------------------------------------------------------- the desktop bundle (PyInstaller)
# `make package`: dist/SELD Studio/ with seld-studio (the GUI) and seld (the CLI) sharing one
# set of libraries. Built from a venv of its own (not .venv): the project as installed (not
# editable), the CPU build of torch and PyInstaller, which is in no requirement of the project.
# `make package-lean`: the same without torch (dist/SELD Studio lean/): review and the bundled
# models through their shipped ONNX graphs only. `make smoke`: packaging/smoke on the bundle.
BUNDLE_VENV := build/bundle-venv
BUNDLE_PY := $(BUNDLE_VENV)/bin/python
BUNDLE_STAMP := $(BUNDLE_VENV)/.installed-stamp
PYINSTALLER_PIN ?= pyinstaller>=6.10
BUNDLE_NICE ?= nice -n 10
BUNDLE_DIR ?= dist/SELD Studio

$(BUNDLE_STAMP): pyproject.toml
	test -x $(BUNDLE_PY) || $(PYTHON) -m venv $(BUNDLE_VENV)
	$(BUNDLE_PY) -m pip install --quiet --upgrade pip
	$(BUNDLE_NICE) $(BUNDLE_PY) -m pip install --quiet "$(TORCH_PIN)" . "$(PYINSTALLER_PIN)"
	touch $(BUNDLE_STAMP)

bundle-venv: $(BUNDLE_STAMP)

# the project is reinstalled (no dependencies) on every build, so the bundle holds this checkout;
# PyInstaller runs as its own program (not python -m, which would put the checkout first on sys.path)
define build_bundle
	$(BUNDLE_NICE) $(BUNDLE_PY) -m pip install --quiet --no-deps --force-reinstall .
	$(BUNDLE_NICE) $(BUNDLE_PY) packaging/export_shipped_onnx.py build/shipped-onnx
	SELD_BUNDLE_TORCH=$(1) $(BUNDLE_NICE) $(BUNDLE_VENV)/bin/pyinstaller --noconfirm --clean \
		--distpath dist --workpath build/pyinstaller$(2) packaging/seld_studio.spec
endef

package: $(BUNDLE_STAMP)
	$(call build_bundle,1,)
	@du -sh "dist/SELD Studio"

package-lean: $(BUNDLE_STAMP)
	$(call build_bundle,0,-lean)
	@du -sh "dist/SELD Studio lean"

smoke:
	$(BUNDLE_NICE) packaging/smoke "$(BUNDLE_DIR)" --shots build/smoke-shots
