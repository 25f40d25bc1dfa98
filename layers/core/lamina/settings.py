"""The one typed settings object. Every environment variable Lamina reads is named here."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lamina.queues.names import Queue

# A default that is only acceptable on a developer's machine.
LOCAL_ONLY_SECRET = "lamina-local-only-secret-change-me"
# `lamina up` forwards this same-origin path to the AWS emulator, so the browser signs in without CORS.
LOCAL_COGNITO_PROXY_PATH = "/_local/cognito-idp/"


class Environment(StrEnum):
    LOCAL = "local"
    TEST = "test"
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


# The queues of the architecture, one per worker (declared in `lamina.queues.names.Queue`).
QUEUE_NAMES: tuple[str, ...] = tuple(queue.value for queue in Queue)


class Settings(BaseSettings):
    """Configuration from the environment; explicit keyword arguments override it.

    Arguments are accepted by field name (`Settings(database_url=...)`) or by variable name
    (`Settings(DATABASE_URL=...)`, so an environment-shaped dict can be passed as `Settings(**env)`).
    """

    # Not `populate_by_name`: pydantic-settings would then also read variables named after the fields
    # (ENVIRONMENT, LOG_LEVEL, SECRET_KEY...), which belong to other programs. Field names are mapped to
    # their variable names in __init__ instead.
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    def __init__(self, **values: Any) -> None:
        super().__init__(**{_variable_name(name): value for name, value in values.items()})

    environment: Environment = Field(default=Environment.LOCAL, validation_alias="LAMINA_ENV")
    database_url: str = Field(default="", validation_alias="DATABASE_URL")
    redis_url: str = Field(default="", validation_alias="REDIS_URL")
    aws_endpoint_url: str | None = Field(default=None, validation_alias="AWS_ENDPOINT_URL")
    aws_region: str = Field(default="us-east-1", validation_alias="AWS_REGION")
    bucket_name: str = Field(default="lamina-local", validation_alias="LAMINA_BUCKET")
    # Queue URLs, one env var per queue (EVENTS_QUEUE_URL, TRACING_QUEUE_URL, ...).
    evaluations_queue_url: str = Field(default="", validation_alias="EVALUATIONS_QUEUE_URL")
    tracing_queue_url: str = Field(default="", validation_alias="TRACING_QUEUE_URL")
    webhooks_queue_url: str = Field(default="", validation_alias="WEBHOOKS_QUEUE_URL")
    events_queue_url: str = Field(default="", validation_alias="EVENTS_QUEUE_URL")
    records_queue_url: str = Field(default="", validation_alias="RECORDS_QUEUE_URL")
    interactions_queue_url: str = Field(default="", validation_alias="INTERACTIONS_QUEUE_URL")
    triggers_queue_url: str = Field(default="", validation_alias="TRIGGERS_QUEUE_URL")
    cognito_user_pool_id: str = Field(default="", validation_alias="COGNITO_USER_POOL_ID")
    cognito_client_id: str = Field(default="", validation_alias="COGNITO_CLIENT_ID")
    # Base URL of the Cognito IdP that issues tokens; empty means the real AWS one for aws_region.
    cognito_issuer_base: str = Field(default="", validation_alias="COGNITO_ISSUER_BASE")
    # Where the pool's signing keys are served; empty means `<issuer>/.well-known/jwks.json` (or, locally with
    # an emulator, `<AWS_ENDPOINT_URL>/<pool>/.well-known/jwks.json`, where moto and LocalStack serve them).
    cognito_jwks_url: str = Field(default="", validation_alias="COGNITO_JWKS_URL")
    # The KMS key that wraps the data keys of the secrets vault; locally an emulator key found by alias.
    kms_key_id: str = Field(default="", validation_alias="LAMINA_KMS_KEY_ID")
    # Signs the short-lived internal service tokens (function-to-function, runner call-backs).
    secret_key: str = Field(default=LOCAL_ONLY_SECRET, validation_alias="LAMINA_SECRET_KEY")
    runner_url: str = Field(default="http://127.0.0.1:8765", validation_alias="LAMINA_RUNNER_URL")
    # The bearer token the API presents to the runner; empty derives one from secret_key (both sides hold it).
    runner_token: str = Field(default="", validation_alias="LAMINA_RUNNER_TOKEN", repr=False)
    # The API's base URL, for the runner's server-side tool call-backs.
    api_url: str = Field(default="", validation_alias="LAMINA_API_URL")
    # A role the runner assumes, narrowed by a session policy to one session's workspace prefix; empty uses
    # the runner's own credentials (locally, the emulator's).
    workspace_role_arn: str = Field(default="", validation_alias="LAMINA_WORKSPACE_ROLE_ARN")
    log_level: str = Field(default="INFO", validation_alias="LAMINA_LOG_LEVEL")
    # How long recorded events and trigger deliveries are kept, unless a project sets its own
    # (`PUT /api/events/settings`).
    events_retention_days: int = Field(default=30, ge=1, validation_alias="LAMINA_EVENTS_RETENTION_DAYS")
    # The function's Timeout (the template's Globals default unless the function sets it): the database's
    # statement and lock timeouts stay below it, so a slow query answers 503/504 instead of a killed function.
    function_timeout_s: float = Field(default=30.0, gt=0, validation_alias="LAMINA_FUNCTION_TIMEOUT_S")
    # Per-provider limits the evaluation workers share (in Redis): JSON `{"openai": {"rpm": 500, "tpm":
    # 200000}}`; a provider not named is not limited.
    evaluation_provider_limits: dict[str, dict[str, int]] = Field(
        default_factory=dict, validation_alias="LAMINA_EVALUATION_PROVIDER_LIMITS"
    )
    # How long a scenario may stay running before the watchdog fails it.
    evaluation_scenario_deadline_s: int = Field(
        default=900, ge=10, validation_alias="LAMINA_EVALUATION_SCENARIO_DEADLINE_S"
    )
    # Explicit AWS credentials (the emulator's, locally); None leaves boto3's own credential chain in charge.
    aws_access_key_id: str | None = Field(default=None, validation_alias="AWS_ACCESS_KEY_ID", repr=False)
    aws_secret_access_key: str | None = Field(
        default=None, validation_alias="AWS_SECRET_ACCESS_KEY", repr=False
    )
    aws_session_token: str | None = Field(default=None, validation_alias="AWS_SESSION_TOKEN", repr=False)
    # The webhooks worker dead-letters deliveries out of attempts here (else found from the redrive policy).
    webhooks_dlq_url: str = Field(default="", validation_alias="WEBHOOKS_DLQ_URL")
    # Per-request timeout of a webhook delivery (connect and read each).
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=30, validation_alias="LAMINA_WEBHOOK_TIMEOUT_S")
    # Lets outbound calls to user URLs (webhooks) reach 127.0.0.1/::1: local mode and tests only, never AWS.
    outbound_allow_loopback: bool = Field(default=False, validation_alias="LAMINA_OUTBOUND_ALLOW_LOOPBACK")
    # Multiplies webhook retry delays: tests shrink the backoff schedule (1.0 in every deployed stage).
    webhook_backoff_scale: float = Field(default=1.0, gt=0, validation_alias="LAMINA_WEBHOOK_BACKOFF_SCALE")
    # Multiplies the delays between a trigger run's retries after a transient failure: tests only, like above.
    trigger_backoff_scale: float = Field(default=1.0, gt=0, validation_alias="LAMINA_TRIGGER_BACKOFF_SCALE")

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, level: str) -> str:
        name = level.strip().upper()
        if not isinstance(logging.getLevelName(name), int):
            raise ValueError(f"unknown log level {level!r}: use DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return name

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Self:
        if self.environment in (Environment.LOCAL, Environment.TEST):
            return self
        problems = []
        if self.secret_key == LOCAL_ONLY_SECRET or len(self.secret_key) < 32:
            problems.append("LAMINA_SECRET_KEY must be set to a random value of 32+ characters")
        if not self.database_url:
            problems.append("DATABASE_URL must be set")
        if not self.redis_url:
            problems.append("REDIS_URL must be set")
        if self.outbound_allow_loopback:
            problems.append("LAMINA_OUTBOUND_ALLOW_LOOPBACK is for local mode and tests only")
        if self.webhook_backoff_scale != 1.0:
            problems.append("LAMINA_WEBHOOK_BACKOFF_SCALE is for tests only")
        if self.trigger_backoff_scale != 1.0:
            problems.append("LAMINA_TRIGGER_BACKOFF_SCALE is for tests only")
        if problems:
            raise ValueError(f"unsafe configuration for {self.environment.value}: " + "; ".join(problems))
        return self

    @property
    def db_statement_timeout_s(self) -> float:
        """Postgres's statement_timeout: a margin under the function's timeout to answer with an error."""
        return max(1.0, min(self.function_timeout_s - 2.0, self.function_timeout_s * 0.9))

    @property
    def db_lock_timeout_s(self) -> float:
        """Postgres's lock_timeout: a blocked write gives up early and answers 503 (retry), never hangs."""
        return min(5.0, self.db_statement_timeout_s / 2)

    @property
    def is_local(self) -> bool:
        return self.environment in (Environment.LOCAL, Environment.TEST)

    def queue_url(self, queue: Queue | str) -> str:
        """The URL of one of the stack's queues; empty when the queue is not configured."""
        try:
            name = Queue(queue)
        except ValueError:
            raise KeyError(f"unknown queue {queue!r}") from None
        url: str = getattr(self, f"{name.value}_queue_url")
        return url

    @property
    def runner_bearer_token(self) -> str:
        """The runner token: LAMINA_RUNNER_TOKEN, else an HMAC of secret_key under a label of its own."""
        if self.runner_token:
            return self.runner_token
        import hashlib
        import hmac

        return hmac.new(self.secret_key.encode(), b"lamina-runner-token", hashlib.sha256).hexdigest()

    @property
    def cognito_issuer(self) -> str:
        base = self.cognito_issuer_base or f"https://cognito-idp.{self.aws_region}.amazonaws.com"
        return f"{base.rstrip('/')}/{self.cognito_user_pool_id}"

    @property
    def cognito_browser_endpoint(self) -> str:
        """Where the web UI sends InitiateAuth: the real IdP, or locally the gateway's path to the emulator."""
        if self.is_local and self.aws_endpoint_url and not self.cognito_issuer_base:
            return LOCAL_COGNITO_PROXY_PATH
        return f"https://cognito-idp.{self.aws_region}.amazonaws.com/"

    @property
    def cognito_jwks_endpoint(self) -> str:
        """The JWKS URL tokens are verified against (see `cognito_jwks_url`)."""
        if self.cognito_jwks_url:
            return self.cognito_jwks_url
        if self.is_local and self.aws_endpoint_url and not self.cognito_issuer_base:
            return f"{self.aws_endpoint_url.rstrip('/')}/{self.cognito_user_pool_id}/.well-known/jwks.json"
        return f"{self.cognito_issuer}/.well-known/jwks.json"


def _variable_name(name: str) -> str:
    """The environment variable a field is read from; any other name (already a variable) unchanged."""
    field = Settings.model_fields.get(name)
    alias = field.validation_alias if field is not None else None
    return alias if isinstance(alias, str) else name


def get_settings() -> Settings:
    """The process's settings (see `lamina.state`): read from the environment once per process."""
    from lamina.state import current

    return current().settings
