# Two commands a new user needs:  make run  and  make test
# Both create ./.venv and install the project into it first (nothing else is needed).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install eval clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The main job: ingest the bundled article into an empty store, then start the
# Discord bot if DISCORD_TOKEN is set, otherwise an interactive terminal chat.
run: $(STAMP)
	$(BIN)/python -m bot

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

# Answer quality on ../shared/eval (ingests the BBC corpus once: a few minutes).
eval: $(STAMP)
	$(BIN)/python -m evals

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
