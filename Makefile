# Two commands on a fresh machine (Python >= 3.11):
#   make book   - virtual environment, install, execute every chapter (quick profile), build _build/html
#   make test   - virtual environment, install, run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.capfront-installed
PROFILE ?= quick
# extra options of `capfront build`, e.g. make book PROFILE=paper BUILD="--dask-local 16" (or "--force")
BUILD ?=

.PHONY: book test clean venv

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), f"capfront needs Python >= 3.11, found {sys.version.split()[0]}"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

book: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/capfront build --profile $(PROFILE) $(BUILD)

test: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest

clean:
	rm -rf _build book/chapters book/claims_ledger.ipynb book/sweeps.ipynb results test-artifacts
