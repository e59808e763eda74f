# The README's two commands are `make run` and `make test`; the rest are helpers.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
CATALOGS := $(wildcard council/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

.PHONY: run test e2e screenshots chromium install translations extract update-catalogs lint clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Compiled catalogs are build products (not committed): rebuilt whenever a .po changes.
%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy=false -i $< -o $@ 2>/dev/null || $(BIN)/pybabel compile -i $< -o $@

translations: $(COMPILED)

run: install translations
	$(FLASK) db upgrade
	$(FLASK) council seed-demo --if-empty
	$(FLASK) run --host 127.0.0.1 --port 5000

# The browser tests (tests/e2e) drive Debian's Chromium: installed here when it is missing and we are root;
# otherwise they skip with one line (and fail in CI). Quiet, and instant when it is there.
chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ]; then \
		echo "== installing Chromium for the browser tests"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq chromium fonts-noto-cjk >/tmp/council-chromium.log 2>&1 \
		|| { apt-get update -qq >>/tmp/council-chromium.log 2>&1 \
		     && apt-get install -y -qq chromium fonts-noto-cjk >>/tmp/council-chromium.log 2>&1; } \
		|| { tail -n 20 /tmp/council-chromium.log; echo "Chromium could not be installed: browser tests will not run."; }; \
	fi

# SQLite always; PostgreSQL too when TEST_DATABASE_URL is set (.ci/run sets it). The browser tests run on SQLite only.
# The page tests run once more with members' pages kept (council/pagecache.py), as a server with Redis keeps them:
# any change a test makes that a kept page would not show fails them.
KEPT_PAGE_TESTS := tests/test_members_pages.py tests/test_proposals_flow.py tests/test_proposals_discussion.py \
	tests/test_territory_pages.py tests/test_concerns_flow.py tests/test_concerns_ledger.py tests/test_meetings.py \
	tests/test_membership.py tests/test_roles.py tests/test_elections_flow.py tests/test_elections_pages.py \
	tests/test_owners_register.py tests/test_routes_matrix.py tests/test_standing_cache.py tests/test_query_counts.py \
	tests/test_query_counts_more.py tests/test_ballots_votes.py tests/test_ballots_choice_flow.py

test: install translations chromium
	$(BIN)/python -m pytest -n 2 --dist loadfile
	@echo "== the page tests again, with members' pages kept"
	COUNCIL_TEST_KEEP_PAGES=1 $(BIN)/python -m pytest -n 2 --dist loadfile -q $(KEPT_PAGE_TESTS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL ($$TEST_DATABASE_URL)"; \
		COUNCIL_TEST_DB=postgresql $(BIN)/python -m pytest -n 2 --dist loadfile; \
	fi

# Only the browser tests, for developers (a failure leaves a screenshot and the page's HTML in test-output/e2e/).
e2e: install translations chromium
	$(BIN)/python -m pytest tests/e2e

# The README's screenshots (docs/screenshots/), taken in Chromium from a fresh demo database; commit what changed.
screenshots: install translations chromium
	$(BIN)/python scripts/screenshots.py

# The benchmark (bench/README.md): the app under gunicorn on 127.0.0.1, driven by wrk, next to a bare ceiling.
# Sizes and databases from BENCH_DB, BENCH_ESTATES, BENCH_SQLITE_ESTATES, BENCH_SECONDS (see bench/run.py).
.PHONY: bench
$(VENV)/.bench-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

bench: $(VENV)/.bench-installed translations
	$(BIN)/python bench/run.py

extract: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --ignore-dirs ".* __pycache__" -o council/translations/messages.pot --no-location --sort-output council templates

update-catalogs: extract
	$(BIN)/pybabel update -i council/translations/messages.pot -d council/translations --no-fuzzy-matching --ignore-obsolete

lint: install
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/ruff check council tests

clean:
	rm -rf $(VENV) instance/*.db* $(COMPILED)
