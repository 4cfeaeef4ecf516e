# The README's two commands: `make demo` and `make test`.
# Each creates .venv on first use, installs the package with its extras, then runs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install model notebooks clean-venv

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

# The shipped model (ast_lab/assets/model): recipe esc10-ast-distilled trained on ESC-10 folds
# 2-5 (its teacher esc10-cnn first), tested on fold 1, exported with its card.
ESC10 ?= ../shared/esc10
model: $(STAMP)
	$(BIN)/ast-lab train --recipe esc10-ast-distilled --data folder --root $(ESC10) --folds 1 \
		--out runs/model/esc10-ast-distilled --no-progress
	$(BIN)/ast-lab export --run runs/model/esc10-ast-distilled --fold 1 \
		--recipe esc10-ast-distilled --five-fold results/esc10/esc10-ast-distilled

# Re-execute notebooks/NN_*.py and save their outputs into the committed .ipynb twins
# (01-03 with full settings, 04 in quick mode; each at most 3 MB).
notebooks: $(STAMP)
	$(BIN)/python scripts/execute_notebooks.py

clean-venv:
	rm -rf $(VENV)
