"""structlog setup: readable key=value lines on a terminal, JSON lines otherwise."""

from __future__ import annotations

import logging
import sys
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


class _ForwardToStructlog(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        get_logger("librdkafka").log(record.levelno, record.getMessage(), client=record.name)


def kafka_client_logger() -> logging.Logger:
    """A stdlib logger for librdkafka's messages (config key `logger`), forwarded to structlog
    so that they come out in the same format as everything else."""
    logger = logging.getLogger("syncctl.librdkafka")
    if not logger.handlers:
        logger.addHandler(_ForwardToStructlog())
        logger.propagate = False
        logger.setLevel(logging.INFO)
    return logger
