# Sapiens Studio — developer entry points. `make run` and `make test` are the two commands README promises.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Debian packages a fresh machine lacks: Qt's xcb plugin needs the two libxcb ones, Open3D needs libusb, GUI tests need Xvfb.
APT_PACKAGES := xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-xinerama0 \
                libxcb-xkb1 libxkbcommon-x11-0 libxcb-cursor0 libegl1 libgl1 libglib2.0-0 libdbus-1-3 libfontconfig1 libusb-1.0-0
# Run headless under a virtual X server when there is no display (CI, servers).
XRUN := $(if $(DISPLAY),,$(if $(shell command -v xvfb-run),xvfb-run -a -s "-screen 0 1920x1080x24",))

.PHONY: setup system-packages run test test-core lint bench mutate bundle clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-packages
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned, from the local wheel where one exists, so no resolver reaches for a CUDA build.
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[dev]"
	# The quick CPU backend: mediapipe 0.10.14 is the last wheel that carries its models. Its declared
	# dependencies (jax, opencv-contrib, protobuf<5 pins) would break the stack, so install it bare plus
	# the few packages it really imports. Wheels exist for CPython 3.8-3.12 only: there a failed install stops
	# setup (the tests would fail too, see tests/conftest.py); on 3.13+ the app says how and everything else works.
	if $(PY) -c 'import sys; sys.exit(sys.version_info >= (3, 13))'; then \
	  $(PY) -m pip install --quiet --no-deps "mediapipe==0.10.14" \
	  && $(PY) -m pip install --quiet absl-py attrs flatbuffers "protobuf==4.25.9" matplotlib; \
	else echo "note: mediapipe (quick backend) has no wheel for this Python; everything else works"; fi
	# Tests only: xtcocotools, the reader COCO-WholeBody's own tools use, checks our WholeBody export. Its PyPI
	# wheels are built against numpy 1 and fail to import beside numpy 2, so build it from source (a C compiler).
	$(PY) -m pip install --quiet "cython>=3" \
	  && $(PY) -m pip install --quiet --no-binary xtcocotools --no-build-isolation "xtcocotools==1.14.3"
	touch $(STAMP)

system-packages:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && command -v dpkg-query >/dev/null; then \
	  missing=""; for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then echo "installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi; \
	fi

run: setup
	$(PY) main.py

test: setup
	QT_QPA_PLATFORM=offscreen $(XRUN) $(PY) -m pytest -q

# The core's tests as on a machine without Qt: every Qt binding is made unimportable (tests/without_qt.py)
# and pytest-qt, which imports Qt when it loads, is left out.
test-core: setup
	SAPIENS_BLOCK_QT=1 $(PY) -m pytest -q -p no:pytest-qt tests/core

# Lint and format check (ruff, configured in pyproject.toml), then the layering contracts (import-linter).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

bench: setup
	$(PY) -m bench

# Mutation testing (slow: minutes per module; not part of CI). MODULES= limits it, e.g.
# make mutate MODULES=sapiens_core/tasks/heatmap.py MUTATE_TIMEOUT=900; see tests/mutate.py.
MUTATE_TIMEOUT ?= 1800
mutate: setup
	$(PY) tests/mutate.py --timeout $(MUTATE_TIMEOUT) $(MODULES)

# One-folder app bundle in dist/sapiens-studio/ (start it with dist/sapiens-studio/sapiens-studio).
bundle: setup
	$(VENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller app/packaging/sapiens_studio.spec

clean:
	rm -rf $(VENV) build dist *.egg-info
