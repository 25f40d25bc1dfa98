# The dev loop. `make up` runs the stack, `make test` runs every check CI runs.
.PHONY: up test lint bench bootstrap test-localstack clean

bootstrap:
	scripts/bootstrap

up: bootstrap
	.venv/bin/lamina up $(ARGS)

test:
	scripts/test $(ARGS)

lint: bootstrap
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

bench: bootstrap
	@for script in bench/*.py; do echo "== $$script"; .venv/bin/python $$script || exit 1; done

# AWS-facing integration tests against LocalStack in host mode (no Docker) instead of moto.
test-localstack: bootstrap
	localstack/run-host.sh --test

clean:
	rm -rf .state .pytest_cache .mypy_cache .ruff_cache
