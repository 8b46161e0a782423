"""librdkafka's messages reach the log once, not hundreds of times a second."""

from __future__ import annotations

import logging

import structlog

from syncctl.logging import REPEAT_SECONDS, _ForwardToStructlog

REFUSED = (
    "FAIL [rdkafka#consumer-2] [thrd:127.0.0.1:9092/bootstrap]: 127.0.0.1:9092/bootstrap: Connect "
    "to ipv4#127.0.0.1:9092 failed: Connection refused (after {}ms in state CONNECT)"
)


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("syncctl.librdkafka", logging.ERROR, "", 0, message, None, None)


def test_a_broker_that_went_away_is_reported_once_per_period_with_a_count() -> None:
    now = [0.0]
    handler = _ForwardToStructlog(clock=lambda: now[0])
    with structlog.testing.capture_logs() as logged:
        for attempt in range(500):  # `syncctl watch` saw about 100 a second
            now[0] = attempt * 0.01
            handler.emit(record(REFUSED.format(attempt % 3)))
        assert len(logged) == 1 and "Connection refused" in logged[0]["event"]
        now[0] = REPEAT_SECONDS + 1
        handler.emit(record(REFUSED.format(0)))
        handler.emit(record("FAIL another broker: Connection refused"))
    assert logged[1]["repeated"] == 499
    assert logged[2]["event"] == "FAIL another broker: Connection refused", "others still pass"
    assert [entry["log_level"] for entry in logged] == ["error"] * 3
