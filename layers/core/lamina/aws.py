"""Lazily created boto3 clients, one per service per process, honouring AWS_ENDPOINT_URL."""

from __future__ import annotations

import threading
from typing import Any

from lamina.settings import get_settings

# Lambda's own SDK defaults retry too little for a cold SQS/S3 endpoint and wait too long to connect.
CONNECT_TIMEOUT_S = 3
READ_TIMEOUT_S = 30
MAX_ATTEMPTS = 4

_clients: dict[str, Any] = {}
_lock = threading.Lock()


def client(service: str) -> Any:
    """The boto3 client for `service` ("s3", "sqs", "kms", ...), created on first use."""
    existing = _clients.get(service)
    if existing is not None:
        return existing
    with _lock:
        if service not in _clients:
            import boto3
            from botocore.config import Config

            settings = get_settings()
            _clients[service] = boto3.session.Session().client(
                service,
                region_name=settings.aws_region,
                endpoint_url=settings.aws_endpoint_url or None,
                config=Config(
                    connect_timeout=CONNECT_TIMEOUT_S,
                    read_timeout=READ_TIMEOUT_S,
                    retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
                ),
            )
        return _clients[service]


def reset_clients() -> None:
    """Forget every client (tests, settings changes)."""
    with _lock:
        _clients.clear()
