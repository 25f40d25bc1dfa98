"""testsets and evaluators: two revisioned-artifact kinds (artifact, variant, revision, deployment tables
each), and the test cases test set revisions list

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 19:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

KINDS = ("testset", "evaluator")


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def _project_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["project_id"], ["projects.id"], name=op.f(f"fk_{table}_project_id_projects"), ondelete="CASCADE"
    )


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def _jsonb(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, postgresql.JSONB(astext_type=sa.Text()), nullable=nullable)


def _create_kind(name: str) -> None:
    """The four tables of one artifact kind, shaped as `lamina.<kind>s.models` declares them."""
    artifacts, variants = f"{name}s", f"{name}_variants"
    revisions, deployments = f"{name}_revisions", f"{name}_deployments"
    owner = f"{name}_id"
    op.create_table(
        artifacts,
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        _jsonb("flags"),
        _jsonb("tags"),
        _jsonb("meta"),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        *_timestamps(),
        _project_fk(artifacts),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{artifacts}")),
        sa.UniqueConstraint("project_id", "slug", name=op.f(f"uq_{artifacts}_project_id_slug")),
    )
    op.create_index(op.f(f"ix_{artifacts}_project_id"), artifacts, ["project_id"])
    op.create_table(
        variants,
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column(owner, sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        _jsonb("flags"),
        _jsonb("meta"),
        sa.Column("forked_from_revision_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        *_timestamps(),
        _project_fk(variants),
        _fk(variants, owner, artifacts),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{variants}")),
        sa.UniqueConstraint(owner, "slug", name=op.f(f"uq_{variants}_{owner}_slug")),
    )
    op.create_index(op.f(f"ix_{variants}_project_id"), variants, ["project_id"])
    op.create_index(op.f(f"ix_{variants}_{owner}"), variants, [owner])
    op.create_table(
        revisions,
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column(owner, sa.Uuid(), nullable=False),
        sa.Column("variant_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        _jsonb("data"),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        _project_fk(revisions),
        _fk(revisions, owner, artifacts),
        _fk(revisions, "variant_id", variants),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{revisions}")),
        sa.UniqueConstraint("variant_id", "version", name=op.f(f"uq_{revisions}_variant_id_version")),
        sa.UniqueConstraint("project_id", "slug", name=op.f(f"uq_{revisions}_project_id_slug")),
    )
    op.create_index(op.f(f"ix_{revisions}_project_id"), revisions, ["project_id"])
    op.create_index(op.f(f"ix_{revisions}_{owner}"), revisions, [owner])
    op.create_table(
        deployments,
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("environment_id", sa.Uuid(), nullable=False),
        sa.Column(owner, sa.Uuid(), nullable=False),
        sa.Column("variant_id", sa.Uuid(), nullable=False),
        sa.Column("revision_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        _project_fk(deployments),
        _fk(deployments, "environment_id", "environments"),
        _fk(deployments, owner, artifacts),
        _fk(deployments, "variant_id", variants),
        _fk(deployments, "revision_id", revisions),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{deployments}")),
        sa.UniqueConstraint(
            "environment_id", owner, "version", name=op.f(f"uq_{deployments}_environment_id_{owner}_version")
        ),
    )
    op.create_index(op.f(f"ix_{deployments}_project_id"), deployments, ["project_id"])


def upgrade() -> None:
    for name in KINDS:
        _create_kind(name)
    op.create_table(
        "testcases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("testset_id", sa.Uuid(), nullable=False),
        _jsonb("data"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        _project_fk("testcases"),
        _fk("testcases", "testset_id", "testsets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testcases")),
    )
    op.create_index(op.f("ix_testcases_project_id"), "testcases", ["project_id"])
    op.create_index(op.f("ix_testcases_testset_id"), "testcases", ["testset_id"])


def downgrade() -> None:
    op.drop_table("testcases")
    for name in reversed(KINDS):
        for table in (f"{name}_deployments", f"{name}_revisions", f"{name}_variants", f"{name}s"):
            op.drop_table(table)
