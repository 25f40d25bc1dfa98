"""The tracing worker's handler: a stored OTLP body, from S3 into the `spans` table."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lamina import aws
from lamina.queues.envelope import Envelope, PoisonMessageError
from lamina.settings import get_settings
from lamina.state import current
from lamina.tracing import otlp
from lamina.tracing.alerts import count_errors
from lamina.tracing.rows import SpanLines
from lamina.tracing.shapes import ShapePlan
from lamina.tracing.store import write_span_lines

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)


def ingest_stored_body(envelope: Envelope, session: Session) -> None:
    """Decode the body the envelope names and upsert its spans (a redelivery inserts nothing new)."""
    key = envelope.payload.get("key")
    if not isinstance(key, str) or envelope.project_id is None:
        raise PoisonMessageError("a tracing.otlp.received envelope names a key and a project")
    stored = aws.client("s3").get_object(Bucket=get_settings().bucket_name, Key=key)
    kind = str(envelope.payload.get("content_type") or stored.get("ContentType") or otlp.PROTOBUF)
    request = otlp.parse_request(stored["Body"].read(), otlp.media_type(kind))
    # Decoded, normalised and encoded lazily: while Postgres copies one chunk of rows, the next is built.
    # The plans of attribute key sets last the process: a container sees the same instrumentation again.
    plans: dict[tuple[str, ...], ShapePlan] = current().memo("tracing.shape_plans", dict)
    lines = SpanLines(envelope.project_id, request, plans)
    written = write_span_lines(session, lines)
    # Only spans this delivery stored count towards the project's error threshold (a replay adds none twice).
    count_errors(session, envelope.project_id, written.errors, written.error_trace_ids)
    logger.info("spans ingested", extra={"key": key, "spans": lines.spans, "inserted": written.inserted})
