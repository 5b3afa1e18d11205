# The two commands a newcomer needs: `make reproduce` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.dfdlab-installed

.PHONY: setup lab reproduce rehearse test test-unit test-notebooks lint sync strip clean

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

# Rehearses the full profile offline: every lesson (DFDLAB_PROFILE=full), every `dfdlab eval --suite`
# and one step of every `dfdlab train` recipe, over a miniature replica of the published layouts with
# official-format checkpoints of random weights (dfdlab.data.replica), two steps at a time, into build/rehearsal.
rehearse: $(STAMP)
	$(BIN)/python -m dfdlab.reproduce --rehearse --out build/rehearsal

# Tests and lessons in TEST_JOBS pytest-xdist workers (whole files each, the cores split between them;
# tests/conftest.py); `make test TEST_JOBS=0` runs them in this process, one after another.
TEST_JOBS ?= 2
XDIST     := $(if $(filter 0,$(TEST_JOBS)),,-n $(TEST_JOBS) --dist loadscope --no-loadscope-reorder)

test: $(STAMP)
	$(BIN)/python -m pytest $(XDIST)

test-unit: $(STAMP)
	$(BIN)/python -m pytest $(XDIST) tests

test-notebooks: $(STAMP)
	$(BIN)/python -m pytest $(XDIST) notebooks

# Style and correctness checks on the package, tests, benchmarks and the lessons' text sources.
lint: $(STAMP)
	$(BIN)/ruff check .

# Brings each lesson pair (notebooks/NN_name.py <-> .ipynb) in step, from whichever side was edited last.
sync: $(STAMP)
	$(BIN)/jupytext --sync notebooks/[0-9][0-9]_*.ipynb

# Removes outputs from the lessons before a commit, then re-pairs them.
strip: $(STAMP)
	$(BIN)/jupyter nbconvert --clear-output --inplace notebooks/[0-9][0-9]_*.ipynb
	$(BIN)/jupytext --sync notebooks/[0-9][0-9]_*.ipynb

clean:
	rm -rf build
