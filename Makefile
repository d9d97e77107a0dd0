# The book's build: make install | test | smoke | book | reproduce | notebooks | sync | clean
#
#   make reproduce            train what is missing for PROFILE, re-execute the notebooks, build the book
#   make reproduce JOBS=2     ... with 2 worker processes (1 thread each, ResNet-18 runs 2; on the CPU, one per core)
#   make test                 lint, unit tests, release checks, smoke run of the grid and every notebook, nbval, book build
#   make notebooks PROFILE=cpu
#   make verify               re-train a sample of committed runs and compare (bit-identical when it can be)
#   make smoke TEST_WORKERS=1 execute the smoke notebooks one at a time (default: 2, as make test)
#   make install LOCKED=1     install exactly requirements-lock.txt (the tested CPU environment)
#   make lock                 re-pin requirements-lock.txt to the environment in .venv (UPGRADE=1: newest)
#   make release-check        workflows, CITATION.cff, lock file, sdist + wheel, Colab setup cell, README table
#   make readme               regenerate the README's results table from results/
#   make layout               after `make book`: what scrolls sideways at 1280 px (needs headless Chromium)
#
# PROFILE defaults to `paper` when torch sees a CUDA device, else `cpu` (see msvp/grid.py).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-print-directory

PY      := .venv/bin/python
JB      := .venv/bin/jupyter-book
JUPYTEXT := .venv/bin/jupytext
STAMP   := .venv/.installed
LOCK    := requirements-lock.txt
# release tools (build, twine, cffconvert, uv) in their own venv: cffconvert needs jsonschema<4
RELEASE_VENV  := .venv/release-tools
RELEASE_STAMP := $(RELEASE_VENV)/.installed
JOBS    ?= 1
# make test: pytest processes for the unit tests and nbval, notebooks executed at once by make smoke
TEST_WORKERS ?= 2

# Computed on first use only (so `make install` works before torch exists), then cached.
PROFILE ?= $(eval PROFILE := $(shell $(PY) -c 'import torch;print(torch.cuda.is_available())' 2>/dev/null \
             | grep -qx True && echo paper || echo cpu))$(PROFILE)

# the venv's kernelspec `python3` must win over a user-level one of the same name
export JUPYTER_PREFER_ENV_PATH := 1

NBVAL_ARGS := --nbval-lax -q -p no:cacheprovider --nbval-sanitize-with tools/nbval_sanitize.cfg

.PHONY: help install test lint unit verify smoke nbval book reproduce notebooks sync clean \
        release-check release-tools lock readme layout FORCE

help:
	@sed -n '1,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

install: $(STAMP)

# LOCKED=1 installs the pinned versions of $(LOCK) (and reinstalls each time it is asked to), then
# the package itself without dependencies; without it, the newest versions pyproject.toml allows.
$(STAMP): pyproject.toml $(if $(LOCKED),$(LOCK) FORCE)
	test -x $(PY) || python3 -m venv .venv
	$(if $(LOCKED),$(PY) -m pip install -r $(LOCK) && $(PY) -m pip install --no-deps -e . && $(PY) -m pip check,\
	  $(PY) -m pip install -e ".[book,test]")
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (msvp)"
	touch $@

test: $(STAMP)
	$(MAKE) lint
	$(MAKE) unit
	$(MAKE) release-check
	$(MAKE) smoke
	$(MAKE) nbval
	$(MAKE) book
	@echo "make test: all passed"

lint: $(STAMP)
	$(PY) -m ruff check .

# pytest exits 5 when it collects nothing; that is a failure here, said in words
unit: $(STAMP)
	rc=0; $(PY) -m pytest tests -q -m "not release" -n $(TEST_WORKERS) --dist loadgroup || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests in tests/" >&2; fi; \
	exit $$rc

# Smoke: a tiny grid into build/results, then every notebook of the toc against it, into
# build/smoke. Never writes into results/ or book/. Chapters 9-10 read the committed parameter/FLOP/
# latency measurement (a copy): without it each would measure it again, 3-4 min apiece on 2 busy
# cores (tests/test_analysis_accounting.py checks the measuring itself).
smoke: $(STAMP)
	$(PY) -m msvp grid --profile smoke --results build/results --jobs 2
	$(PY) -m msvp grid --profile smoke-scarce --results build/results --jobs 2
	mkdir -p build/results/accounting && cp results/accounting/cpu.json build/results/accounting/
	$(PY) tools/execute_notebooks.py --profile smoke --results "$(CURDIR)/build/results" \
	    --out build/smoke --parallel $(TEST_WORKERS)
	$(PY) tools/check_html.py --notebooks build/smoke

