# The two commands: `make serve` and `make test`. Both work on a fresh Debian machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config/feedserver.yaml
# an operator's layout files (by name) replace the packaged ones in feedserver/layouts/
LAYOUTS ?= layouts

.PHONY: serve test test-deps lint bench install clean

$(BIN)/feedserver: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: $(BIN)/feedserver pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/feedserver

serve: $(BIN)/feedserver
	FEEDSERVER_LAYOUTS=$(LAYOUTS) $(BIN)/feedserver serve --config $(CONFIG)

# chromium, nginx + nchan, wrk, libraqm0, python3-venv, PostgreSQL on 127.0.0.1:5432: installed
# or started when missing (as root), else a stop naming the one command to run
test-deps:
	PYTHON=$(PYTHON) .ci/ensure-test-deps

test: test-deps $(VENV)/.test-deps
	$(BIN)/ruff check feedserver tests bench
	$(BIN)/pytest

lint: $(VENV)/.test-deps
	$(BIN)/ruff check feedserver tests bench
	$(BIN)/ruff format --check feedserver tests bench

bench: $(VENV)/.test-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) data .pytest_cache
