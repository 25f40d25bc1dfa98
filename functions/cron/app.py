"""CronFunction: EventBridge schedules run Lamina's scheduled tasks."""

from typing import Any

from lamina.cron.service import run_scheduled_task
from lamina.logs import lambda_handler


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_scheduled_task(event)
