# The README's two commands: `make run` and `make test`. Both create .venv and
# install the package the first time; later calls skip the install (stamp file)
# unless pyproject.toml changed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ARGS ?=
# `make test` spreads tests over one process per core (pytest-xdist; whole modules stay
# together, so a module's fixtures are made once); WORKERS=0 runs them in this process.
WORKERS ?= auto

.PHONY: install run test test-all lint bench bench-gpu clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

run: $(STAMP)  ## train the default experiment (extra overrides: make run ARGS="model.activation=tanh")
	$(BIN)/runner train $(ARGS)

test: $(STAMP)  ## the fast test suite (slow/gpu/slurm tests are deselected)
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadscope $(ARGS)

test-all: $(STAMP)  ## every test, including the slow ones (in one process: some time themselves or share a cluster)
	$(BIN)/python -m pytest -m "" $(ARGS)

lint: $(STAMP)  ## ruff: formatting and lint rules (pyproject.toml [tool.ruff]); `make lint ARGS=--fix` to repair
	$(BIN)/ruff format --check .
	$(BIN)/ruff check . $(ARGS)

bench: $(STAMP)  ## the project against a plain PyTorch loop (benchmarks/run.py --help; quick: make bench ARGS="--quick --repeats 1"; language models: ARGS="--cases lm_lstm,lm_transformer")
	$(BIN)/python benchmarks/run.py $(ARGS)

# No install step: a GPU machine brings its own torch (and cannot reach PyPI); the script finds
# runner in this checkout. The venv's python when there is one.
bench-gpu:  ## GPU: Nielsen's CNN with each speed option vs the plain loop, time to 99% test accuracy (benchmarks/gpu.py --help)
	$(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON)) benchmarks/gpu.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
