"""The one settings object: env var names, explicit overrides, unsafe defaults refused outside local mode."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lamina.db.engine import DatabaseNotConfiguredError, sqlalchemy_url
from lamina.settings import Settings


def test_local_mode_accepts_the_built_in_defaults() -> None:
    settings = Settings(_env_file=None, LAMINA_ENV="local")  # type: ignore[call-arg]
    assert settings.is_local
    assert settings.queue_url("events") == ""


def test_production_refuses_the_local_secret_and_missing_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMINA_ENV", "prod")
    monkeypatch.delenv("LAMINA_SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ValidationError) as error:
        Settings()
    message = str(error.value)
    assert "LAMINA_SECRET_KEY" in message and "DATABASE_URL" in message


def test_production_with_real_values_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMINA_ENV", "prod")
    monkeypatch.setenv("LAMINA_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/lamina")
    monkeypatch.setenv("REDIS_URL", "rediss://cache:6379/0")
    monkeypatch.setenv("EVENTS_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/1/lamina-events")
    settings = Settings()
    assert settings.queue_url("events").endswith("lamina-events")
    with pytest.raises(KeyError):
        settings.queue_url("nope")


def test_every_declared_queue_reads_its_own_url_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from lamina.queues import Queue

    # GIVEN each queue's URL variable set (EVENTS_QUEUE_URL, ...); THEN each queue resolves to its own URL
    for queue in Queue:
        monkeypatch.setenv(queue.url_variable, f"https://sqs.us-east-1.amazonaws.com/1/lamina-{queue}")
    settings = Settings(LAMINA_ENV="test")  # type: ignore[call-arg]
    assert {queue: settings.queue_url(queue) for queue in Queue} == {
        queue: f"https://sqs.us-east-1.amazonaws.com/1/lamina-{queue}" for queue in Queue
    }


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db:5432/lamina", "postgresql+pg8000://u:p@db:5432/lamina"),
        ("postgres://u@db/lamina?sslmode=require", "postgresql+pg8000://u@db/lamina"),
        (
            "postgresql://postgres:@/postgres?host=/tmp/pg",
            "postgresql+pg8000://postgres:@/postgres?unix_sock=%2Ftmp%2Fpg%2F.s.PGSQL.5432",
        ),
        ("postgresql+pg8000://u@h/d", "postgresql+pg8000://u@h/d"),
    ],
)
def test_database_urls_become_pg8000_urls_for_tcp_and_unix_sockets(given: str, expected: str) -> None:
    assert sqlalchemy_url(given) == expected


def test_a_non_postgres_url_is_a_clear_error() -> None:
    with pytest.raises(DatabaseNotConfiguredError, match="postgresql://"):
        sqlalchemy_url("mysql://u@h/d")


def test_explicit_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an environment naming a database, a log level and a bucket
    monkeypatch.setenv("DATABASE_URL", "postgresql://env@db/env")
    monkeypatch.setenv("LAMINA_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("LAMINA_BUCKET", "env-bucket")
    # WHEN settings are built with explicit values, by field name and by variable name
    settings = Settings(database_url="postgresql://arg@db/arg", log_level="DEBUG", LAMINA_BUCKET="arg-bucket")
    # THEN the arguments win, and what was not given still comes from the environment
    assert (settings.database_url, settings.log_level, settings.bucket_name) == (
        "postgresql://arg@db/arg",
        "DEBUG",
        "arg-bucket",
    )
    assert Settings(environment="test").log_level == "WARNING"


def test_variables_named_like_the_fields_are_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN variables that other programs use, spelled like Lamina's field names
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.delenv("LAMINA_ENV", raising=False)
    monkeypatch.delenv("LAMINA_LOG_LEVEL", raising=False)
    # WHEN settings are read THEN only LAMINA_* names count
    settings = Settings()
    assert (settings.environment, settings.log_level) == ("local", "INFO")
