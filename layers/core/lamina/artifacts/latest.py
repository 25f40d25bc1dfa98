"""The latest revision of each artifact's default variant, for a whole window of artifacts in two queries
(the simple list views show it beside every artifact; one lookup per artifact made a 100-item page slow)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lamina.artifacts.kind import A, ArtifactKind, D, R, V


def latest_revisions(
    session: Session, kind: ArtifactKind[A, V, R, D], artifact_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, R]:
    """artifact id → the latest revision of its default variant (its first variant not archived), for those
    that have one."""
    if not artifact_ids:
        return {}
    variants: Any = kind.variant
    revisions: Any = kind.revision
    defaults = session.execute(
        select(variants.id)
        .where(variants.artifact_id.in_(list(artifact_ids)), variants.archived_at.is_(None))
        .distinct(variants.artifact_id)
        .order_by(variants.artifact_id, variants.created_at, variants.id)
    ).scalars()
    rows: list[R] = list(
        session.execute(
            select(revisions)
            .where(revisions.variant_id.in_(list(defaults)))
            .distinct(revisions.variant_id)
            .order_by(revisions.variant_id, revisions.version.desc())
        ).scalars()
    )
    return {row.artifact_id: row for row in rows}
