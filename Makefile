# The two commands of the README: `make book` and `make test`. Everything else is a helper target.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# torch is pinned, and PyTorch's CPU index is added so that pip picks the CPU build
# (2.13.0+cpu): PyPI's Linux wheel of the same version pulls several GB of CUDA packages.
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
EXTRAS := torch,kernels,data,book,test
SITE := _build/html
PORT ?= 8000

.PHONY: help venv book serve test test-package test-notebooks portability test-site test-browser lint typecheck notebooks browser-deps clean gpu-check

help:
	@echo "make book   - create .venv if needed and build the website into $(SITE)"
	@echo "make test   - create .venv if needed, then lint, type check, package tests, strict nbval, site build (-W) and browser test"
	@echo "make serve  - serve the built site on http://localhost:$(PORT)"
	@echo "make notebooks - re-execute every chapter in place (after editing one)"
	@echo "make portability - strict nbval under every non-native numerical configuration"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet --extra-index-url "$(TORCH_INDEX)" "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	$(BIN)/python -m ipykernel install --user --name softmax-bottleneck \
		--display-name "Python (softmax-bottleneck)" >/dev/null
	touch $@

venv: $(STAMP)

# The website, then the whole book as one PDF (printed by headless chromium from the site).
book: $(STAMP) browser-deps
	$(BIN)/jupyter-book build . --builder html
	$(BIN)/python book/_ext/print_book.py
	@echo
	@echo "The book is built. Open $(CURDIR)/$(SITE)/index.html in a browser,"
	@echo "or run 'make serve' and visit http://localhost:$(PORT)/"

serve:
	$(BIN)/python -m http.server --directory $(SITE) $(PORT)

# Debian's chromium for the browser test and the PDF, fonts for the glossary's Chinese terms
# (the site serves a subset cut from Noto Sans CJK), poppler's pdftotext for the PDF test
# (installed with apt only when missing), and Node.js, which runs the explorers' JavaScript in
# the package tests against the Python computations.
SYSTEM_PACKAGES := chromium fonts-dejavu-core fonts-noto-cjk poppler-utils nodejs
browser-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		echo "Installing with apt: $$missing"; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts book

# mypy over the package, with the settings of [tool.mypy] in pyproject.toml.
typecheck: $(STAMP)
	$(BIN)/python -m mypy

# Triton kernels run in interpreter mode on the CPU; GPU-marked tests skip without CUDA.
test-package: $(STAMP) browser-deps
	TRITON_INTERPRET=1 $(BIN)/python -m pytest -m "not browser" --doctest-modules src tests

# Strict nbval under a configuration that is not this machine's native one (PyTorch without
# SIMD, NumPy without AVX-512, MKL's portable path, three threads): every CI run shows that the
# stored outputs do not depend on the CPU. `make portability` runs each change on its own too.
test-notebooks: $(STAMP)
	$(BIN)/python scripts/check_portability.py --config non-native

portability: $(STAMP)
	$(BIN)/python scripts/check_portability.py

test-site: $(STAMP) browser-deps
	rm -rf _build
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going

test-browser: $(STAMP) browser-deps
	$(BIN)/python -m pytest -m browser tests

test: lint typecheck test-package test-notebooks test-site test-browser

notebooks: $(STAMP)
	$(BIN)/python scripts/execute_notebooks.py $$($(BIN)/python scripts/toc_notebooks.py)

clean:
	rm -rf _build .pytest_cache

# GPU checks (issue 14) on a machine with an NVIDIA GPU, with that machine's own python3 (torch
# with CUDA, triton, numpy, pytest) and the package from src/; no .venv. See scripts/gpu_check.sh.
gpu-check:
	PYTHON=$(PYTHON) bash scripts/gpu_check.sh
