# The two commands a newcomer needs: `make reproduce` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.dfdlab-installed

.PHONY: setup lab reproduce test test-unit test-notebooks strip clean

# Creates .venv when missing and installs the pinned, tested versions.
$(STAMP): pyproject.toml requirements-lock.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23.1"
	$(BIN)/python -m pip install --quiet -r requirements-lock.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

setup: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# Executes every lesson headless (DFDLAB_PROFILE, default quick) into build/.
reproduce: $(STAMP)
	$(BIN)/python -m dfdlab.reproduce --out build

test: $(STAMP)
	$(BIN)/python -m pytest

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests

test-notebooks: $(STAMP)
	$(BIN)/python -m pytest notebooks

# Removes outputs from the lessons before a commit.
strip: $(STAMP)
	$(BIN)/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb

clean:
	rm -rf build
