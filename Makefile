# The two commands a new user needs: `make demo` and `make test`.
# Each creates .venv with Python 3.11 and installs keel (editable) first.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench soak mutate clean

SOAK_MINUTES ?= 10

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "keel needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/keel --log-level WARNING demo
	$(BIN)/keel replay verify --log-file .keel/demo/demo.keellog

# Each checkout gets its own pytest temp root: pytest keeps only the last
# three runs under one root and deletes older ones, which would pull the data
# directory from under a running PostgreSQL of another checkout's suite.
TEST_TMP := /tmp/keel-tests-$(shell printf '%s' '$(CURDIR)' | cksum | cut -d' ' -f1)

test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check contracts kernel plugins replay tests benchmarks examples tools
	$(BIN)/mypy
	mkdir -p $(TEST_TMP) && PYTEST_DEBUG_TEMPROOT=$(TEST_TMP) $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check contracts kernel plugins replay tests benchmarks examples tools
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m benchmarks.bus

# The pipeline at a steady rate for SOAK_MINUTES (default 10): soak.csv and
# soak.png in .keel/soak; fails if memory grows without bound or lag stays up.
soak: $(STAMP)
	$(BIN)/python -m benchmarks.soak --minutes $(SOAK_MINUTES) --out .keel/soak

# Mutation testing of the money and state logic (not part of `make test`):
# every module in [tool.keel.mutate.modules] of pyproject.toml, or only
# MODULES="plugins/risk/checks.py ...". MUTATE_JOBS sets mutmut's workers (2).
mutate: $(STAMP)
	$(BIN)/python tools/mutate.py $(MODULES)

clean:
	rm -rf $(VENV) .keel mutants
