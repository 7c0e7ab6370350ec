# The two commands of the README, and the steps they are made of.
.PHONY: test serve odoo-env lint format

test:  ## the whole suite: lint, engine tests on PostgreSQL, Odoo end to end and Odoo suites
	bash scripts/run-tests.sh

serve:  ## a local Odoo 19 on 127.0.0.1 with job_worker loaded server-wide on a ready database
	bash scripts/serve.sh

odoo-env:  ## build (or reuse) the Odoo 19 environment; prints ODOO_PYTHON and ODOO_ADDONS_PATH
	bash scripts/build-odoo-env.sh

lint:
	bash scripts/dev-tools.sh && .venv/bin/ruff check . && .venv/bin/ruff format --check .

format:
	bash scripts/dev-tools.sh && .venv/bin/ruff format . && .venv/bin/ruff check --fix .
