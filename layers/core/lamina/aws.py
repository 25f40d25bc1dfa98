"""boto3 clients, one per service per process (held by `lamina.state`), honouring AWS_ENDPOINT_URL."""

from __future__ import annotations

from typing import Any


def client(service: str) -> Any:
    """The boto3 client for `service` ("s3", "sqs", "kms", ...), created on first use."""
    from lamina.state import current

    return current().aws_client(service)
