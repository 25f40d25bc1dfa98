"""Simple (flat) applications: one application, its own variant and that variant's latest revision as one object.

What `/api/simple/applications/...` does on top of the registry: create the variant and first revision with
the application, commit new `data` to the default variant, and flatten the latest revision into the view.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy.orm import Session

from lamina.applications import schemas
from lamina.applications.models import Application
from lamina.applications.service import APPLICATIONS, application_view, default_variant, latest_revision
from lamina.artifacts import revisions
from lamina.artifacts import service as artifacts
from lamina.errors import NotFoundError, ValidationFailedError
from lamina.tenancy.principal import Principal

# A simple application's own variant gets a random slug, as in Agenta: "default" and every other name stay free
# for the variants Agenta's SDK creates right after `AppManager.create`.
SIMPLE_VARIANT_SLUG_BYTES = 6
INITIAL_MESSAGE = "initial"


def create(session: Session, principal: Principal, fields: schemas.SimpleApplicationFields) -> Application:
    """An application with its own variant (random slug) and a first revision (of `data`, possibly empty)."""
    app = artifacts.create_artifact(
        session,
        APPLICATIONS,
        principal,
        **fields.header(),
    )
    variant = artifacts.create_variant(
        session, APPLICATIONS, principal, app.id, slug=secrets.token_hex(SIMPLE_VARIANT_SLUG_BYTES)
    )
    revisions.commit(
        session,
        APPLICATIONS,
        principal,
        variant.id,
        data=fields.data or {},
        message=fields.message or INITIAL_MESSAGE,
    )
    return app


def edit(
    session: Session, principal: Principal, application_id: uuid.UUID, edits: schemas.SimpleApplicationEdits
) -> Application:
    """Edit the header; new `data` is committed as the next revision of the default variant."""
    if edits.id is not None and edits.id != application_id:
        raise ValidationFailedError("application.id does not match the id in the path")
    app = artifacts.edit_artifact(session, APPLICATIONS, principal, application_id, edits.header())
    if edits.data is not None:
        variant = default_variant(session, app)
        revisions.commit(session, APPLICATIONS, principal, variant.id, data=edits.data, message=edits.message)
    return app


def view(session: Session, app: Application) -> dict[str, Any]:
    """The application's header with its default variant's latest revision flattened in."""
    view = application_view(app)
    try:
        variant = default_variant(session, app)
        revision = latest_revision(session, variant)
    except NotFoundError:  # an application without a variant or revision still has a header
        return {**view, "variant_id": None, "revision_id": None, "version": None, "data": None}
    return {
        **view,
        "variant_id": str(variant.id),
        "revision_id": str(revision.id),
        "version": revision.version,
        "data": revision.data,
    }