# nbval re-runs the committed, executed notebooks (with the parameters injected when they were
# executed) and compares the cells marked NBVAL_CHECK_OUTPUT. A missing notebook is an error; one
# executed from an older .py gets a warning (CHECK_STRICT=1 makes it an error).
nbval: $(STAMP)
	$(PY) tools/execute_notebooks.py --check $(if $(CHECK_STRICT),--strict)
	rc=0; $(PY) -m pytest $(NBVAL_ARGS) -n $(TEST_WORKERS) --dist loadscope \
	    $$($(PY) tools/execute_notebooks.py --list) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: nbval collected no notebook cells" >&2; fi; \
	exit $$rc

# Optional (CI machines may lack a browser): every built page in headless Chromium, listing each
# table or code box a reader would have to scroll sideways at WIDTH px.
layout:
	tools/check_layout.sh $(or $(WIDTH),1280)

# -n nitpicky, -W warnings are errors; intersphinx stays off (no network here)
book: $(STAMP)
	$(JB) build . -nW --keep-going
	$(PY) tools/check_html.py _build/html

# Train what is missing for PROFILE, re-execute every notebook into book/ (the paired .py files
# stay the source), then build the book.
reproduce: $(STAMP)
	@echo "PROFILE=$(PROFILE)"
	$(PY) -m msvp grid --profile $(PROFILE) --jobs $(JOBS) --plan
	$(PY) -m msvp grid --profile $(PROFILE) --jobs $(JOBS)
	$(MAKE) notebooks PROFILE=$(PROFILE)
	$(MAKE) book

# Re-train one committed run per (dataset, backbone) cell of PROFILE into build/verify and compare
# (bit-identical where code, hardware and threads match); the report goes to results/verify/.
verify: $(STAMP)
	@echo "PROFILE=$(PROFILE)"
	$(PY) -m msvp verify --profile $(PROFILE)

notebooks: $(STAMP)
	@echo "PROFILE=$(PROFILE)"
	$(PY) tools/execute_notebooks.py --profile $(PROFILE) --results ../results --out book --parallel $(JOBS)

# Push edits of the .py sources into their .ipynb pairs. An executed notebook never gives its
# inputs back to the .py (papermill's injected cell would leak into it): see tools/sync_notebooks.py.
sync: $(STAMP)
	$(PY) tools/sync_notebooks.py

# Release checks (tests marked `release`, well under a minute): actionlint on .github/workflows,
# cffconvert --validate, the lock file against pyproject.toml, sdist + wheel with twine check, the
# wheel and the Colab setup cell in fresh virtualenvs, the README's results table is current.
release-check: $(STAMP) $(RELEASE_STAMP)
	MSVP_RELEASE_TOOLS="$(CURDIR)/$(RELEASE_VENV)/bin" $(PY) -m pytest -q -p no:cacheprovider -m release \
	    tests/test_release.py tests/test_colab.py

release-tools: $(RELEASE_STAMP)

$(RELEASE_STAMP): tools/release-tools.txt
	test -x $(RELEASE_VENV)/bin/python || python3 -m venv $(RELEASE_VENV)
	$(RELEASE_VENV)/bin/python -m pip install -q -r tools/release-tools.txt
	touch $@

# Re-pin $(LOCK): the dependencies of pyproject.toml with the book and test extras, for .venv's
# Python on Linux x86_64, each held to the version installed in .venv (the environment the tests
# passed in). UPGRADE=1 resolves the newest versions instead: then make install LOCKED=1 and
# make test before committing the new lock.
lock: $(STAMP) $(RELEASE_STAMP)
	mkdir -p build/lock
	$(PY) -m pip freeze --all --exclude-editable | grep '==' > build/lock/tested-env.txt
	$(RELEASE_VENV)/bin/uv pip compile pyproject.toml --extra book --extra test --python $(PY) \
	    --python-platform x86_64-unknown-linux-gnu --annotation-style line \
	    $(if $(UPGRADE),,--constraint build/lock/tested-env.txt) \
	    --custom-compile-command "make lock" --quiet -o $(LOCK)
	@echo "wrote $(LOCK) ($$(grep -c '==' $(LOCK)) pins)"

# The README's results table (between its markers), from results/ (tools/readme_table.py)
readme: $(STAMP)
	$(PY) tools/readme_table.py

FORCE:

clean:
	rm -rf build/ _build/
