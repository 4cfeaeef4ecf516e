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

# The shipped model (ast_lab/assets/model): recipe esc50-ast trained on ESC-50 folds 2-5 and
# tested on fold 1 (fold 1 of the recipe's 5-fold run in results/esc50/esc50-ast, retrained with
# the same seed), exported with its card; ESC50 names the ESC-50 folder.
ESC50 ?= ../shared/esc50
model: $(STAMP)
	$(BIN)/ast-lab train --recipe esc50-ast --data folder --root $(ESC50) --folds 1 \
		--out runs/model/esc50-ast --no-progress
	$(BIN)/ast-lab export --run runs/model/esc50-ast --fold 1 \
		--recipe esc50-ast --five-fold results/esc50/esc50-ast \
		--out ast_lab/assets/model

# Re-execute notebooks/NN_*.py and save their outputs into the committed .ipynb twins
# (all with full settings, 04 training the demo's models; no dataset audio embedded; each at most 3 MB).
notebooks: $(STAMP)
	$(BIN)/python scripts/execute_notebooks.py

clean-venv:
	rm -rf $(VENV)
