# Two commands on a fresh clone:  make demo  and  make test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test test-fast lint serve install clean production-demo production-demo-stop

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

# served processes run gevent unless told otherwise (queue-service serve/demo default to it)
demo: install
	$(BIN)/queue-service demo

serve: install
	$(BIN)/queue-service serve

# the production shape on this machine (docs/deployment.md): PostgreSQL, Redis, two gunicorn
# servers, the scheduler and nginx with TLS; Ctrl-C or production-demo-stop stops it all
production-demo: install
	$(BIN)/python tools/production_demo.py start $(DEMO_ARGS)

production-demo-stop:
	$(BIN)/python tools/production_demo.py stop $(filter --run-dir=%,$(DEMO_ARGS))

lint: install
	$(BIN)/ruff check queue_service kiosk display admin tests benchmarks tools
	$(BIN)/ruff format --check queue_service kiosk display admin tests benchmarks tools
	@# types: setup.cfg [mypy] (packages without types or stubs are ignored one by one there)
	$(BIN)/mypy -p queue_service
	@# no function rated worse than C (cyclomatic complexity above 20), but the known ones
	$(BIN)/python -m pytest -q -p no:randomly tests/test_house.py

# the whole suite; CI's entry point. QS_TEST_WORKERS=N runs it on N pytest-xdist workers (each
# with its own databases and ports); three by default: on the 2-core CI machine three finish
# sooner than two (550 s against 654 s, quiet). The servers the tests start hold at most 10
# PostgreSQL connections each (DATABASE_POOL_SIZE/MAX_OVERFLOW in tests/support/servers.py), so
# three workers stay under PostgreSQL's default max_connections of 100
test: install lint
	$(BIN)/python -m pytest -n $${QS_TEST_WORKERS:-3} --dist loadfile --durations=25 $(PYTEST_ARGS)

# the inner loop: SQLite only, no browser, no server or CLI subprocesses, nothing marked slow
FAST := not postgres and not redis and not browser and not live and not slow
test-fast: install
	$(BIN)/python -m pytest -n $${QS_TEST_WORKERS:-auto} -m "$(FAST)" $(PYTEST_ARGS)


clean:
	rm -rf $(VENV) instance .pytest_cache
