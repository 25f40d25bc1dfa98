"""Where the webhooks queue's dead letters go: WEBHOOKS_DLQ_URL, else the queue's own redrive policy."""

from __future__ import annotations

import json

from lamina.queues.names import Queue


class DeadLetterQueueMissingError(RuntimeError):
    """Neither WEBHOOKS_DLQ_URL nor a redrive policy: there is nowhere to put what cannot be delivered."""


def dead_letter_queue_url() -> str:
    from lamina.state import current

    state = current()
    if state.settings.webhooks_dlq_url:
        return state.settings.webhooks_dlq_url

    def from_redrive_policy() -> str:
        sqs = state.aws_client("sqs")
        queue_url = state.settings.queue_url(Queue.WEBHOOKS)
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
        policy = attributes.get("Attributes", {}).get("RedrivePolicy")
        if not policy:
            raise DeadLetterQueueMissingError(
                "WEBHOOKS_DLQ_URL is not set and the queue has no redrive policy"
            )
        name = json.loads(policy)["deadLetterTargetArn"].rsplit(":", 1)[-1]
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])

    url: str = state.memo("webhooks:dlq_url", from_redrive_policy)
    return url
