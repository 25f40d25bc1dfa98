"""Warm retrieve-by-environment (the SDK's per-request call) through the API function's Mangum handler.

p50/p99 over CALLS calls, next to GET /api/health measured the same way in the same run (health pings
Postgres, Redis and S3, so it is the floor of "a request that touches every backend"). Backends: DATABASE_URL /
REDIS_URL / AWS_ENDPOINT_URL when given (a scratch database is created and dropped), else embedded ones.

    .venv/bin/python bench/registry_retrieve.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core")]

CALLS = 2000
WARMUP_CALLS = 50
GOAL_P99_MS = 20.0
PROMPT = {
    "messages": [{"role": "user", "content": "Summarise {{text}}"}],
    "template_format": "curly",
    "llm_config": {"model": "gpt-4o-mini", "temperature": 0.1},
}


def http_event(method: str, path: str, body: Any, authorization: str | None) -> dict[str, Any]:
    event = json.loads((ROOT / "tests" / "events" / "apigw-http-api-v2.json").read_text())
    event.update(rawPath=path, rawQueryString="", routeKey="ANY /api/{proxy+}", isBase64Encoded=False)
    event["body"] = json.dumps(body) if body is not None else None
    event.pop("queryStringParameters", None)
    event.pop("cookies", None)
    event["headers"] = {"content-type": "application/json", "host": "localhost"}
    if authorization:
        event["headers"]["authorization"] = authorization
    event["requestContext"]["http"].update(method=method, path=path)
    event["requestContext"].pop("authorizer", None)
    return event


class Context:
    function_name = "bench"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def measure(call: Callable[[], dict[str, Any]], calls: int) -> list[float]:
    for _ in range(WARMUP_CALLS):
        call()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - started) * 1000)
        if response["statusCode"] != 200:
            raise SystemExit(f"unexpected {response['statusCode']}: {response.get('body')}")
    return samples


def forget_redis_keys(project_id: str, key_prefix: str) -> None:
    """The bench's keys on a shared Redis: the registry cache of its scratch project and its API key."""
    from lamina.cache import get_redis

    redis = get_redis()
    for pattern in (f"lamina:registry:*{project_id}*", f"lamina:apikey:{key_prefix}"):
        for key in redis.scan_iter(match=pattern):
            redis.delete(key)


def scratch_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    import pg8000.native
    from sqlalchemy.engine import make_url

    from lamina.db.engine import sqlalchemy_url

    url = make_url(sqlalchemy_url(admin_url))

    def admin() -> Any:
        return pg8000.native.Connection(
            user=url.username or "postgres",
            password=url.password,
            host=url.host or "localhost",
            port=url.port or 5432,
            database=url.database or "postgres",
            unix_sock=url.query.get("unix_sock"),  # type: ignore[arg-type]
        )

    name = f"lamina_bench_{uuid.uuid4().hex[:8]}"
    connection = admin()
    connection.run(f'CREATE DATABASE "{name}"')
    connection.close()
    head, _, rest = admin_url.partition("://")
    authority_path, _, query = rest.partition("?")
    authority = authority_path.split("/", 1)[0]
    database_url = f"{head}://{authority}/{name}" + (f"?{query}" if query else "")

    def drop() -> None:
        from lamina.state import configure

        configure(None)  # closes the pool still connected to the scratch database
        connection = admin()
        connection.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.close()

    return database_url, drop


def start_scratch_stack() -> tuple[Any, dict[str, str], list[Callable[[], None]]]:
    """Backends (given by URL, else embedded), a scratch database on them, and the base environment a
    function would see. Returns (backends, env, cleanups); put the caller's own cleanups in front and pass
    the list to `run_cleanups` when done."""
    from lamina_local.backends import start_backends

    state = Path(tempfile.mkdtemp(prefix="lamina-bench-"))
    backends = start_backends(
        state,
        database_url=os.environ.get("DATABASE_URL"),
        redis_url=os.environ.get("REDIS_URL"),
        aws_endpoint_url=os.environ.get("AWS_ENDPOINT_URL"),
    )
    cleanups: list[Callable[[], None]] = [backends.stop, lambda: shutil.rmtree(state, ignore_errors=True)]
    try:
        database_url, drop = scratch_database(backends.database.url)
    except BaseException:
        run_cleanups(cleanups)
        raise
    cleanups.insert(0, drop)
    env = {
        **backends.environment(),
        "LAMINA_ENV": "local",
        "DATABASE_URL": database_url,
        "AWS_REGION": "us-east-1",
        "LAMINA_LOG_LEVEL": "WARNING",
    }
    return backends, env, cleanups


