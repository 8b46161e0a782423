"""`/healthz`, `/readyz` and `/metrics` on a small HTTP server beside the worker's loop.

The standard library's threading server is enough for three read-only endpoints that a probe
and a scraper call every few seconds; it runs on a daemon thread and never touches Kafka.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from syncctl.logging import get_logger

log = get_logger(__name__)


class Readiness(NamedTuple):
    """What /readyz answers: ready or not, why, and the partitions this worker processes."""

    ready: bool
    reason: str
    partitions: tuple[int, ...] = ()


class OperationsServer:
    """Serves the probes and the metrics on 0.0.0.0:`port` (or `host`) until `close()`."""

    def __init__(
        self,
        port: int,
        registry: CollectorRegistry,
        readiness: Callable[[], Readiness],
        host: str = "0.0.0.0",
    ) -> None:
        handler = _handler(registry, readiness)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="syncctl-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> OperationsServer:
        self._thread.start()
        log.info("serving /healthz, /readyz and /metrics", port=self.port)
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(
    registry: CollectorRegistry, readiness: Callable[[], Readiness]
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._send(200, "application/json", json.dumps({"status": "alive"}).encode())
            elif path == "/readyz":
                state = readiness()
                body = {
                    "status": "ready" if state.ready else "not ready",
                    "reason": state.reason,
                    "partitions": list(state.partitions),
                }
                self._send(
                    200 if state.ready else 503, "application/json", json.dumps(body).encode()
                )
            elif path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(registry))
            else:
                self._send(404, "text/plain", b"not found: try /healthz, /readyz or /metrics\n")

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # a probe every few seconds is not worth a log line

    return Handler
