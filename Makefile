# The book's build: make install | test | smoke | book | reproduce | notebooks | sync | clean
#
#   make reproduce            train what is missing for PROFILE, re-execute the notebooks, build the book
#   make test                 unit tests, smoke run of the grid and every notebook, nbval, book build
#   make notebooks PROFILE=cpu
#   make smoke JOBS=2         execute the smoke notebooks two at a time
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
JOBS    ?= 1

# Computed on first use only (so `make install` works before torch exists), then cached.
PROFILE ?= $(eval PROFILE := $(shell $(PY) -c 'import torch;print(torch.cuda.is_available())' 2>/dev/null \
             | grep -qx True && echo paper || echo cpu))$(PROFILE)

# the venv's kernelspec `python3` must win over a user-level one of the same name
export JUPYTER_PREFER_ENV_PATH := 1

NBVAL_ARGS := --nbval-lax -q -p no:cacheprovider --nbval-sanitize-with tools/nbval_sanitize.cfg

.PHONY: help install test unit smoke nbval book reproduce notebooks sync clean

help:
	@sed -n '1,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -e ".[book,test]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (msvp)"
	touch $@

test: $(STAMP)
	$(MAKE) unit
	$(MAKE) smoke
	$(MAKE) nbval
	$(MAKE) book
	@echo "make test: all passed"

# pytest exits 5 when it collects nothing; that is a failure here, said in words
unit: $(STAMP)
	rc=0; $(PY) -m pytest tests -q || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests in tests/" >&2; fi; \
	exit $$rc

# Smoke: a tiny grid into build/results, then every notebook of the toc against it, into
# build/smoke. Never writes into results/ or book/.
smoke: $(STAMP)
	$(PY) -m msvp grid --profile smoke --results build/results
	$(PY) tools/execute_notebooks.py --profile smoke --results "$(CURDIR)/build/results" \
	    --out build/smoke --parallel $(JOBS)

# nbval re-runs the committed, executed notebooks (with the parameters injected when they were
# executed) and compares the cells marked NBVAL_CHECK_OUTPUT. A missing notebook is an error; one
# executed from an older .py gets a warning (CHECK_STRICT=1 makes it an error).
nbval: $(STAMP)
	$(PY) tools/execute_notebooks.py --check $(if $(CHECK_STRICT),--strict)
	rc=0; $(PY) -m pytest $(NBVAL_ARGS) $$($(PY) tools/execute_notebooks.py --list) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: nbval collected no notebook cells" >&2; fi; \
	exit $$rc

# -n nitpicky, -W warnings are errors; intersphinx stays off (no network here)
book: $(STAMP)
	$(JB) build . -nW --keep-going
	$(PY) tools/check_html.py _build/html

# Train what is missing for PROFILE, re-execute every notebook into book/ (the paired .py files
# stay the source), then build the book.
reproduce: $(STAMP)
	@echo "PROFILE=$(PROFILE)"
	$(PY) -m msvp grid --profile $(PROFILE) --plan
	$(PY) -m msvp grid --profile $(PROFILE)
	$(MAKE) notebooks PROFILE=$(PROFILE)
	$(MAKE) book

notebooks: $(STAMP)
	$(PY) tools/execute_notebooks.py --profile $(PROFILE) --results ../results --out book --parallel $(JOBS)

# Push edits of the .py sources into their .ipynb pairs. An executed notebook never gives its
# inputs back to the .py (papermill's injected cell would leak into it): see tools/sync_notebooks.py.
sync: $(STAMP)
	$(PY) tools/sync_notebooks.py

clean:
	rm -rf build/ _build/
