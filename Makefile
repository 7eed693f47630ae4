# The two commands of the quick start: `make run` and `make test`. CI runs `.ci/run`, which calls `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PYTEST_WORKERS ?= 2

.PHONY: install run test lint types pytest test-db test-faults bench sysdeps messages clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# System packages the tests need: pdftotext (document checks) and Debian's Chromium (browser tests, driven by
# Playwright; Playwright's own browser download does not work offline). Installed once; a no-op afterwards.
sysdeps:
	@missing=""; command -v pdftotext >/dev/null || missing="$$missing poppler-utils"; \
	 test -x /usr/bin/chromium || missing="$$missing chromium"; \
	 if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

# The portal's texts (English msgids in api/web, found through babel.cfg): extract them into the template catalog,
# then merge it into each language's messages.po, where a new text waits with an empty (or, when it resembles an old
# one, a fuzzy) translation to fill; tests/web/test_translations.py fails until every one is translated. Nothing is
# compiled here nor at install: the app compiles each .po in memory with babel when it first needs it (api/web/
# i18n.py), so `pip install .`, the Docker image and a checkout all run from the one .po they ship (package-data),
# without a build hook, and no stale .mo can hide an edit. File names only, sorted, unwrapped: parallel edits merge.
# A new language: `pybabel init -i api/web/locale/messages.pot -d api/web/locale -l de`, then add it to LANGUAGES.
LOCALE := api/web/locale
messages: install
	$(BIN)/pybabel -q extract -F babel.cfg --add-location=file --sort-output --no-wrap -c Translators: \
		--project=innot --copyright-holder="the innot authors" -o $(LOCALE)/messages.pot .
	$(BIN)/pybabel -q update -i $(LOCALE)/messages.pot -d $(LOCALE) --ignore-obsolete --no-wrap \
		--ignore-pot-creation-date

run: install
	@$(BIN)/innot dev

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: install
	$(BIN)/mypy

# The browser tests run in their own pytest process: Playwright's sync API keeps an event loop alive that the
# asyncio tests must not share. Fault tests are longer: `make test-faults` (CI runs them too).
pytest: install sysdeps
	$(BIN)/pytest -n $(PYTEST_WORKERS) -q -p no:cacheprovider --ignore=tests/web --ignore=tests/faults
	$(BIN)/pytest -q -p no:cacheprovider tests/web

test: lint types pytest

# Every database test again, against PostgreSQL (fresh database per run, created by the fixtures).
test-db: install sysdeps
	INNOT_TEST_POSTGRES_URL=$${INNOT_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test} \
		$(BIN)/pytest -n $(PYTEST_WORKERS) -q -p no:cacheprovider -m db --ignore=tests/web --ignore=tests/faults
	INNOT_TEST_POSTGRES_URL=$${INNOT_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test} \
		$(BIN)/pytest -q -p no:cacheprovider -m db tests/web

# Fault injection (worker SIGKILLed, Temporal restarted on its SQLite file, database cut for 30 s): minutes long.
test-faults: install sysdeps
	INNOT_TEST_POSTGRES_URL=$${INNOT_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test} \
		$(BIN)/pytest -q -p no:cacheprovider -m faults tests/faults

bench: install sysdeps
	$(BIN)/python -m bench

clean:
	rm -rf var/ .mypy_cache .ruff_cache .pytest_cache
