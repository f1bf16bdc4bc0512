# famhp — the two commands of the README: `make demo` and `make test`. Both create .venv themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_PORT ?= 8000
DEMO_DATA ?= data/demo
CHROMIUM ?= /usr/bin/chromium
DEMO_OIDC_PORT ?= 8100
DEMO_ENV := FAMHP_DATA_DIR=$(DEMO_DATA) FAMHP_BASE_URL=http://127.0.0.1:$(DEMO_PORT) FAMHP_DEMO=1 \
	EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend DJANGO_SETTINGS_MODULE=famhp.settings \
	FAMHP_OIDC_ISSUER=http://127.0.0.1:$(DEMO_OIDC_PORT) FAMHP_OIDC_VERIFY_KID=0
DEMO_USER_CLAIMS := {"sub": "demo-manager-be", "email": "an.peeters@example.be", "given_name": "An", "family_name": "Peeters"}

.PHONY: demo test lint types imports unit system-deps bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	@$(DEMO_ENV) $(BIN)/python manage.py migrate --noinput -v0
	@$(DEMO_ENV) $(BIN)/python manage.py load_demo
	@echo
	@echo "Federal login stand-in (OpenID Connect provider on loopback): http://127.0.0.1:$(DEMO_OIDC_PORT)/"
	@echo "Starting the portal on http://127.0.0.1:$(DEMO_PORT)/ (Ctrl+C to stop)."
	@echo "Staff workplace of the agency: http://127.0.0.1:$(DEMO_PORT)/workplace/ (finance officer: agency / demo-agency-2025, then the second factor)"
	@echo "Background worker for the workplace's mass actions: manage.py db_worker (log in $(DEMO_DATA)/worker.log)"
	@echo "The rules engine alone: $(BIN)/famhp calculate examples/year-2024.json --format table"
	@$(BIN)/python -m oidc_provider_mock --port $(DEMO_OIDC_PORT) --user-claims '$(DEMO_USER_CLAIMS)' >$(DEMO_DATA)/oidc.log 2>&1 & \
	  oidc=$$!; \
	  $(DEMO_ENV) $(BIN)/python manage.py db_worker --no-reload >$(DEMO_DATA)/worker.log 2>&1 & \
	  worker=$$!; \
	  trap "kill $$oidc $$worker 2>/dev/null" EXIT INT TERM; \
	  $(DEMO_ENV) $(BIN)/python manage.py runserver 127.0.0.1:$(DEMO_PORT) --noreload

test: lint types imports unit

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

types: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	PYTHONPATH=src $(BIN)/lint-imports

# Browser tests drive Debian's Chromium (Playwright cannot download its own here); WeasyPrint needs Pango;
# the catalogue test runs makemessages, which needs GNU gettext.
system-deps:
	@if [ ! -x $(CHROMIUM) ] || ! ldconfig -p | grep -q libpangoft2 || ! command -v msguniq >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libpango-1.0-0 \
	      libpangoft2-1.0-0 fonts-dejavu-core gettext >/dev/null; \
	  else echo "Chromium, Pango or gettext is missing: apt-get install chromium libpangoft2-1.0-0 gettext (browser, PDF or catalogue tests fail)."; fi; \
	fi

unit: $(STAMP) system-deps
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/calculate.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache
