# The two commands of the README. Each sets up what it needs first, so both work on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test setup lint

demo: setup
	$(VENV)/bin/vidsafe demo

# The tests drive the review UI in a real browser: their set-up installs Debian's chromium too.
test: SETUP_FLAGS = --browser
test: setup lint
	$(PY) -m pytest

setup:
	bash deploy/bootstrap.sh $(VENV)
	$(VENV)/bin/vidsafe setup $(SETUP_FLAGS)

lint:
	$(VENV)/bin/ruff check .
