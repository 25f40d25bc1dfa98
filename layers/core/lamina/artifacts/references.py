"""The one reference resolver: `{id | slug | version}` references → rows of the caller's project.

Every lookup filters by project (another project's id is "not found", never "forbidden"). A variant named
next to an artifact is looked up in that artifact; a revision named next to a variant (or artifact) in that
variant (or artifact): a reference never escapes the scope its companions set.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, Generic

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from lamina.api.schemas import Reference
from lamina.artifacts.kind import A, ArtifactKind, D, R, V
from lamina.artifacts.models import DEFAULT_ENVIRONMENTS, Environment
from lamina.errors import NotFoundError, ValidationFailedError
from lamina.ids import uuid7

# Agenta's SDK names an application by `key`, sometimes as "<slug>.revision".
KEY_SUFFIX = ".revision"


class NothingCommittedError(NotFoundError):
    """The variant exists but has no revision yet (retrieve answers it as Agenta does: count 0)."""


def ensure_environments(session: Session, project_id: uuid.UUID) -> None:
    """development, staging and production exist in every project (created on first use, race-free)."""
    statement = insert(Environment).values(
        [
            {"id": uuid7(), "project_id": project_id, "slug": slug, "name": slug}
            for slug in DEFAULT_ENVIRONMENTS
        ]
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=["project_id", "slug"]))


class References(Generic[A, V, R, D]):
    """Resolves references to one kind's rows (and to environments) within one project."""

    def __init__(self, session: Session, kind: ArtifactKind[A, V, R, D], project_id: uuid.UUID) -> None:
        self.session = session
        self.kind = kind
        self.project_id = project_id

    # ------------------------------------------------------------ artifacts

    def artifact_by_id(self, artifact_id: uuid.UUID) -> A:
        table: Any = self.kind.artifact
        found: A | None = self.session.execute(
            select(table).where(table.id == artifact_id, table.project_id == self.project_id)
        ).scalar_one_or_none()
        if found is None:
            raise NotFoundError(f"{self.kind.name} {artifact_id} not found")
        return found

    def artifact(self, ref: Reference) -> A:
        if ref.id is not None:
            return self.artifact_by_id(ref.id)
        if ref.slug is None:
            raise ValidationFailedError(f"{self.kind.name}_ref needs an id or a slug")
        table: Any = self.kind.artifact
        found: A | None = self.session.execute(
            select(table).where(table.project_id == self.project_id, table.slug == ref.slug)
        ).scalar_one_or_none()
        if found is None:
            raise NotFoundError(f"{self.kind.name} {ref.slug!r} not found")
        return found

    def artifact_named(self, ref: Reference | None, key: str | None) -> A:
        """The artifact a reference names, else the one whose slug is `key`."""
        if ref is not None:
            return self.artifact(ref)
        if key:
            return self.artifact(Reference(slug=key.removesuffix(KEY_SUFFIX)))
        raise ValidationFailedError(f"name the {self.kind.name}: {self.kind.name}_ref or key")

    # ------------------------------------------------------------ variants

    def variant_by_id(self, variant_id: uuid.UUID) -> V:
        table: Any = self.kind.variant
        found: V | None = self.session.execute(
            select(table).where(table.id == variant_id, table.project_id == self.project_id)
        ).scalar_one_or_none()
        if found is None:
            raise NotFoundError(f"variant {variant_id} not found")
        return found

    def variant(self, ref: Reference, artifact: A | None = None) -> V:
        """The variant `ref` names; inside `artifact` when one is given (else its slug must be unambiguous)."""
        if ref.id is not None:
            variant = self.variant_by_id(ref.id)
            if artifact is not None and variant.artifact_id != artifact.id:
                raise NotFoundError(f"variant {ref.id} not found in {self.kind.name} {artifact.slug!r}")
            return variant
        if ref.slug is None:
            raise ValidationFailedError(f"{self.kind.variant_name}_ref needs an id or a slug")
        table: Any = self.kind.variant
        query = select(table).where(table.project_id == self.project_id, table.slug == ref.slug)
        if artifact is not None:
            query = query.where(table.artifact_id == artifact.id)
        found: list[V] = list(self.session.execute(query.limit(2)).scalars())
        if not found:
            where = f" in {self.kind.name} {artifact.slug!r}" if artifact is not None else ""
            raise NotFoundError(f"variant {ref.slug!r} not found{where}")
        if len(found) > 1:
            raise ValidationFailedError(
                f"variant slug {ref.slug!r} is used by several {self.kind.domain}: add {self.kind.name}_ref"
            )
        return found[0]

    def default_variant(self, artifact: A) -> V:
        """The artifact's first variant that is not archived."""
        table: Any = self.kind.variant
        found: V | None = self.session.execute(
            select(table)
            .where(table.artifact_id == artifact.id, table.archived_at.is_(None))
            .order_by(table.created_at, table.id)
            .limit(1)
        ).scalar_one_or_none()
        if found is None:
            raise NotFoundError(f"{self.kind.name} {artifact.slug!r} has no variant")
        return found

    # ------------------------------------------------------------ revisions

    def revision_by_id(self, revision_id: uuid.UUID) -> R:
        table: Any = self.kind.revision
        found: R | None = self.session.execute(
            select(table).where(table.id == revision_id, table.project_id == self.project_id)
        ).scalar_one_or_none()
        if found is None:
            raise NotFoundError(f"revision {revision_id} not found")
        return found

    def latest_revision(self, variant: V) -> R:
        table: Any = self.kind.revision
        found: R | None = self.session.execute(
            select(table).where(table.variant_id == variant.id).order_by(table.version.desc()).limit(1)
        ).scalar_one_or_none()
        if found is None:
            raise NothingCommittedError(f"variant {variant.slug!r} has no revision yet")
        return found

    def revision_version(self, variant: V, version: int) -> R:
        table: Any = self.kind.revision
        found: R | None = self.session.execute(
            select(table).where(table.variant_id == variant.id, table.version == version)
        ).scalar_one_or_none()
        if found is None:
            raise NotFoundError(f"variant {variant.slug!r} has no version {version}")
        return found

    def revision(self, ref: Reference, *, variant: V | None = None, artifact: A | None = None) -> R:
        """The revision `ref` names, which must belong to `variant` / `artifact` when they are given."""
        if ref.id is not None:
            revision = self.revision_by_id(ref.id)
        elif ref.slug is not None:
            table: Any = self.kind.revision
            found: R | None = self.session.execute(
                select(table).where(table.project_id == self.project_id, table.slug == ref.slug)
            ).scalar_one_or_none()
            if found is None:
                raise NotFoundError(f"revision {ref.slug!r} not found")
            revision = found
        else:
            assert ref.version is not None  # a Reference always has one of the three
            if variant is None:
                raise ValidationFailedError(f"a revision version needs {self.kind.variant_name}_ref")
            return self.revision_version(variant, ref.version)
        if variant is not None and revision.variant_id != variant.id:
            raise NotFoundError(f"revision {ref.id or ref.slug} not found in variant {variant.slug!r}")
        if artifact is not None and revision.artifact_id != artifact.id:
            raise NotFoundError(
                f"revision {ref.id or ref.slug} not found in {self.kind.name} {artifact.slug!r}"
            )
        return revision

    def variant_named(
        self, artifact_ref: Reference | None, variant_ref: Reference | None, key: str | None = None
    ) -> V:
        """The variant a reference names (inside the named artifact), else the artifact's default variant."""
        artifact = self.artifact_named(artifact_ref, key) if artifact_ref is not None or key else None
        if variant_ref is not None:
            return self.variant(variant_ref, artifact)
        if artifact is not None:
            return self.default_variant(artifact)
        raise ValidationFailedError(f"name a variant: {self.kind.variant_name}_ref or {self.kind.name}_ref")

    def target(
        self,
        *,
        artifact_ref: Reference | None,
        variant_ref: Reference | None,
        revision_ref: Reference | None,
        key: str | None = None,
    ) -> R:
        """The revision a set of references names: the revision itself, else the variant's latest, else the
        latest of the artifact's default variant. Each reference is scoped by the ones above it."""
        if revision_ref is not None:
            artifact = self.artifact_named(artifact_ref, key) if artifact_ref is not None or key else None
            variant = None
            if variant_ref is not None and (variant_ref.id is not None or variant_ref.slug is not None):
                variant = self.variant(variant_ref, artifact)
            return self.revision(revision_ref, variant=variant, artifact=artifact)
        if variant_ref is None and artifact_ref is None and not key:
            raise ValidationFailedError(
                f"name a {self.kind.name}: {self.kind.revision_name}_ref, {self.kind.variant_name}_ref, "
                f"{self.kind.name}_ref or key"
            )
        variant = self.variant_named(artifact_ref, variant_ref, key)
        # Agenta's form: a variant reference's `version` is the version of one of its revisions.
        if variant_ref is not None and variant_ref.version is not None:
            return self.revision_version(variant, variant_ref.version)
        return self.latest_revision(variant)

    def loose(self, ref: Reference | Mapping[str, Any]) -> R:
        """The revision a loosely given reference names, for library callers (evaluation runs, triggers): a
        mapping `{<kind>_ref?, <kind>_variant_ref?, <kind>_revision_ref?}` resolved as `target` resolves them,
        or one Reference tried as a revision, an artifact, then a variant (by id), or as a revision slug then
        an artifact slug."""
        if isinstance(ref, Mapping):

            def named(key: str) -> Reference | None:
                value = ref.get(key)
                return Reference.model_validate(value) if isinstance(value, dict) else value

            return self.target(
                artifact_ref=named(f"{self.kind.name}_ref"),
                variant_ref=named(f"{self.kind.variant_name}_ref"),
                revision_ref=named(f"{self.kind.revision_name}_ref"),
            )
        if ref.id is not None:
            ref_id = ref.id
            candidates: list[Callable[[], R]] = [
                lambda: self.revision_by_id(ref_id),
                lambda: self.latest_revision(self.default_variant(self.artifact_by_id(ref_id))),
                lambda: self.latest_revision(self.variant_by_id(ref_id)),
            ]
            for resolve in candidates:
                try:
                    return resolve()
                except NotFoundError:
                    continue
            raise NotFoundError(f"{self.kind.name} {ref_id} not found")
        if ref.slug is not None:
            try:
                return self.revision(ref)
            except NotFoundError:
                return self.target(artifact_ref=ref, variant_ref=None, revision_ref=None)
        raise ValidationFailedError(f"a {self.kind.name} reference needs an id or a slug")

    # ------------------------------------------------------------ environments and deployments

    def environment(self, ref: Reference) -> Environment:
        query = select(Environment).where(Environment.project_id == self.project_id)
        if ref.id is not None:
            query = query.where(Environment.id == ref.id)
        elif ref.slug is not None:
            query = query.where(Environment.slug == ref.slug)
        else:
            raise ValidationFailedError("environment_ref needs an id or a slug")
        environment = self.session.execute(query).scalar_one_or_none()
        if environment is None and ref.slug in DEFAULT_ENVIRONMENTS:
            ensure_environments(self.session, self.project_id)
            environment = self.session.execute(query).scalar_one_or_none()
        if environment is None:
            raise NotFoundError(f"environment {ref.slug or ref.id} not found")
        return environment

    def deployment(self, environment: Environment, ref: Reference, artifact: A | None) -> D:
        """An environment revision of `environment`: by id, or by version of `artifact`'s deployments."""
        table: Any = self.kind.deployment
        query = select(table).where(
            table.project_id == self.project_id, table.environment_id == environment.id
        )
        if ref.id is not None:
            query = query.where(table.id == ref.id)
            if artifact is not None:
                query = query.where(table.artifact_id == artifact.id)
        elif ref.version is not None and artifact is not None:
            query = query.where(table.artifact_id == artifact.id, table.version == ref.version)
        else:
            raise ValidationFailedError(
                f"environment_revision_ref needs an id, or a version with {self.kind.name}_ref"
            )
        found: D | None = self.session.execute(query).scalar_one_or_none()
        if found is None:
            raise NotFoundError("environment revision not found")
        return found

    def current_deployment(
        self, environment: Environment, artifact_id: uuid.UUID, version: int | None = None
    ) -> D | None:
        """What `environment` serves of the artifact now (its latest environment revision), or served at `version`."""
        table: Any = self.kind.deployment
        query = select(table).where(table.environment_id == environment.id, table.artifact_id == artifact_id)
        if version is not None:
            query = query.where(table.version == version)
        found: D | None = self.session.execute(
            query.order_by(table.version.desc()).limit(1)
        ).scalar_one_or_none()
        return found
