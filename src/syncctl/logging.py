"""structlog setup: readable key=value lines on a terminal, JSON lines otherwise."""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable
from typing import Literal

import structlog


def configure_logging(
    level: str = "INFO", format: Literal["auto", "json", "console"] = "auto"
) -> None:
    use_json = format == "json" or (format == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        # Not cached: `worker` and `runner` reconfigure after the CLI's default.
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger(name)  # type: ignore[no-any-return]


# A message librdkafka repeats (a broker that went away: every reconnect attempt, many a second)
# is logged once this often, with how many times it was repeated meanwhile.
REPEAT_SECONDS = 30.0
_TIMING = re.compile(r"\(after \d+ms[^)]*\)")  # differs from one attempt to the next


class _ForwardToStructlog(logging.Handler):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._clock = clock
        self._logged: dict[str, tuple[float, int]] = {}  # message -> (when logged, repeats)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        key, now = _TIMING.sub("", message), self._clock()
        logged = self._logged.get(key)
        if logged is not None and now - logged[0] < REPEAT_SECONDS:
            self._logged[key] = (logged[0], logged[1] + 1)
            return
        if len(self._logged) > 1_000:
            self._logged.clear()
        self._logged[key] = (now, 0)
        repeats = {"repeated": logged[1]} if logged is not None and logged[1] else {}
        get_logger("librdkafka").log(record.levelno, message, client=record.name, **repeats)


def kafka_client_logger() -> logging.Logger:
    """A stdlib logger for librdkafka's messages (config key `logger`), forwarded to structlog
    so that they come out in the same format as everything else."""
    logger = logging.getLogger("syncctl.librdkafka")
    if not logger.handlers:
        logger.addHandler(_ForwardToStructlog())
        logger.propagate = False
        logger.setLevel(logging.INFO)
    return logger
