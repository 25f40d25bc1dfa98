"""The prompt registry: applications as a kind of revisioned artifact (see `lamina.artifacts`).

What is application-specific lives here: the kind's description (its tables, its prompt validation), the
request bodies' mapping onto the core's operations, and the simple routes' "default variant" behaviour.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy.orm import Session

from lamina.applications import schemas
from lamina.applications.models import (
    Application,
    ApplicationRevision,
    ApplicationVariant,
    Environment,
    EnvironmentRevision,
)
from lamina.applications.prompt import validate_revision_data
from lamina.artifacts import environments, revisions, views
from lamina.artifacts import service as artifacts
from lamina.artifacts.kind import ArtifactKind
from lamina.artifacts.references import References
from lamina.artifacts.windowing import Window
from lamina.errors import NotFoundError, ValidationFailedError
from lamina.tenancy.principal import Principal

APPLICATIONS = ArtifactKind(
    name="application",
    domain="applications",
    artifact=Application,
    variant=ApplicationVariant,
    revision=ApplicationRevision,
    deployment=EnvironmentRevision,
    validate_data=validate_revision_data,
    # The Redis keys the registry has always used (`lamina:registry:...`).
    cache_namespace="registry",
)

# ---------------------------------------------------------------- views


def application_view(app: Application) -> dict[str, Any]:
    return views.artifact_view(app)


def variant_view(variant: ApplicationVariant) -> dict[str, Any]:
    return views.variant_view(APPLICATIONS, variant)


def revision_view(revision: ApplicationRevision) -> dict[str, Any]:
    return views.revision_view(APPLICATIONS, revision)


def environment_view(environment: Environment) -> dict[str, Any]:
    return views.environment_view(environment)


def environment_revision_view(deployment: EnvironmentRevision, environment: Environment) -> dict[str, Any]:
    return views.deployment_view(APPLICATIONS, deployment, environment)


# ---------------------------------------------------------------- applications


def create_application(
    session: Session, principal: Principal, fields: schemas.ApplicationFields
) -> Application:
    return artifacts.create_artifact(
        session,
        APPLICATIONS,
        principal,
        **fields.header(),
    )


def edit_application(
    session: Session, principal: Principal, application_id: uuid.UUID, edits: schemas.ApplicationEdits
) -> Application:
    if edits.id is not None and edits.id != application_id:
        raise ValidationFailedError("application.id does not match the id in the path")
    return artifacts.edit_artifact(
        session, APPLICATIONS, principal, application_id, edits.model_dump(exclude={"id"})
    )


def query_applications(
    session: Session, principal: Principal, body: schemas.ApplicationQuery
) -> Window[Application]:
    criteria = body.application
    return artifacts.query_artifacts(
        session,
        APPLICATIONS,
        principal,
        slug=criteria.slug if criteria else None,
        flags=criteria.flags if criteria else None,
        tags=criteria.tags if criteria else None,
        refs=body.application_refs,
        include_archived=body.include_archived,
        windowing=body.windowing,
    )


# ---------------------------------------------------------------- variants and revisions


def create_variant(
    session: Session, principal: Principal, fields: schemas.VariantFields
) -> ApplicationVariant:
    return artifacts.create_variant(
        session,
        APPLICATIONS,
        principal,
        fields.application_id,
        slug=fields.slug,
        name=fields.name,
        description=fields.description,
        flags=fields.flags,
        meta=fields.meta,
    )


def query_variants(
    session: Session, principal: Principal, body: schemas.VariantQuery
) -> Window[ApplicationVariant]:
    criteria = body.application_variant
    return artifacts.query_variants(
        session,
        APPLICATIONS,
        principal,
        artifact_refs=[
            *([body.application_ref] if body.application_ref else []),
            *(body.application_refs or []),
        ]
        or None,
        artifact_id=criteria.application_id if criteria else None,
        slug=criteria.slug if criteria else None,
        include_archived=body.include_archived,
        windowing=body.windowing,
    )


def set_variant_archived(
    session: Session, principal: Principal, variant_id: uuid.UUID, *, archived: bool
) -> ApplicationVariant:
    return artifacts.set_variant_archived(session, APPLICATIONS, principal, variant_id, archived=archived)


def fork_variant(
    session: Session, principal: Principal, body: schemas.VariantFork
) -> tuple[ApplicationVariant, ApplicationRevision]:
    return revisions.fork(
        session,
        APPLICATIONS,
        principal,
        variant_ref=body.application_variant_ref,
        revision_ref=body.application_revision_ref,
        slug=body.application_variant.slug,
        name=body.application_variant.name,
        description=body.application_variant.description,
        message=body.application_revision.message if body.application_revision else None,
    )


def commit_revision(
    session: Session, principal: Principal, fields: schemas.RevisionFields
) -> ApplicationRevision:
    """Version n+1 of the variant, after validating its prompt template(s)."""
    return revisions.commit(
        session,
        APPLICATIONS,
        principal,
        fields.application_variant_id,
        data=fields.data,
        message=fields.message,
        slug=fields.slug,
        artifact_id=fields.application_id,
    )


def log_revisions(
    session: Session, principal: Principal, body: schemas.RevisionLog
) -> list[ApplicationRevision]:
    return revisions.log(
        session,
        APPLICATIONS,
        principal,
        artifact_ref=body.application_ref,
        variant_ref=body.application_variant_ref,
        revision_ref=body.application_revision_ref,
        depth=body.depth,
    )


def query_revisions(
    session: Session, principal: Principal, body: schemas.RevisionQuery
) -> Window[ApplicationRevision]:
    criteria = body.application_revision
    return revisions.query_revisions(
        session,
        APPLICATIONS,
        principal,
        artifact_ref=body.application_ref,
        variant_ref=body.application_variant_ref,
        artifact_id=criteria.application_id if criteria else None,
        variant_id=criteria.application_variant_id if criteria else None,
        windowing=body.windowing,
    )


def default_variant(session: Session, application: Application) -> ApplicationVariant:
    return References(session, APPLICATIONS, application.project_id).default_variant(application)


def latest_revision(session: Session, variant: ApplicationVariant) -> ApplicationRevision:
    return References(session, APPLICATIONS, variant.project_id).latest_revision(variant)


# ---------------------------------------------------------------- environments


def list_environments(session: Session, principal: Principal) -> list[Environment]:
    return environments.list_environments(session, principal)


def deploy(
    session: Session, principal: Principal, body: schemas.RevisionDeploy
) -> environments.Deployment[EnvironmentRevision, ApplicationRevision]:
    """Point an environment at a revision; recorded as a new environment revision (history, rollback)."""
    return environments.deploy(
        session,
        APPLICATIONS,
        principal,
        environment_ref=body.environment_ref,
        artifact_ref=body.application_ref,
        variant_ref=body.application_variant_ref,
        revision_ref=body.application_revision_ref,
        environment_revision_ref=body.environment_revision_ref,
        message=body.message,
    )


def environment_log(
    session: Session, principal: Principal, body: schemas.EnvironmentLog
) -> tuple[Environment, Window[EnvironmentRevision]]:
    return environments.environment_log(
        session,
        APPLICATIONS,
        principal,
        environment_ref=body.environment_ref,
        artifact_ref=body.application_ref,
        key=body.key,
        windowing=body.windowing,
    )


def environments_with_deployments(
    session: Session, principal: Principal, body: schemas.EnvironmentQuery
) -> list[dict[str, Any]]:
    """Each environment and, per application, the revision deployed to it now (`/simple/environments/query`)."""
    served = environments.served_now(
        session,
        APPLICATIONS,
        principal,
        environment_refs=body.environment_refs,
        artifact_ref=body.application_ref,
        key=body.key,
    )
    return [
        {
            **environment_view(environment),
            "data": {
                "references": {
                    item.artifact.slug: {
                        "application": {"id": str(item.artifact.id), "slug": item.artifact.slug},
                        "application_variant": {"id": str(item.variant.id), "slug": item.variant.slug},
                        "application_revision": {
                            "id": str(item.revision.id),
                            "slug": item.revision.slug,
                            "version": item.revision.version,
                        },
                        "environment_revision": {
                            "id": str(item.environment_revision.id),
                            "version": item.environment_revision.version,
                        },
                    }
                    for item in items
                }
            },
        }
        for environment, items in served
    ]


def retrieve_json(session: Session, principal: Principal, body: schemas.RevisionRetrieve) -> bytes:
    """The revision a reference points at, as the route's JSON body; by environment it is what is deployed
    there now (cached as that body: the SDK's per-request call). A reference to nothing answers count 0, as
    Agenta does: its SDK's upsert retrieves by slug first and creates the application on an empty answer."""
    try:
        return environments.retrieve(
            session,
            APPLICATIONS,
            principal,
            artifact_ref=body.application_ref,
            variant_ref=body.application_variant_ref,
            revision_ref=body.application_revision_ref,
            environment_ref=body.environment_ref,
            key=body.key,
            encode=_encode_retrieved,
        )
    except NotFoundError:
        if body.environment_ref is not None:
            raise
        return _encode_retrieved({"count": 0})


def retrieve(session: Session, principal: Principal, body: schemas.RevisionRetrieve) -> dict[str, Any]:
    """`retrieve_json`, decoded."""
    answer: dict[str, Any] = json.loads(retrieve_json(session, principal, body))
    return answer


def _encode_retrieved(answer: dict[str, Any]) -> bytes:
    """Checked against, and serialised by, the route's response model (what FastAPI would do per call)."""
    from lamina.applications.responses import RetrieveResponse

    return RetrieveResponse.model_validate(answer).model_dump_json(exclude_unset=True).encode()
