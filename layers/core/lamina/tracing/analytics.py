"""Span analytics: counts, latency percentiles, tokens, cost and errors per time bucket."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Float, cast, func, literal_column, select

from lamina.errors import ValidationFailedError
from lamina.tracing import schemas
from lamina.tracing.models import Span
from lamina.tracing.query import compile_filter

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ERROR_STATUS = "STATUS_CODE_ERROR"
SECONDS_PER_MINUTE = 60


def spans_analytics(
    session: Session, project_id: uuid.UUID, query: schemas.SpansAnalyticsQuery
) -> schemas.AnalyticsResponse:
    """One bucket per interval that has spans, oldest first, over [oldest, newest)."""
    windowing = query.windowing or schemas.Windowing()
    newest = windowing.newest or datetime.now(UTC)
    oldest = windowing.oldest or newest - timedelta(hours=schemas.ANALYTICS_DEFAULT_WINDOW_HOURS)
    interval = windowing.interval or schemas.ANALYTICS_DEFAULT_INTERVAL_MINUTES
    if interval < 1 or (newest - oldest) / timedelta(minutes=interval) > schemas.ANALYTICS_MAX_BUCKETS:
        raise ValidationFailedError(f"at most {schemas.ANALYTICS_MAX_BUCKETS} buckets of at least one minute")
    width_s = interval * SECONDS_PER_MINUTE
    epoch = func.extract("epoch", Span.start_time)
    # Inlined (an int computed here): the GROUP BY must repeat the select's expression exactly, bind for bind.
    width: Any = literal_column(str(int(width_s)))
    bucket = func.to_timestamp(func.floor(epoch / width) * width).label("bucket")
    is_error = Span.status_code == ERROR_STATUS

    def percentile(fraction: float) -> Any:
        return func.percentile_cont(fraction).within_group(Span.duration_ms)

    statement = (
        select(
            bucket,
            func.count(),
            func.coalesce(func.sum(Span.duration_ms), 0),
            func.coalesce(func.sum(Span.cost), 0),
            func.coalesce(func.sum(Span.total_tokens), 0),
            func.count().filter(is_error),
            func.coalesce(func.sum(Span.duration_ms).filter(is_error), 0),
            func.coalesce(func.sum(Span.cost).filter(is_error), 0),
            func.coalesce(func.sum(Span.total_tokens).filter(is_error), 0),
            cast(percentile(0.5), Float),
            cast(percentile(0.95), Float),
            cast(percentile(0.99), Float),
        )
        .where(Span.project_id == project_id, Span.start_time >= oldest, Span.start_time < newest)
        .group_by(bucket)
        .order_by(bucket)
    )
    if query.filtering is not None:
        statement = statement.where(compile_filter(query.filtering))
    buckets = [
        schemas.AnalyticsBucket(
            timestamp=row[0],
            interval=interval,
            total=schemas.Analytics(count=row[1], duration=row[2], costs=row[3], tokens=cast_int(row[4])),
            errors=schemas.Analytics(count=row[5], duration=row[6], costs=row[7], tokens=cast_int(row[8])),
            latency=schemas.Latency(p50=row[9], p95=row[10], p99=row[11]),
        )
        for row in session.execute(statement)
    ]
    return schemas.AnalyticsResponse(count=len(buckets), buckets=buckets)


def cast_int(value: object) -> int:
    """SUM over bigint is numeric in Postgres: a Decimal here."""
    return int(str(value).split(".", 1)[0])
