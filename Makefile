# The README's two commands: `make demo` and `make test`.
# Each creates .venv on first use, installs the package with its extras, then runs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# the CPU build first, so the range in pyproject.toml is already satisfied
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[notebooks,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/ast-lab demo

test: $(STAMP)
	AST_LAB_QUICK=1 MPLBACKEND=Agg AST_LAB_HOME=$$(mktemp -d) $(BIN)/python -m pytest

clean-venv:
	rm -rf $(VENV)
