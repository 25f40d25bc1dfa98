"""Request and response shapes of evaluation runs, after Agenta's (`agenta/_client/types/evaluation_*`,
`agenta.sdk.models.evaluations`): what its SDK sends is accepted, what it reads is answered."""

# No `from __future__ import annotations` here: pydantic would compile and evaluate each field's annotation
# string when the class is made, at the API function's cold start (see lamina.api.schemas.Model).

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from lamina.api.schemas import Body, Model, View, Windowing

MAX_REPEATS = 100
MAX_CONCURRENCY = 100
MAX_STEPS = 20
MAX_BULK = 1000


class RunStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILURE = "failure"
    ERRORS = "errors"
    CANCELLED = "cancelled"


TERMINAL = frozenset({RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.ERRORS, RunStatus.CANCELLED})
Origin = Literal["custom", "human", "auto"]
# Agenta's `Target`: entity ids with their origins, or a list of ids (origin "auto").
Steps = (
    Annotated[dict[uuid.UUID, Origin], Field(max_length=MAX_STEPS)]
    | Annotated[list[uuid.UUID], Field(max_length=MAX_STEPS)]
)
Free = dict[str, Any]


class RunData(Body):
    """What a run evaluates: test set revisions x application revisions x evaluators x repeats."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    # "running" from Agenta's SDK: it runs the loop itself and writes the results; the workers stay out.
    status: RunStatus | None = None
    query_steps: Steps | None = None
    testset_steps: Steps | None = None
    application_steps: Steps | None = None
    evaluator_steps: Steps | None = None
    repeats: Annotated[int, Field(ge=1, le=MAX_REPEATS)] | None = None
    concurrency: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)] | None = None


class SimpleEvaluationSpec(Body):
    model_config = ConfigDict(extra="allow", defer_build=True)

    name: str | None = None
    description: str | None = None
    flags: Free | None = None
    tags: Free | None = None
    meta: Free | None = None
    data: RunData | None = None


class SimpleEvaluationCreate(Body):
    """Agenta's `{evaluation: {name, data: {...}}}`, or the flat `{name?, data: {...}}`."""

    evaluation: SimpleEvaluationSpec | None = None
    name: str | None = None
    description: str | None = None
    flags: Free | None = None
    tags: Free | None = None
    meta: Free | None = None
    data: RunData | None = None

    def spec(self) -> SimpleEvaluationSpec:
        if self.evaluation is not None:
            return self.evaluation
        return SimpleEvaluationSpec(
            name=self.name,
            description=self.description,
            flags=self.flags,
            tags=self.tags,
            meta=self.meta,
            data=self.data,
        )


class Progress(Model):
    total: int = 0
    pending: int = 0
    queued: int = 0
    running: int = 0
    success: int = 0
    errors: int = 0
    failure: int = 0
    cancelled: int = 0


class RunView(View):
    id: uuid.UUID
    name: str | None = None
    description: str | None = None
    status: str
    flags: Free | None = None
    tags: Free | None = None
    meta: Free | None = None
    data: Free | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    created_by_id: uuid.UUID | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: Progress | None = None


class RunResponse(Model):
    count: int
    run: RunView | None = None


class RunsResponse(Model):
    count: int
    runs: list[RunView]


class SimpleEvaluationResponse(Model):
    count: int
    evaluation: RunView | None = None


class ScenarioView(View):
    id: uuid.UUID
    run_id: uuid.UUID
    status: str
    testcase_id: uuid.UUID | None = None
    application_revision_id: uuid.UUID | None = None
    inputs: Free | None = None
    error: str | None = None
    attempts: int = 0
    flags: Free | None = None
    tags: Free | None = None
    meta: Free | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class ScenarioResponse(Model):
    count: int
    scenario: ScenarioView | None = None


class ScenariosResponse(Model):
    count: int
    scenarios: list[ScenarioView]


class ResultView(View):
    id: uuid.UUID
    run_id: uuid.UUID
    scenario_id: uuid.UUID
    step_key: str
    repeat_idx: int = 0
    status: str
    testcase_id: uuid.UUID | None = None
    trace_id: str | None = None
    outputs: Any = None
    error: Free | None = None
    flags: Free | None = None
    tags: Free | None = None
    meta: Free | None = None
    created_at: datetime | None = None


class ResultsResponse(Model):
    count: int
    results: list[ResultView]


class MetricsView(View):
    id: uuid.UUID
    run_id: uuid.UUID
    scenario_id: uuid.UUID | None = None
    status: str
    data: Free
    created_at: datetime | None = None
    updated_at: datetime | None = None


class MetricsResponse(Model):
    count: int
    metrics: list[MetricsView]


# ---------------------------------------------------------------- requests


