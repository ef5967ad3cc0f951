# cxpulse: the commands a fresh machine needs. `make test` installs what is missing first.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
PYTEST_ARGS ?=
# make test runs the suite in this many processes (pytest-xdist; each has its own broker): 1 runs it in one
PYTEST_WORKERS ?= 2

.PHONY: help bootstrap lint test unit soak kafka-up kafka-down demo

help:
	@echo "make demo        install what is missing, then run the whole pipeline with simulated traffic and live alerts"
	@echo "make test        install what is missing, then make lint, then run the whole test suite (starts its own Kafka)"
	@echo "make lint        ruff check . and mypy (scripts/typecheck.py); fails on any finding"
	@echo "make unit        only the unit tests (no broker)"
	@echo "make soak        the load test: 2,000 events/s for 16 minutes through one worker (opt-in, not in make test)"
	@echo "make kafka-up    start the local Kafka broker (cxpulse kafka up)"
	@echo "make kafka-down  stop it"
	@echo "make bootstrap   Java 17+, Maven and .venv with cxpulse installed"

bootstrap:
	@scripts/bootstrap.sh

# ruff and mypy as pyproject.toml configures them (both come with the test extra); both run,
# and any finding of either fails.
lint: bootstrap
	@status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(PYTHON) scripts/typecheck.py || status=1; \
	exit $$status

test: bootstrap lint
	$(PYTHON) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

unit: bootstrap
	$(PYTHON) -m pytest tests/unit $(PYTEST_ARGS)

# SOAK_RATE, SOAK_SECONDS, SOAK_CUSTOMERS, SOAK_REPORT (JSON samples) tune it; see tests/integration/faults/test_soak.py
soak: bootstrap
	$(PYTHON) -m pytest -m soak -s tests/integration/faults/test_soak.py $(PYTEST_ARGS)

kafka-up: bootstrap
	$(VENV)/bin/cxpulse kafka up

kafka-down:
	$(VENV)/bin/cxpulse kafka down

# DEMO_ARGS="--customers 20000 --rate 1000" make demo
DEMO_ARGS ?=

demo: bootstrap
	$(VENV)/bin/cxpulse demo $(DEMO_ARGS)
