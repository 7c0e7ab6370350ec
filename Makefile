# The two commands of the README (test, serve), and focused commands for development.
.PHONY: help test test-engine test-odoo test-e2e test-oca serve odoo-env lint format

help:  ## list the commands
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

test:  ## the whole suite: lint, engine tests on PostgreSQL, Odoo end to end, Odoo suites
	bash scripts/run-tests.sh

test-engine:  ## pytest without Odoo: the engine on a real PostgreSQL (ARGS=… for pytest)
	bash scripts/run-pytest.sh engine $(ARGS)

test-e2e:  ## pytest with Odoo: real Odoo servers end to end (ARGS=… for pytest)
	bash scripts/run-pytest.sh e2e $(ARGS)

test-odoo:  ## the addons' Odoo tests; TAGS=/job_worker:TestClass runs a part
	bash scripts/run-odoo-suites.sh

serve:  ## a local Odoo 19 on 127.0.0.1 with job_worker loaded server-wide on a ready database
	bash scripts/serve.sh

odoo-env:  ## build (or reuse) the Odoo 19 environment; prints ODOO_PYTHON and ODOO_ADDONS_PATH
	bash scripts/build-odoo-env.sh

lint:  ## ruff check and ruff format --check
	bash scripts/dev-tools.sh && .venv/bin/ruff check . && .venv/bin/ruff format --check .

format:  ## ruff format and ruff check --fix
	bash scripts/dev-tools.sh && .venv/bin/ruff format . && .venv/bin/ruff check --fix .

test-oca:  ## OCA queue_job's own tests, renamed, on job_worker (downloads them; not in `make test`)
	bash scripts/port-oca-tests.sh
