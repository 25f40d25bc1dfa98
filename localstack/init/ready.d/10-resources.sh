#!/bin/bash
# LocalStack "ready" hook (docker-compose.yml mounts it): create the Lamina stack's queues with their DLQs and
# redrive, the workspace bucket and the secrets KMS key. Names and attributes come from infra/template.yaml
# through create_resources.py, so nothing about the stack is restated here.
set -euo pipefail

# LocalStack's own interpreter has boto3 and PyYAML; any python3 with both will do outside the image.
PYTHON="${LAMINA_PYTHON:-/opt/code/localstack/.venv/bin/python}"
[[ -x "$PYTHON" ]] || PYTHON=python3

"$PYTHON" "${LAMINA_CREATE_RESOURCES:-/opt/lamina/create_resources.py}" \
  --endpoint-url "${LAMINA_LOCALSTACK_ENDPOINT:-http://localhost:4566}" \
  --template "${LAMINA_TEMPLATE:-/opt/lamina/template.yaml}" \
  --stack-name "${LAMINA_STACK_NAME:-lamina}" \
  --env-file "${LAMINA_ENV_FILE:-/tmp/lamina.env}"