class _Query(Body):
    model_config = ConfigDict(extra="allow", defer_build=True)

    ids: Annotated[list[uuid.UUID], Field(max_length=MAX_BULK)] | None = None
    status: RunStatus | None = None
    statuses: list[RunStatus] | None = None
    flags: Free | None = None
    tags: Free | None = None
    meta: Free | None = None


class RunQuery(_Query):
    name: str | None = None


class RunQueryRequest(Body):
    run: RunQuery | None = None
    windowing: Windowing | None = None


class ScenarioQuery(_Query):
    run_id: uuid.UUID | None = None
    run_ids: Annotated[list[uuid.UUID], Field(max_length=MAX_BULK)] | None = None


class ScenarioQueryRequest(Body):
    scenario: ScenarioQuery | None = None
    windowing: Windowing | None = None


class ResultQuery(ScenarioQuery):
    scenario_id: uuid.UUID | None = None
    scenario_ids: Annotated[list[uuid.UUID], Field(max_length=MAX_BULK)] | None = None
    step_key: str | None = None
    step_keys: list[str] | None = None
    repeat_idx: int | None = None


class ResultQueryRequest(Body):
    result: ResultQuery | None = None
    windowing: Windowing | None = None


class MetricsQuery(_Query):
    run_id: uuid.UUID | None = None
    run_ids: Annotated[list[uuid.UUID], Field(max_length=MAX_BULK)] | None = None
    scenario_id: uuid.UUID | None = None
    # Agenta's selector: False is the run's own row (scenario_id NULL), True the per-scenario rows.
    scenario_ids: bool | Annotated[list[uuid.UUID], Field(max_length=MAX_BULK)] | None = None
    timestamps: bool | list[datetime] | None = None


class MetricsQueryRequest(Body):
    metrics: MetricsQuery | None = None
    windowing: Windowing | None = None


class MetricsRefreshSpec(Body):
    model_config = ConfigDict(extra="allow", defer_build=True)

    run_id: uuid.UUID
    scenario_id: uuid.UUID | None = None


class MetricsRefreshRequest(Body):
    metrics: MetricsRefreshSpec


class ScenarioCreate(Body):
    model_config = ConfigDict(extra="allow", defer_build=True)

    run_id: uuid.UUID
    status: RunStatus | None = None
    flags: Free | None = None
    tags: Free | None = None
    meta: Free | None = None


class ScenariosCreateRequest(Body):
    scenarios: Annotated[list[ScenarioCreate], Field(min_length=1, max_length=MAX_BULK)]


class ScenariosAddRequest(Body):
    model_config = ConfigDict(extra="allow", defer_build=True)

    count: Annotated[int, Field(ge=0, le=MAX_BULK)]
    timestamp: datetime | None = None


class ScenarioEdit(Body):
    model_config = ConfigDict(extra="allow", defer_build=True)

    id: uuid.UUID | None = None
    status: RunStatus | None = None
    flags: Free | None = None
    tags: Free | None = None
    meta: Free | None = None


class ScenarioEditRequest(Body):
    scenario: ScenarioEdit


class ResultCreate(Body):
    model_config = ConfigDict(extra="allow", defer_build=True)

    run_id: uuid.UUID
    scenario_id: uuid.UUID
    step_key: Annotated[str, Field(min_length=1, max_length=200)]
    repeat_idx: Annotated[int, Field(ge=0, le=MAX_REPEATS)] | None = 0
    status: RunStatus | None = None
    testcase_id: uuid.UUID | None = None
    trace_id: Annotated[str, Field(max_length=64)] | None = None
    outputs: Any = None
    error: Free | None = None
    flags: Free | None = None
    tags: Free | None = None
    meta: Free | None = None


class ResultsCreateRequest(Body):
    results: Annotated[list[ResultCreate], Field(max_length=MAX_BULK)]


class Annotation(Body):
    """A person's scores for a scenario: one result on a human step (e.g. `human.quality`)."""

    step_key: Annotated[str, Field(min_length=1, max_length=200)] = "human"
    repeat_idx: Annotated[int, Field(ge=0, le=MAX_REPEATS)] = 0
    outputs: dict[str, Any]
    note: Annotated[str, Field(max_length=10_000)] | None = None


class AnnotationRequest(Body):
    annotation: Annotation


class CompareRequest(Body):
    run_ids: Annotated[list[uuid.UUID], Field(min_length=2, max_length=10)]


class ComparedScenario(Model):
    testcase_id: uuid.UUID | None = None
    inputs: Free | None = None
    # Per run id: that run's scenario status, application outputs and evaluator outputs by step key.
    runs: dict[str, Free]


class CompareResponse(Model):
    run_ids: list[uuid.UUID]
    metrics: dict[str, Free]
    # Per metric path (`step.key.stat`): the value in each run, and each later run minus the first.
    deltas: dict[str, Free]
    scenarios: list[ComparedScenario]
