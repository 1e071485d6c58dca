# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FORECAST_LEDGER_DATABASE_URL ?= sqlite:///forecast-ledger.sqlite3

.PHONY: run test lint format bench install clean lock

# Everything installs from requirements.lock (pip-tools, with hashes); the project itself goes
# in last without dependencies and without build isolation, so nothing unpinned is fetched.
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Upgrade every pin to the newest release that pyproject.toml allows, then `make test`.
LOCK_FLAGS := --extra dev --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links --output-file requirements.lock
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --upgrade $(LOCK_FLAGS) pyproject.toml

install: $(STAMP)

run: $(STAMP)
	$(BIN)/forecast-ledger demo
	$(BIN)/forecast-ledger serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy claims forecasts web
	$(BIN)/lint-imports

# The whole suite on SQLite, then again on a throwaway PostgreSQL cluster (tests/postgres.sh)
# when Debian's server is installed; CI installs it, so there it always runs.
test: lint
	$(BIN)/pytest -q -n 2
	@if [ -n "$$CI" ] || ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then \
		tests/postgres.sh $(BIN)/pytest -q -n 2; \
	else \
		echo "PostgreSQL server not installed (apt-get install postgresql): PostgreSQL run skipped"; \
	fi

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/submit.py
	$(BIN)/python bench/scoring.py --scale 0.1

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
