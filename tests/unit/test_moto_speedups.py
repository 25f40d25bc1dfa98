"""lamina_local.moto_speedups computes what moto computes, only faster (moto in process)."""

from __future__ import annotations

import time


def test_the_fast_clock_and_retention_check_agree_with_motos() -> None:
    import moto.sqs.models as sqs_models
    from moto import mock_aws
    from moto.core.utils import unix_time

    from lamina_local.moto_speedups import install

    install()
    assert abs(getattr(sqs_models, "unix_time")() - unix_time()) < 0.05  # noqa: B009
    with mock_aws():  # moto's backend called directly: no HTTP, whatever endpoint the environment names
        backend = sqs_models.sqs_backends["123456789012"]["us-east-1"]
        backend.create_queue("retention", MessageRetentionPeriod="60")
        message = backend.send_message("retention", "kept")
        assert backend.is_message_valid_based_on_retention_period("retention", message)
        message.sent_timestamp = int((time.time() - 61) * 1000)  # sent past its queue's retention
        assert not backend.is_message_valid_based_on_retention_period("retention", message)
