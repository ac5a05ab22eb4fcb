# The two commands of the README. Each sets up what it needs first, so both work on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-fast setup lint bench

demo: setup
	$(VENV)/bin/vidsafe demo

# The tests drive the review UI in a real browser, run Prometheus and draw captions in several fonts: their set-up
# installs Debian's chromium, prometheus and caption fonts too.
test: SETUP_FLAGS = --browser --prometheus --fonts
test: setup lint
	$(PY) -m pytest

# The unit tier alone (tests/unit/): it starts no service (promtool checks the alerting rules, so set-up installs
# Prometheus), about a minute and a half on 2 cores.
test-fast: SETUP_FLAGS = --prometheus
test-fast: setup lint
	$(PY) -m pytest tests/unit

# The end-to-end speed benchmark (benchmarks/e2e.py): writes benchmarks/results/e2e.md.
bench: setup
	$(PY) -m benchmarks.e2e

setup:
	bash deploy/bootstrap.sh $(VENV)
	$(VENV)/bin/vidsafe setup $(SETUP_FLAGS)

lint:
	$(VENV)/bin/ruff check .
