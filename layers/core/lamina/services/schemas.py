"""Shapes of the Services API, after Agenta's SDK (`agenta.sdk.models.workflows`: WorkflowInvokeRequest,
WorkflowBatchResponse, WorkflowServiceStatus) so its clients and playground talk to Lamina unchanged."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from lamina.api.schemas import Model
from lamina.applications.prompt import LlmConfig, PromptTemplate

# The workflow interface version Agenta's SDK sends and expects back.
SERVICE_VERSION = "2025.07.14"
ServiceKind = Literal["completion", "chat"]
MAX_FALLBACK_CONFIGS = 5
MAX_RETRIES_LIMIT = 5


class RetryConfig(Model):
    """Agenta's `retry_config`: retries per model config, and the first backoff delay in milliseconds."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    max_retries: Annotated[int, Field(ge=0, le=MAX_RETRIES_LIMIT)] | None = None
    base_delay: Annotated[int, Field(ge=10, le=10_000)] | None = None


FallbackPolicy = Literal["off", "availability", "capacity", "access", "context", "any"]
RetryPolicy = Literal["off", "availability", "capacity", "transient", "any"]


class ServicePrompt(PromptTemplate):
    """A registry prompt plus what Agenta's prompt carries for running it: fallbacks and the retry policy."""

    fallback_configs: Annotated[list[LlmConfig], Field(max_length=MAX_FALLBACK_CONFIGS)] | None = None
    fallback_policy: FallbackPolicy | None = None
    retry_config: RetryConfig | None = None
    retry_policy: RetryPolicy | None = None


class ServiceParameters(Model):
    model_config = ConfigDict(extra="allow", defer_build=True)

    prompt: ServicePrompt


class InvokeData(Model):
    model_config = ConfigDict(extra="allow", defer_build=True)

    inputs: dict[str, Any] | None = None
    parameters: dict[str, Any] | None = None
    # Agenta sends these too (a revision, a test case, a parent trace); accepted, unused for now.
    revision: dict[str, Any] | None = None
    testcase: dict[str, Any] | None = None
    trace: dict[str, Any] | None = None


class InvokeRequest(Model):
    model_config = ConfigDict(extra="allow", defer_build=True)

    version: str | None = SERVICE_VERSION
    data: InvokeData | None = None
    references: dict[str, dict[str, Any]] | None = None
    # Agenta's selector: `key` is the application's slug, next to an environment reference.
    selector: dict[str, Any] | None = None
    flags: dict[str, Any] | None = None


class InvokeStatus(Model):
    code: int = 200
    message: str = "success"
    type: str | None = None


class InvokeResponseData(Model):
    outputs: Any = None


class InvokeResponse(Model):
    version: str = SERVICE_VERSION
    trace_id: str
    span_id: str
    status: InvokeStatus = InvokeStatus()
    data: InvokeResponseData


class InspectResponse(Model):
    """Agenta's WorkflowInspectResponse: the revision (its data carries the schemas) and a ready request."""

    version: str = SERVICE_VERSION
    revision: dict[str, Any]
    request: dict[str, Any]


class InspectRequest(Model):
    model_config = ConfigDict(extra="allow", defer_build=True)

    version: str | None = SERVICE_VERSION
    revision: dict[str, Any] | None = None
    references: dict[str, dict[str, Any]] | None = None