def run_cleanups(cleanups: list[Callable[[], None]]) -> None:
    for cleanup in cleanups:
        try:
            cleanup()
        except Exception as error:  # housekeeping: never hide the result
            print(f"cleanup failed: {error!r}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=CALLS)
    args = parser.parse_args()

    backends, env, cleanups = start_scratch_stack()
    try:
        env["LAMINA_BUCKET"] = f"lamina-bench-{uuid.uuid4().hex[:6]}"
        import boto3

        session = boto3.session.Session(
            region_name="us-east-1",
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "testing"),
            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "testing"),
        )
        session.client("s3", endpoint_url=backends.aws.url).create_bucket(Bucket=env["LAMINA_BUCKET"])
        queue = session.client("sqs", endpoint_url=backends.aws.url).create_queue(
            QueueName=f"lamina-bench-events-{uuid.uuid4().hex[:6]}"
        )
        env["EVENTS_QUEUE_URL"] = queue["QueueUrl"]

        from lamina.db.migrate import upgrade
        from lamina.db.unit_of_work import unit_of_work
        from lamina.settings import Settings
        from lamina.state import configure
        from lamina.tenancy.service import seed_local_user

        # The library is configured through its process state, as a function's environment would configure it.
        configure(Settings(**env))
        upgrade(env["DATABASE_URL"])
        with unit_of_work() as db:
            _, project, api_key = seed_local_user(db, f"bench-{uuid.uuid4().hex[:6]}@example.com")
        cleanups.insert(0, lambda: forget_redis_keys(str(project.id), api_key.split(".", 1)[0]))
        auth = f"ApiKey {api_key}"

        spec = importlib.util.spec_from_file_location("bench_api_app", ROOT / "functions" / "api" / "app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        handler = module.handler
        context = Context()

        def call(
            method: str, path: str, body: Any = None, authorization: str | None = auth
        ) -> dict[str, Any]:
            response: dict[str, Any] = handler(http_event(method, path, body, authorization), context)
            return response

        created = json.loads(
            call(
                "POST",
                "/api/simple/applications/",
                {"application": {"slug": "bench", "data": {"parameters": {"prompt": PROMPT}}}},
            )["body"]
        )
        revision_id = created["application"]["revision_id"]
        deployed = call(
            "POST",
            "/api/applications/revisions/deploy",
            {"application_revision_ref": {"id": revision_id}, "environment_ref": {"slug": "production"}},
        )
        assert deployed["statusCode"] == 200, deployed["body"]
        retrieve_body = {"environment_ref": {"slug": "production"}, "application_ref": {"slug": "bench"}}

        health = measure(lambda: call("GET", "/api/health", authorization=None), args.calls)
        retrieve = measure(
            lambda: call("POST", "/api/applications/revisions/retrieve", retrieve_body), args.calls
        )

        for name, samples in (("health", health), ("retrieve_by_environment", retrieve)):
            print(
                f"{name:<26} p50={percentile(samples, 50):7.3f} ms  p99={percentile(samples, 99):7.3f} ms  "
                f"mean={statistics.fmean(samples):7.3f} ms  n={len(samples)}"
            )
        p50_ratio = percentile(retrieve, 50) / percentile(health, 50)
        p99_ratio = percentile(retrieve, 99) / percentile(health, 99)
        print(f"ratio retrieve/health      p50={p50_ratio:.2f}x  p99={p99_ratio:.2f}x")
        print(f"RESULT registry_retrieve_p99_ms={percentile(retrieve, 99):.3f} goal<={GOAL_P99_MS:g}")
        return 0
    finally:
        run_cleanups(cleanups)


if __name__ == "__main__":
    raise SystemExit(main())
