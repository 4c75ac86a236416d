# `make run`: create .venv, install the pinned dependencies, run the default experiment
# (the quick CSL reproduction). `make test`: the same environment, then lint and formatting (ruff) and the
# test suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install clean

$(STAMP): requirements.lock requirements-test.lock setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.lock -r requirements-test.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m experiments.benchmarking_gnns_csl.reproduce --quick

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -n 2 --dist loadgroup --durations=15 tests

clean:
	rm -rf $(VENV) runs
