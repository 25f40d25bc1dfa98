"""Accepting an OTLP export: validate it, write the raw body to S3 (the acknowledgement), then queue its key."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from lamina import aws
from lamina.errors import UnavailableError
from lamina.ids import uuid7
from lamina.queues.names import Queue
from lamina.settings import get_settings
from lamina.tracing import otlp

logger = logging.getLogger(__name__)

OTLP_RECEIVED = "tracing.otlp.received"
RAW_BODY_PREFIX = "otlp/traces"
KEY_EXTENSIONS = {otlp.PROTOBUF: "pb", otlp.JSON: "json"}


@dataclass
class ExportAnswer:
    body: bytes
    media_type: str


def raw_body_key(project_id: uuid.UUID, kind: str, received_at: datetime | None = None) -> str:
    """Where a raw body lives: by project and hour, so a replay lists one project's time range cheaply."""
    at = received_at or datetime.now(UTC)
    return f"{RAW_BODY_PREFIX}/{project_id}/{at:%Y/%m/%d/%H}/{uuid7()}.{KEY_EXTENSIONS[kind]}"


def accept_export(
    project_id: uuid.UUID, body: bytes, content_type: str | None, content_encoding: str | None
) -> ExportAnswer:
    """Store an OTLP export for the tracing worker and answer the exporter.

    Nothing is written unless the whole body decodes (400 otherwise), and the answer is sent only after S3
    holds the body: from then on the spans survive any failure downstream (`lamina traces replay`).
    """
    kind = otlp.media_type(content_type)
    raw = otlp.decompress(body, content_encoding)
    batch = otlp.count_spans(otlp.parse_request(raw, kind))
    if batch.accepted:
        key = raw_body_key(project_id, kind)
        aws.client("s3").put_object(
            Bucket=get_settings().bucket_name,
            Key=key,
            Body=raw,
            ContentType=kind,
            Metadata={"project-id": str(project_id), "spans": str(batch.accepted)},
        )
        enqueue_raw_body(project_id, key, kind, batch.accepted)
    return ExportAnswer(otlp.export_response(kind, batch.rejected, batch.error_message), kind)


def enqueue_raw_body(project_id: uuid.UUID, key: str, kind: str, spans: int) -> None:
    """Ask the tracing worker to ingest a stored body (also how a replay re-ingests one)."""
    from lamina.queues.publish import publish

    try:
        publish(
            Queue.TRACING,
            OTLP_RECEIVED,
            {"key": key, "content_type": kind, "spans": spans},
            project_id=project_id,
        )
    except Exception as error:
        # The body is stored, but nothing will ingest it until a replay: have the exporter retry instead
        # (its re-sent spans are idempotent on their ids).
        logger.exception("could not queue a stored OTLP body", extra={"key": key})
        raise UnavailableError("the trace could not be queued; retry") from error
