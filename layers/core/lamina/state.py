"""The process's state: one object built from `Settings` that holds every client, pool and cache.

A Lambda container (a process) builds it once, lazily, and keeps it between invocations. Nothing else in the
library keeps module-level state: a cache that outlives a request lives in `memo()`, so replacing the state
(`configure`) forgets everything at once and there is no hand-kept reset list to forget a cache in.

Tests and `lamina up` configure the library by passing `Settings` to `configure`, not by editing `os.environ`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from lamina.settings import Settings

if TYPE_CHECKING:
    from redis import Redis
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

# Lambda's own SDK defaults retry too little for a cold SQS/S3 endpoint and wait too long to connect.
AWS_CONNECT_TIMEOUT_S = 3
AWS_READ_TIMEOUT_S = 30
AWS_MAX_ATTEMPTS = 4
# Small pools: a Lambda container serves one request at a time; the local runtime runs many containers.
DB_POOL_SIZE = 2
DB_POOL_MAX_OVERFLOW = 3
# Recycle before RDS Proxy / pgbouncer idle timeouts would cut a pooled connection.
DB_POOL_RECYCLE_S = 300
REDIS_SOCKET_TIMEOUT_S = 5


class RedisNotConfiguredError(RuntimeError):
    pass


class ProcessState:
    """Settings plus what is built from them, each created on first use and kept for the process's life."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._aws_clients: dict[str, Any] = {}
        self._engine: Engine | None = None
        self._sessionmaker: sessionmaker[Session] | None = None
        self._redis: Redis | None = None
        self._memo: dict[str, Any] = {}

    def aws_client(self, service: str) -> Any:
        """The boto3 client for `service` ("s3", "sqs", "kms", ...), honouring AWS_ENDPOINT_URL."""
        existing = self._aws_clients.get(service)
        if existing is not None:
            return existing
        with self._lock:
            if service not in self._aws_clients:
                import boto3
                from botocore.config import Config

                settings = self.settings
                session = boto3.session.Session(
                    aws_access_key_id=settings.aws_access_key_id,
                    aws_secret_access_key=settings.aws_secret_access_key,
                    aws_session_token=settings.aws_session_token,
                )
                self._aws_clients[service] = session.client(
                    service,
                    region_name=self.settings.aws_region,
                    endpoint_url=self.settings.aws_endpoint_url or None,
                    config=Config(
                        connect_timeout=AWS_CONNECT_TIMEOUT_S,
                        read_timeout=AWS_READ_TIMEOUT_S,
                        retries={"max_attempts": AWS_MAX_ATTEMPTS, "mode": "standard"},
                    ),
                )
            return self._aws_clients[service]

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine for DATABASE_URL (pg8000)."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    from sqlalchemy import create_engine, event

                    from lamina.db.driver import set_nodelay, tune_pg8000
                    from lamina.db.engine import sqlalchemy_url, ssl_connect_args
                    from lamina.db.failures import quiet_dead_connection_logs

                    quiet_dead_connection_logs()
                    tune_pg8000()

                    url = self.settings.database_url
                    statement_s = self.settings.db_statement_timeout_s
                    self._engine = create_engine(
                        sqlalchemy_url(url),
                        pool_size=DB_POOL_SIZE,
                        max_overflow=DB_POOL_MAX_OVERFLOW,
                        pool_recycle=DB_POOL_RECYCLE_S,
                        pool_pre_ping=True,
                        connect_args={
                            # The socket timeout outlasts the statement timeout, so the server's own, clear
                            # error comes first; both stay under the function's timeout.
                            "timeout": statement_s + 1,
                            "startup_params": {
                                "statement_timeout": str(int(statement_s * 1000)),
                                "lock_timeout": str(int(self.settings.db_lock_timeout_s * 1000)),
                            },
                            **ssl_connect_args(url),
                        },
                    )
                    event.listen(self._engine, "connect", set_nodelay)
        return self._engine

    @property
    def sessionmaker(self) -> sessionmaker[Session]:
        if self._sessionmaker is None:
            from sqlalchemy.orm import sessionmaker

            engine = self.engine
            with self._lock:
                if self._sessionmaker is None:
                    self._sessionmaker = sessionmaker(bind=engine, expire_on_commit=False)
        return self._sessionmaker

    @property
    def redis(self) -> Redis:
        """The Redis client for REDIS_URL (`redis://`, `rediss://` or `unix://`)."""
        if self._redis is None:
            with self._lock:
                if self._redis is None:
                    from redis import Redis

                    url = self.settings.redis_url
                    if not url:
                        raise RedisNotConfiguredError("REDIS_URL is not set")
                    self._redis = Redis.from_url(
                        url,
                        socket_timeout=REDIS_SOCKET_TIMEOUT_S,
                        socket_connect_timeout=REDIS_SOCKET_TIMEOUT_S,
                    )
        return self._redis

    def memo(self, key: str, factory: Callable[[], T]) -> T:
        """A process-lifetime value (a cache, a compiled script), built once by `factory` and kept here."""
        try:
            value: T = self._memo[key]
            return value
        except KeyError:
            pass
        with self._lock:
            if key not in self._memo:
                self._memo[key] = factory()
            value = self._memo[key]
            return value

    def close(self) -> None:
        """Release connections; the object must not be used afterwards."""
        if self._engine is not None:
            self._engine.dispose()
        if self._redis is not None:
            self._redis.close()
        self._engine = self._sessionmaker = self._redis = None
        self._aws_clients.clear()
        self._memo.clear()


_state: ProcessState | None = None
_state_lock = threading.Lock()


def current() -> ProcessState:
    """This process's state, built from the environment on first use."""
    state = _state
    if state is not None:
        return state
    with _state_lock:
        if _state is None:
            _install(ProcessState(Settings()))
        assert _state is not None
        return _state


def configure(settings: Settings | None = None) -> ProcessState:
    """Replace the process's state with one built from `settings` (the environment when None)."""
    state = ProcessState(settings if settings is not None else Settings())
    with _state_lock:
        _install(state)
    return state


def _install(state: ProcessState) -> None:
    global _state
    previous, _state = _state, state
    if previous is not None:
        previous.close()
