# 民政一体化服务平台 — the two commands: `make demo` and `make test`; `make serve` runs it in production.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
PREFIX  ?= 1307
HOUSEHOLDS ?= 20000
SEED    ?= 1

.PHONY: demo test install lint serve clean

$(BIN)/minzheng: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(BIN)/minzheng

install: $(BIN)/minzheng

demo: install
	$(BIN)/minzheng migrate --noinput
	$(BIN)/minzheng import_regions --prefix $(PREFIX)
	$(BIN)/minzheng create_demo_users --prefix $(PREFIX)
	$(BIN)/minzheng generate_population --prefix $(PREFIX) --households $(HOUSEHOLDS) --seed $(SEED) --if-empty
	$(BIN)/minzheng generate_cases --cases 150 --seed $(SEED) --if-empty
	$(BIN)/minzheng generate_check_data --prefix $(PREFIX) --seed $(SEED) --if-empty
	$(BIN)/minzheng generate_monitoring_data --prefix $(PREFIX) --seed $(SEED) --if-empty
	$(BIN)/minzheng generate_payment_data --prefix $(PREFIX) --seed $(SEED) --if-empty
	$(BIN)/minzheng generate_scenarios --prefix $(PREFIX) --if-empty
	$(BIN)/minzheng schedule_monitoring --region $(PREFIX) --time 02:00
	@# The background worker runs batch re-checks and monitoring sweeps started from the pages, and the nightly
	@# monitoring sweep while it is up; it stops with the server. Both sign the
	@# queued tasks, so they share one key: SECRET_KEY if set, else one made up for this run.
	SECRET_KEY=$${SECRET_KEY:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')}; export SECRET_KEY; \
	$(BIN)/minzheng qcluster & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/minzheng runserver 127.0.0.1:8000

# Production: gunicorn (minzheng/gunicorn_conf.py: two processes per core, WEB_THREADS threads each) and the background
# worker, DEBUG off, static files collected, hashed and compressed. Reads DATABASE_URL, SECRET_KEY (required),
# ALLOWED_HOSTS and the rest from the environment (deploy/minzheng.env.example); deploy/ has the systemd units.
serve: install
	export MINZHENG_PRODUCTION=1; \
	$(BIN)/minzheng migrate --noinput && \
	$(BIN)/minzheng collectstatic --noinput --verbosity 0 && \
	$(BIN)/minzheng check --deploy --fail-level ERROR && \
	{ $(BIN)/minzheng qcluster & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/gunicorn -c python:minzheng.gunicorn_conf; }

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check --quiet .
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) db.sqlite3* .pytest_cache
