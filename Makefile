# walmart-sync developer entry points. The README's two commands are `make demo` and `make test`.
# Both set up everything they need on a fresh Debian machine: MariaDB server binaries (from
# Debian, when missing and run as root) and a virtualenv with the package and its extras.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint commerce-module alert-rules kafka bench setup mariadb chromium schema docs clean

demo: setup
	$(BIN)/walmart-sync demo

# Two phases. First everything but the fault-injection tests on two xdist workers, each with its own
# MariaDB and broker: those tests mostly wait on servers, not on the CPU, so two at a time nearly
# halve the wall time on a 2-core machine. --dist loadscope keeps a module's tests on one worker, in
# order: they share its module-scoped databases, which split across workers would each seed.
# Then the fault-injection tests (-m chaos) alone, one at a time: each drives a dozen processes flat
# out, and a neighbour would starve the recoveries they time. Both phases run; either failing fails.
# Exit code 5 (nothing selected, e.g. PYTEST_ARGS naming one file) is no failure. PYTEST_WORKERS=0
# runs the first phase in-process.
PYTEST_WORKERS ?= 2

test: setup chromium kafka lint commerce-module alert-rules
	@status=0; \
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadscope -m "not chaos" $(PYTEST_ARGS) || [ $$? -eq 5 ] || status=1; \
	$(BIN)/python -m pytest -m chaos $(PYTEST_ARGS) || [ $$? -eq 5 ] || status=1; \
	exit $$status

# Apache Kafka's broker jars (Maven Central, cached): the suite runs on Apache Kafka wherever Java 17 and
# Maven are there, and CI (CI=true) requires it; elsewhere on the embedded Tansu broker.
# Debezium (devstack/debezium: its embedded engine, built once by Maven, cached) for the Debezium-source test.
kafka:
	@if [ "$$CI" = "true" ]; then bash scripts/fetch-apache-kafka.sh >/dev/null; \
	else bash scripts/fetch-apache-kafka.sh >/dev/null || echo "Apache Kafka cannot run here: the tests use Tansu"; fi
	@if [ "$$CI" = "true" ]; then bash scripts/fetch-debezium.sh >/dev/null; \
	else bash scripts/fetch-debezium.sh >/dev/null || echo "Debezium cannot run here: its test is skipped"; fi

# The Prometheus alert rules: promtool check rules, and promtool test rules on their unit tests.
alert-rules:
	@bash scripts/check-alert-rules.sh

# The companion Magento module: php -l on every file and its PHPUnit tests (installs Debian's PHP).
commerce-module:
	@bash scripts/check-commerce-module.sh

# The layer rule (.importlinter), ruff and mypy over the production packages.
PRODUCTION := walmart_sync operations cdc_listener cdc_debezium sync_workers domain mappings plumbing config
lint: setup
	$(BIN)/lint-imports
	$(BIN)/ruff check $(PRODUCTION) devstack tests bench
	$(BIN)/mypy $(PRODUCTION)

bench: setup
	$(BIN)/python bench/run_all.py --quick

setup: mariadb $(STAMP)

mariadb:
	@bash scripts/ensure-mariadb.sh

chromium:
	@bash scripts/ensure-chromium.sh

# The sidecar and, beside it, the dev stack (its own distribution: emulators, demo, seed, chaos).
$(STAMP): pyproject.toml devstack/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]' -e ./devstack
	@touch $(STAMP)

# Regenerate what is generated from the reference set and the settings model.
schema: setup
	$(BIN)/python -m devstack.commerce_schema.generate

docs: setup
	$(BIN)/python -m config.reference > docs/configuration.md

clean:
	rm -rf $(VENV) .pytest_cache
