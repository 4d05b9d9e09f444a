# thidua — two commands on a fresh machine:
#   make sandbox  set up and try the bot without Telegram (web chat on 127.0.0.1:8080)
#   make run    set up (venv + pinned deps) and run the bot (BOT_TOKEN from env or .env)
#   make test   set up, ruff + mypy, then the whole suite on SQLite and (at the same time) its database tests on PostgreSQL
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: run sandbox test setup migrate migration i18n bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/thidua run

# Try it without Telegram: the real bot in a local web chat on http://127.0.0.1:8080
sandbox: $(STAMP)
	$(BIN)/thidua sandbox --demo

migrate: $(STAMP)
	$(BIN)/thidua migrate

test: $(STAMP)
	bash scripts/test.sh

# A new migration from the models: make migration MSG="what changed"
migration: $(STAMP)
	bash scripts/regen_migration.sh "$(MSG)"

i18n: $(STAMP)
	$(BIN)/python -m bot.i18n_tools pot
	$(BIN)/python -m bot.i18n_tools missing

bench: $(STAMP)
	for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) data/test-*
