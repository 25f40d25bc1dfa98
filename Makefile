# The dev loop. `make up` runs the stack, `make test` runs every check CI runs.
.PHONY: up test lint bench bootstrap web test-localstack clean

bootstrap:
	scripts/bootstrap

# The web UI (web/dist), rebuilt only when web/ changed; `lamina up` serves it at /.
web:
	scripts/build-web

up: bootstrap web
	.venv/bin/lamina up $(ARGS)

test:
	scripts/test $(ARGS)

lint: bootstrap
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

bench: bootstrap
	@for script in bench/*.py; do echo "== $$script"; .venv/bin/python $$script || exit 1; done

# AWS-facing integration tests against LocalStack in host mode (no Docker) instead of moto.
# (S3, SQS, KMS, Secrets Manager from community LocalStack; Cognito, ECS and HTTP API v2 stay with moto/lamina up.)
test-localstack: bootstrap
	localstack/run-host.sh --detach
	AWS_ENDPOINT_URL=http://127.0.0.1:4566 .venv/bin/pytest -m localstack tests/integration; \
	  status=$$?; localstack/run-host.sh stop; exit $$status

clean:
	rm -rf .state .pytest_cache .mypy_cache .ruff_cache
