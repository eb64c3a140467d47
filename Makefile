# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := wsgi:app

.PHONY: run test install lint format translations bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	@$(BIN)/pybabel compile -d bbtraining/translations --use-fuzzy --statistics 2>&1 | tail -n 2 || true

# run_dev.py migrates and seeds too, with PUBLIC_URL on the address it serves (HOST, PORT).
run: install
	$(BIN)/python scripts/run_dev.py

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Update the message catalogs after adding or changing _() strings.
extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o bbtraining/translations/messages.pot .
	$(BIN)/pybabel update -i bbtraining/translations/messages.pot -d bbtraining/translations --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
