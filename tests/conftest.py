"""Fixtures shared by every test: real Postgres and Redis (given by URL, else embedded) and moto's server.

DATABASE_URL / REDIS_URL / AWS_ENDPOINT_URL in the environment point the suite at existing servers (CI sets the
first two to this machine's Postgres and Redis; `make test-localstack` sets the third); whatever is not given
is started embedded, so the same command passes on a laptop with nothing running.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.support import LambdaContext, configure_library

TEST_REGION = "us-east-1"
TEST_BUCKET = "lamina-test-workspaces"
# A Redis database of its own, flushed at the start of the run, so the suite never sees a developer's keys;
# each pytest-xdist worker (gw0, gw1, ...) takes the next one, so parallel workers never flush each other's.
TEST_REDIS_DB = 13 + int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# Tests only ever talk to an emulator (moto, or LocalStack under `make test-localstack`): dummy credentials.
for _name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
    os.environ.setdefault(_name, "testing")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `-n N --dist loadgroup` a test file runs on one worker (its module fixtures start once), and the
    end-to-end files share one worker: each boots a whole `lamina up`, and two at once would fight over the
    runner's port and the machine's two cores. A test may name its own group instead (the OpenAPI fuzz test
    splits its operations into shards that run on different workers)."""
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue  # a test that splits itself across workers names its own groups
        path = item.nodeid.split("::", 1)[0]
        group = "e2e" if path.startswith("tests/e2e/") else path
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def _with_redis_db(url: str, db: int) -> str:
    if url.startswith("unix://"):
        base = url.split("?", 1)[0]
        return f"{base}?db={db}"
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


@pytest.fixture(scope="session")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from lamina_local.backends import start_backends

    started = start_backends(
        tmp_path_factory.mktemp("state"),
        database_url=os.environ.get("DATABASE_URL"),
        redis_url=os.environ.get("REDIS_URL"),
        aws_endpoint_url=os.environ.get("AWS_ENDPOINT_URL"),
    )
    yield started
    started.stop()


@pytest.fixture(scope="session")
def database_url(backends: Any) -> Iterator[str]:
    """A fresh database for this run on the test server, migrated to head, dropped afterwards."""
    import pg8000.native

    from lamina.db.engine import sqlalchemy_url
    from lamina.db.migrate import upgrade

    name = f"lamina_test_{uuid.uuid4().hex[:10]}"
    admin_url = backends.database.url

    def admin() -> Any:
        from sqlalchemy.engine import make_url

        url = make_url(sqlalchemy_url(admin_url))
        return pg8000.native.Connection(
            user=url.username or "postgres",
            password=url.password,
            host=url.host or "localhost",
            port=url.port or 5432,
            database=url.database or "postgres",
            unix_sock=url.query.get("unix_sock"),  # type: ignore[arg-type]
        )

    connection = admin()
    connection.run(f'CREATE DATABASE "{name}"')
    connection.close()
    url = _with_database(admin_url, name)
    upgrade(url)
    yield url
    from lamina.state import configure

    configure(None)  # closes the pools still connected to the database about to be dropped
    # Dropping is housekeeping, not a test: a server that hiccups here must not fail the run.
    for attempt in range(3):
        try:
            connection = admin()
            connection.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.close()
            break
        except Exception as error:
            print(f"could not drop test database {name} (attempt {attempt + 1}): {error!r}", file=sys.stderr)
            time.sleep(0.5)


@pytest.fixture(scope="session")
def redis_url(backends: Any) -> str:
    import redis

    url = _with_redis_db(backends.redis.url, TEST_REDIS_DB)
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


@pytest.fixture(scope="session")
def aws_resources(backends: Any) -> dict[str, str]:
    """The bucket and every queue (with its DLQ) in the emulator; returns the env vars naming them."""
    import boto3

    from lamina.settings import QUEUE_NAMES

    os.environ.update({k: v for k, v in backends.environment().items() if k.startswith("AWS_")})
    session = boto3.session.Session(region_name=TEST_REGION)
    endpoint = backends.aws.url
    s3 = session.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=TEST_BUCKET)
    sqs = session.client("sqs", endpoint_url=endpoint)
    env = {"LAMINA_BUCKET": TEST_BUCKET}
    for queue in QUEUE_NAMES:
        dlq_url = sqs.create_queue(QueueName=f"lamina-test-{queue}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        url = sqs.create_queue(
            QueueName=f"lamina-test-{queue}",
            Attributes={
                "VisibilityTimeout": "2",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
            },
        )["QueueUrl"]
        env[f"{queue.upper()}_QUEUE_URL"] = url
        env[f"{queue.upper()}_DLQ_URL"] = dlq_url
    return env


@pytest.fixture
def stack_env(
    database_url: str,
    redis_url: str,
    aws_resources: dict[str, str],
    backends: Any,
) -> Iterator[dict[str, str]]:
    """The environment a Lamina function sees; the library in this process is configured from it."""
    from lamina.state import configure

    env = {
        "LAMINA_ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "AWS_REGION": TEST_REGION,
        "AWS_DEFAULT_REGION": TEST_REGION,
        **{k: v for k, v in backends.environment().items() if k.startswith("AWS_")},
        **aws_resources,
    }
    configure_library(env)
    yield env
    configure(None)
