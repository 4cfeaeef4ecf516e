# The README's two commands: `make demo` and `make test`.
# Each creates .venv on first use and installs what it needs: the demo the package alone,
# the tests the package with its extras (notebooks, pytest, librosa); then runs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
CORE   := $(VENV)/.installed-core
STAMP  := $(VENV)/.installed

.PHONY: demo test install model notebooks clean-venv

$(CORE): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# the CPU build first, so the range in pyproject.toml is already satisfied
	$(BIN)/python -m pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install -q --disable-pip-version-check -e .
	touch $(CORE)

$(STAMP): $(CORE)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[notebooks,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(CORE)
	$(BIN)/ast-lab demo

test: $(STAMP)
	AST_LAB_QUICK=1 MPLBACKEND=Agg AST_LAB_HOME=$$(mktemp -d) $(BIN)/python -m pytest

# The shipped model (ast_lab/assets/model): recipe esc10-ast-distilled trained on ESC-10 folds
# 2-5 (its teacher esc10-cnn first), tested on fold 1, exported with its card. ESC-10 is the
# esc10 subset of ESC-50's folder.
ESC50 ?= ../shared/esc50
model: $(STAMP)
	$(BIN)/ast-lab train --recipe esc10-ast-distilled --data folder --root $(ESC50) --esc10 --folds 1 \
		--out runs/model/esc10-ast-distilled --no-progress
	$(BIN)/ast-lab export --run runs/model/esc10-ast-distilled --fold 1 \
		--recipe esc10-ast-distilled --five-fold results/esc10/esc10-ast-distilled \
		--out ast_lab/assets/model

# Re-execute notebooks/NN_*.py and save their outputs into the committed .ipynb twins
# (01-03 with full settings, 04 in quick mode; each at most 3 MB).
notebooks: $(STAMP)
	$(BIN)/python scripts/execute_notebooks.py

clean-venv:
	rm -rf $(VENV)
