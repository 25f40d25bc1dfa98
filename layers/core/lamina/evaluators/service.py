"""Evaluators as a kind of revisioned artifact: a revision's `data` is Agenta's workflow revision data
(`uri`, `parameters`, and for code / webhook evaluators `script` / `url`).

The library interface the evaluation runs use: `evaluator_of`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from lamina.api.schemas import Reference
from lamina.artifacts import views
from lamina.artifacts.kind import ArtifactKind
from lamina.artifacts.references import References
from lamina.errors import NotFoundError, ValidationFailedError
from lamina.evaluators.catalog import URI_PREFIX, check_settings, kind_of
from lamina.evaluators.models import Evaluator, EvaluatorDeployment, EvaluatorRevisionRow, EvaluatorVariant

# Agenta's workflow revision data, whose SDK model forbids any other key.
REVISION_DATA_KEYS = frozenset({"uri", "url", "headers", "runtime", "script", "schemas", "parameters"})
# A revision whose uri is not a built-in (an SDK handler evaluator, run by the client) has this kind.
CLIENT_SIDE_KIND = "custom"


@dataclass(frozen=True)
class EvaluatorRevision:
    """What running an evaluator needs: the revision's id, its kind (Agenta's key, e.g. `auto_exact_match`,
    or `custom` for an evaluator only its SDK client can run) and its settings (`parameters`, with the code
    or URL folded in for the code and webhook kinds)."""

    id: uuid.UUID
    kind: str
    settings: dict[str, Any]
    evaluator_id: uuid.UUID | None = None
    slug: str | None = None
    version: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


def validate_revision_data(data: dict[str, Any]) -> dict[str, Any]:
    """Agenta's keys only; a built-in `uri` must name a known kind and its parameters fit that kind's schema."""
    unknown = sorted(set(data) - REVISION_DATA_KEYS)
    if unknown:
        raise ValidationFailedError(
            f"evaluator revision data has unknown field {unknown[0]!r} "
            f"(known: {', '.join(sorted(REVISION_DATA_KEYS))})"
        )
    parameters = data.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise ValidationFailedError("evaluator parameters must be an object")
    uri = data.get("uri")
    if isinstance(uri, str) and uri.startswith(URI_PREFIX):
        kind_of(uri)  # an unknown built-in is refused
    kind = builtin_kind(uri)
    if kind is not None:
        check_settings(kind_of(kind), settings_of(kind, data))
    return data


def builtin_kind(uri: Any) -> str | None:
    """The built-in kind a revision's `uri` names (`agenta:builtin:<key>:v0`, or the bare key Agenta's SDK
    stores), None for anything else (an evaluator its SDK client runs)."""
    if not isinstance(uri, str):
        return None
    try:
        return kind_of(uri).key
    except ValidationFailedError:
        return None


def settings_of(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The settings `evaluate` takes: `parameters`, plus the code (`script`) or URL (`url`) Agenta keeps
    beside them."""
    settings = dict(data.get("parameters") or {})
    if kind == "auto_custom_code_run" and data.get("script") and "code" not in settings:
        settings["code"] = data["script"]
    if kind == "auto_webhook_test" and data.get("url") and "webhook_url" not in settings:
        settings["webhook_url"] = data["url"]
    return settings


EVALUATORS = ArtifactKind(
    name="evaluator",
    domain="evaluators",
    artifact=Evaluator,
    variant=EvaluatorVariant,
    revision=EvaluatorRevisionRow,
    deployment=EvaluatorDeployment,
    validate_data=validate_revision_data,
)


def _references(session: Session, project_id: uuid.UUID) -> References[Any, Any, Any, Any]:
    return References(session, EVALUATORS, project_id)


def resolve_revision(
    session: Session, project_id: uuid.UUID, evaluator_ref: Reference | Mapping[str, Any]
) -> EvaluatorRevisionRow:
    """The revision a reference names: a mapping `{evaluator_ref?, evaluator_variant_ref?,
    evaluator_revision_ref?}` resolved by the core, or one Reference tried as a revision, an evaluator, then a
    variant (by id), or as a revision slug then an evaluator slug."""
    found: EvaluatorRevisionRow = _references(session, project_id).loose(evaluator_ref)
    return found


def revision_config(revision: EvaluatorRevisionRow) -> EvaluatorRevision:
    data = dict(revision.data or {})
    kind = builtin_kind(data.get("uri")) or CLIENT_SIDE_KIND
    return EvaluatorRevision(
        id=revision.id,
        kind=kind,
        settings=settings_of(kind, data),
        evaluator_id=revision.evaluator_id,
        slug=revision.slug,
        version=revision.version,
        data=data,
    )


def evaluator_of(
    session: Session, project_id: uuid.UUID, evaluator_ref: Reference | Mapping[str, Any]
) -> EvaluatorRevision:
    """The evaluator revision a reference names (see `resolve_revision` for the forms), ready for
    `lamina.evaluators.runtime.evaluate(config.kind, config.settings, ...)`."""
    return revision_config(resolve_revision(session, project_id, evaluator_ref))


# ---------------------------------------------------------------- views


def evaluator_view(evaluator: Evaluator) -> dict[str, Any]:
    return views.artifact_view(evaluator)


def variant_view(variant: EvaluatorVariant) -> dict[str, Any]:
    return views.variant_view(EVALUATORS, variant)


def revision_view(revision: EvaluatorRevisionRow) -> dict[str, Any]:
    """Agenta's shape (`version` is a string), with the evaluator's and variant's slugs."""
    view = views.revision_view(EVALUATORS, revision)
    view["version"] = str(revision.version)
    return view


def latest_revision(session: Session, evaluator: Evaluator) -> EvaluatorRevisionRow | None:
    try:
        references = _references(session, evaluator.project_id)
        found: EvaluatorRevisionRow = references.latest_revision(references.default_variant(evaluator))
        return found
    except NotFoundError:
        return None
