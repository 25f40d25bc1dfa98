"""Parameters resolved from references: the application revision an invoke names, through the registry.

Agenta's SDK sends `references: {application, application_variant, application_revision, environment}`
(API.md spells them with a `_ref` suffix: both are accepted) and the application's slug as
`selector.key`; the registry's retrieve answers the revision they name, or what the environment serves.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from lamina.errors import NotFoundError, ValidationFailedError
from lamina.tenancy.principal import Principal

REFERENCE_FIELDS = {
    "application": "application_ref",
    "application_variant": "application_variant_ref",
    "application_revision": "application_revision_ref",
    "environment": "environment_ref",
}


def retrieve_body(references: dict[str, dict[str, Any]], key: str | None) -> dict[str, Any]:
    """The registry's retrieve request for an invoke's references; unknown kinds are a 400 naming them."""
    body: dict[str, Any] = {}
    for name, ref in references.items():
        field = REFERENCE_FIELDS.get(name.removesuffix("_ref"))
        if field is None:
            known = ", ".join(sorted(REFERENCE_FIELDS))
            raise ValidationFailedError(f"references.{name}: not a reference the services resolve ({known})")
        body[field] = ref
    if key:
        body["key"] = key
    return body


def resolve_parameters(
    principal: Principal, references: dict[str, dict[str, Any]], key: str | None
) -> dict[str, Any]:
    """The `data.parameters` of the application revision the references name."""
    from lamina.applications import service as registry
    from lamina.applications.schemas import RevisionRetrieve
    from lamina.db.unit_of_work import unit_of_work

    try:
        body = RevisionRetrieve.model_validate(retrieve_body(references, key))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValidationFailedError(f"references: {where}: {first['msg']}") from error
    with unit_of_work() as session:
        answer = registry.retrieve(session, principal, body)
    revision = answer.get("application_revision") if answer.get("count") else None
    if not revision:
        raise NotFoundError("the references name an application with no committed revision")
    parameters = (revision.get("data") or {}).get("parameters")
    if not isinstance(parameters, dict):
        raise ValidationFailedError(
            f"application revision {revision.get('id')} has no data.parameters to run (a prompt)"
        )
    return parameters
