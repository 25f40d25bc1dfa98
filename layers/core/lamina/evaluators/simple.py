"""The evaluator routes' requests onto the core, and simple (flat) evaluators: one evaluator, its default
variant and that variant's latest revision as one object (`/api/simple/evaluators/...`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy.orm import Session

from lamina.artifacts import revisions
from lamina.artifacts import service as artifacts
from lamina.artifacts.latest import latest_revisions
from lamina.artifacts.references import References
from lamina.errors import NotFoundError, ValidationFailedError
from lamina.evaluators import schemas
from lamina.evaluators.models import Evaluator, EvaluatorRevisionRow, EvaluatorVariant
from lamina.evaluators.service import EVALUATORS, evaluator_view, latest_revision, revision_view
from lamina.tenancy.principal import Principal

DEFAULT_VARIANT_SLUG = "default"
INITIAL_MESSAGE = "initial"


def _data(data: schemas.EvaluatorData | None) -> dict[str, Any]:
    return data.model_dump(exclude_none=True) if data is not None else {}


def default_variant(session: Session, principal: Principal, evaluator: Evaluator) -> EvaluatorVariant:
    """The evaluator's default variant, made when it has none yet."""
    try:
        found: EvaluatorVariant = References(session, EVALUATORS, principal.project_id).default_variant(
            evaluator
        )
        return found
    except NotFoundError:
        return artifacts.create_variant(
            session, EVALUATORS, principal, evaluator.id, slug=DEFAULT_VARIANT_SLUG
        )


def commit(session: Session, principal: Principal, fields: schemas.RevisionFields) -> EvaluatorRevisionRow:
    """To the named variant, else to the evaluator's default variant."""
    variant_id = fields.evaluator_variant_id
    if variant_id is None:
        if fields.evaluator_id is None:
            raise ValidationFailedError(
                "name the variant (evaluator_variant_id) or the evaluator (evaluator_id)"
            )
        evaluator = artifacts.get_artifact(session, EVALUATORS, principal, fields.evaluator_id)
        variant_id = default_variant(session, principal, evaluator).id
    return revisions.commit(
        session,
        EVALUATORS,
        principal,
        variant_id,
        data=_data(fields.data),
        message=fields.message,
        slug=fields.slug,
        artifact_id=fields.evaluator_id,
    )


def retrieve(
    session: Session, principal: Principal, body: schemas.RevisionRetrieve
) -> EvaluatorRevisionRow | None:
    """The named revision, None when the references name nothing (Agenta's SDK probes slugs this way)."""
    try:
        found: EvaluatorRevisionRow = References(session, EVALUATORS, principal.project_id).target(
            artifact_ref=body.evaluator_ref,
            variant_ref=body.evaluator_variant_ref,
            revision_ref=body.evaluator_revision_ref,
        )
        return found
    except NotFoundError:
        return None


def log(session: Session, principal: Principal, body: schemas.RevisionLog) -> list[EvaluatorRevisionRow]:
    return revisions.log(
        session,
        EVALUATORS,
        principal,
        artifact_ref=body.evaluator_ref,
        variant_ref=body.evaluator_variant_ref,
        revision_ref=body.evaluator_revision_ref,
        depth=body.depth,
    )


def revision_with_slugs(session: Session, revision: EvaluatorRevisionRow) -> dict[str, Any]:
    view = revision_view(revision)
    references = References(session, EVALUATORS, revision.project_id)
    view["evaluator_slug"] = references.artifact_by_id(revision.evaluator_id).slug
    view["evaluator_variant_slug"] = references.variant_by_id(revision.variant_id).slug
    return view


# ---------------------------------------------------------------- simple evaluators


def create(session: Session, principal: Principal, fields: schemas.SimpleEvaluatorFields) -> Evaluator:
    evaluator = artifacts.create_artifact(
        session,
        EVALUATORS,
        principal,
        **fields.header(),
    )
    variant = artifacts.create_variant(
        session, EVALUATORS, principal, evaluator.id, slug=DEFAULT_VARIANT_SLUG
    )
    revisions.commit(
        session,
        EVALUATORS,
        principal,
        variant.id,
        data=_data(fields.data),
        message=fields.message or INITIAL_MESSAGE,
    )
    return evaluator


def edit(
    session: Session, principal: Principal, evaluator_id: uuid.UUID, edits: schemas.SimpleEvaluatorEdits
) -> Evaluator:
    """Edit the header; new `data` is committed as the next revision of the default variant."""
    if edits.id is not None and edits.id != evaluator_id:
        raise ValidationFailedError("evaluator.id does not match the id in the path")
    header = {field: getattr(edits, field) for field in ("name", "description", "flags", "tags", "meta")}
    evaluator = artifacts.edit_artifact(session, EVALUATORS, principal, evaluator_id, header)
    if edits.data is not None:
        variant = default_variant(session, principal, evaluator)
        revisions.commit(
            session, EVALUATORS, principal, variant.id, data=_data(edits.data), message=edits.message
        )
    return evaluator


def view(
    session: Session, evaluator: Evaluator, revision: EvaluatorRevisionRow | Literal[False] | None = False
) -> dict[str, Any]:
    """The header with the default variant's latest revision flattened in."""
    header = evaluator_view(evaluator)
    if revision is False:
        revision = latest_revision(session, evaluator)
    if revision is None:
        return {**header, "variant_id": None, "revision_id": None, "version": None, "data": None}
    return {
        **header,
        "variant_id": str(revision.variant_id),
        "revision_id": str(revision.id),
        "version": str(revision.version),
        "data": revision.data,
    }


def views(session: Session, evaluators: Sequence[Evaluator]) -> list[dict[str, Any]]:
    """A page of evaluators: two queries for their latest revisions, not two per item."""
    latest = latest_revisions(session, EVALUATORS, [e.id for e in evaluators])
    return [view(session, e, latest.get(e.id)) for e in evaluators]
