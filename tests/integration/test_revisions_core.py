"""The revisioned-artifact core is generic: a second kind of artifact (a dataset kind whose tables this
test creates) gets commit, log, fork, query, deploy, rollback, retrieve and scoped references for free."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import DateTime, Integer, MetaData, String, Text, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lamina.api.schemas import Reference, Windowing
from lamina.artifacts import environments, revisions, service
from lamina.artifacts.kind import ArtifactKind
from lamina.db.base import IdMixin, TimestampsMixin, utcnow
from lamina.errors import ConflictError, NotFoundError, ValidationFailedError
from lamina.tenancy.principal import Principal, PrincipalKind
from tests.integration.api_client import Tenant, api_env, cognito_pool, make_tenant, own_events_queue

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue"]  # fixtures used by the tests below


class DataSetBase(DeclarativeBase):
    """Tables of this test only (never in Lamina's migrations)."""

    __test__ = False  # a model, not a pytest test class
    metadata = MetaData()


class DataSet(IdMixin, TimestampsMixin, DataSetBase):
    __tablename__ = "core_test_datasets"

    project_id: Mapped[uuid.UUID] = mapped_column()
    slug: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    tags: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(100))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DataSetVariant(IdMixin, TimestampsMixin, DataSetBase):
    __tablename__ = "core_test_dataset_variants"

    project_id: Mapped[uuid.UUID] = mapped_column()
    artifact_id: Mapped[uuid.UUID] = mapped_column()
    slug: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    forked_from_revision_id: Mapped[uuid.UUID | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(String(100))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DataSetRevision(IdMixin, DataSetBase):
    __tablename__ = "core_test_dataset_revisions"

    project_id: Mapped[uuid.UUID] = mapped_column()
    artifact_id: Mapped[uuid.UUID] = mapped_column()
    variant_id: Mapped[uuid.UUID] = mapped_column()
    version: Mapped[int] = mapped_column(Integer)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    message: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DataSetDeployment(IdMixin, DataSetBase):
    __tablename__ = "core_test_dataset_deployments"

    project_id: Mapped[uuid.UUID] = mapped_column()
    environment_id: Mapped[uuid.UUID] = mapped_column()
    artifact_id: Mapped[uuid.UUID] = mapped_column()
    variant_id: Mapped[uuid.UUID] = mapped_column()
    revision_id: Mapped[uuid.UUID] = mapped_column()
    version: Mapped[int] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def validate_testcases(data: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(data.get("testcases"), list):
        raise ValidationFailedError("data.testcases must be a list")
    return data


DATASETS = ArtifactKind(
    name="dataset",
    domain="datasets",
    artifact=DataSet,
    variant=DataSetVariant,
    revision=DataSetRevision,
    deployment=DataSetDeployment,
    validate_data=validate_testcases,
)


def cases(*inputs: str) -> dict[str, Any]:
    return {"testcases": [{"input": text} for text in inputs]}


@pytest.fixture
def principal(make_tenant: Callable[..., Tenant]) -> Principal:
    from lamina.db import get_engine

    DataSetBase.metadata.create_all(get_engine())
    tenant = make_tenant()
    return Principal(
        kind=PrincipalKind.SERVICE,
        project_id=uuid.UUID(tenant.project_id),
        workspace_id=uuid.uuid4(),
        organization_id=uuid.uuid4(),
        role="owner",
        service="test",
    )


@pytest.fixture
def work() -> Callable[[], Any]:
    """A unit of work per step: committed, then its after-commit effects (cache invalidation) run."""
    from lamina.db.unit_of_work import unit_of_work

    return unit_of_work


def test_commit_log_fork_query_on_a_second_kind(principal: Principal, work: Callable[[], Any]) -> None:
    # GIVEN a test set with a variant
    with work() as session:
        dataset = service.create_artifact(session, DATASETS, principal, slug="qa")
        main = service.create_variant(session, DATASETS, principal, dataset.id, slug="main")
    # WHEN three revisions are committed
    with work() as session:
        committed = [
            revisions.commit(session, DATASETS, principal, main.id, data=cases(f"q{n}"), message=f"v{n}")
            for n in (1, 2, 3)
        ]
        # (the events carry the kind's names)
        from lamina.events.outbox import OutboxEvent

        staged = set(session.execute(select(OutboxEvent.type)).scalars())
        assert "datasets.revision.committed" in staged
    # THEN versions count up and the log lists them newest first, from a named version downwards
    assert [r.version for r in committed] == [1, 2, 3]
    with work() as session:
        log = revisions.log(session, DATASETS, principal, variant_ref=Reference(id=main.id))
        assert [r.message for r in log] == ["v3", "v2", "v1"]
        upto_two = revisions.log(
            session,
            DATASETS,
            principal,
            artifact_ref=Reference(slug="qa"),
            variant_ref=Reference(slug="main", version=2),
        )
        assert [r.version for r in upto_two] == [2, 1]
    # AND data the kind's validator refuses is not committed
    with work() as session, pytest.raises(ValidationFailedError, match="testcases"):
        revisions.commit(session, DATASETS, principal, main.id, data={"rows": []})
    # WHEN v2 is forked
    with work() as session:
        fork, first = revisions.fork(
            session, DATASETS, principal, revision_ref=Reference(id=committed[1].id), slug="experiment"
        )
    # THEN the fork is a new variant of the same test set starting at version 1 with v2's data
    assert (fork.artifact_id, fork.forked_from_revision_id) == (dataset.id, committed[1].id)
    assert (first.version, first.data) == (1, committed[1].data)
    # AND revisions are queried in windows of a cursor
    with work() as session:
        seen: list[uuid.UUID] = []
        cursor = None
        while True:
            window = revisions.query_revisions(
                session,
                DATASETS,
                principal,
                artifact_ref=Reference(slug="qa"),
                windowing=Windowing(limit=2, next=cursor),
            )
            seen += [r.id for r in window.items]
            if window.next is None:
                break
            cursor = window.next
    assert seen == sorted([r.id for r in committed] + [first.id], reverse=True)
    # AND an archived variant takes no commit until it is unarchived
    with work() as session:
        service.set_variant_archived(session, DATASETS, principal, main.id, archived=True)
    with work() as session, pytest.raises(ConflictError):
        revisions.commit(session, DATASETS, principal, main.id, data=cases("x"))
    with work() as session:
        service.set_variant_archived(session, DATASETS, principal, main.id, archived=False)
        assert revisions.commit(session, DATASETS, principal, main.id, data=cases("x")).version == 4


def test_deploy_rollback_retrieve_and_scoped_references_on_a_second_kind(
    principal: Principal, work: Callable[[], Any]
) -> None:
    from lamina.cache import get_redis

    # GIVEN two test sets that both have a variant called "main"
    latest: dict[str, list[DataSetRevision]] = {}
    with work() as session:
        for slug in ("qa", "smoke"):
            dataset = service.create_artifact(session, DATASETS, principal, slug=slug)
            variant = service.create_variant(session, DATASETS, principal, dataset.id, slug="main")
            latest[slug] = [
                revisions.commit(session, DATASETS, principal, variant.id, data=cases(f"{slug}{n}"))
                for n in (1, 2)
            ]
    production = Reference(slug="production")

    def served(slug: str) -> dict[str, Any]:
        with work() as session:
            answer = environments.retrieve(
                session, DATASETS, principal, environment_ref=production, artifact_ref=Reference(slug=slug)
            )
            return dict(json.loads(answer))

    # WHEN production is deployed by test set slug and variant slug
    with work() as session:
        deployed = environments.deploy(
            session,
            DATASETS,
            principal,
            environment_ref=production,
            artifact_ref=Reference(slug="smoke"),
            variant_ref=Reference(slug="main"),
        )
    # THEN the named test set's variant is deployed (its latest revision), not the other's
    assert deployed.revision.id == latest["smoke"][1].id
    assert served("smoke")["dataset_revision"]["id"] == str(latest["smoke"][1].id)
    assert served("smoke")["environment_revision"]["version"] == 1  # (now from the cache)
    keys = get_redis().keys(f"lamina:datasets:retrieve:{principal.project_id}:*")
    assert keys, "retrieve was not cached under the kind's namespace"
    # AND a test set never deployed there is not served
    with pytest.raises(NotFoundError, match="not deployed"):
        served("qa")
    # WHEN smoke's v1 is deployed, the next retrieve sees it at once
    with work() as session:
        environments.deploy(
            session,
            DATASETS,
            principal,
            environment_ref=production,
            artifact_ref=Reference(slug="smoke"),
            variant_ref=Reference(slug="main", version=1),
        )
    assert served("smoke")["dataset_revision"]["version"] == 1
    # WHEN production is rolled back to its first environment revision of smoke
    with work() as session:
        rollback = environments.deploy(
            session,
            DATASETS,
            principal,
            environment_ref=production,
            artifact_ref=Reference(slug="smoke"),
            environment_revision_ref=Reference(version=1),
        )
    # THEN v2 is served again, and the history shows the three deployments
    assert rollback.environment_revision.version == 3
    assert served("smoke")["dataset_revision"]["version"] == 2
    with work() as session:
        _, window = environments.environment_log(
            session, DATASETS, principal, environment_ref=production, key="smoke"
        )
        assert [d.version for d in window.items] == [3, 2, 1]
        now = environments.served_now(session, DATASETS, principal, environment_refs=[production])
        assert [(s.artifact.slug, s.revision.version) for s in now[0][1]] == [("smoke", 2)]
    # AND references never escape the scope their companions set
    with work() as session:
        with pytest.raises(NotFoundError):  # smoke's revision, named inside qa
            environments.deploy(
                session,
                DATASETS,
                principal,
                environment_ref=production,
                artifact_ref=Reference(slug="qa"),
                revision_ref=Reference(id=latest["smoke"][0].id),
            )
        with pytest.raises(NotFoundError):  # smoke's variant, named by id inside qa
            environments.retrieve(
                session,
                DATASETS,
                principal,
                artifact_ref=Reference(slug="qa"),
                variant_ref=Reference(id=deployed.revision.variant_id),
            )
        with pytest.raises(ValidationFailedError, match="dataset_ref"):  # "main" alone is ambiguous
            environments.retrieve(session, DATASETS, principal, variant_ref=Reference(slug="main"))


def test_without_redis_retrieve_answers_uncached_and_deploys_still_commit(
    principal: Principal, work: Callable[[], Any]
) -> None:
    from lamina.state import configure, current

    # GIVEN a test set deployed to production
    with work() as session:
        dataset = service.create_artifact(session, DATASETS, principal, slug="offline")
        variant = service.create_variant(session, DATASETS, principal, dataset.id, slug="main")
        first, second = (
            revisions.commit(session, DATASETS, principal, variant.id, data=cases(text)) for text in "ab"
        )
        environments.deploy(
            session,
            DATASETS,
            principal,
            environment_ref=Reference(slug="production"),
            revision_ref=Reference(id=first.id),
        )
    # WHEN Redis is unreachable (nothing listens on port 1)
    settings = current().settings
    configure(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    try:

        def served_version() -> int:
            with work() as session:
                answer = environments.retrieve(
                    session,
                    DATASETS,
                    principal,
                    environment_ref=Reference(slug="production"),
                    artifact_ref=Reference(slug="offline"),
                )
            return int(json.loads(answer)["dataset_revision"]["version"])

        # THEN retrieve still answers (from the database), and a deploy commits and is seen at once
        assert served_version() == 1
        with work() as session:
            environments.deploy(
                session,
                DATASETS,
                principal,
                environment_ref=Reference(slug="production"),
                revision_ref=Reference(id=second.id),
            )
        assert served_version() == 2
    finally:
        configure(settings)
