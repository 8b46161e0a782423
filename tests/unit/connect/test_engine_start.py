"""An engine pointed at a Kafka Connect that cannot run syncctl's jobs refuses to start, saying
what is missing, before it touches a job."""

from __future__ import annotations

import httpx
import pytest

from syncctl.connect.connectors import REQUIRED_PLUGINS
from syncctl.connect.engine import ConnectEngine
from syncctl.errors import ConfigError
from syncctl.settings import Settings


def test_an_engine_whose_connect_lacks_syncctls_transforms_refuses_to_start() -> None:
    installed = [
        {"class": name, "type": "source"}
        for name in REQUIRED_PLUGINS
        if not name.startswith("io.syncctl.")
    ]
    asked: list[str] = []

    def connect(request: httpx.Request) -> httpx.Response:
        asked.append(f"{request.method} {request.url.path}")
        return httpx.Response(200, json=installed)

    settings = Settings.model_validate(
        {
            "kafka": {"bootstrap_servers": "127.0.0.1:9"},
            "engine": {"connect_url": "http://connect.invalid:8083"},
        }
    )
    engine = ConnectEngine(settings)
    engine._api._clients = [
        httpx.Client(base_url=engine._api.url, transport=httpx.MockTransport(connect))
    ]
    with pytest.raises(ConfigError, match=r"syncctl-connect-transforms\.jar") as refused:
        engine.run()
    assert "io.syncctl.connect.RowToDocument" in str(refused.value)
    # Nothing else was asked of Connect: no connector was listed, created or removed.
    assert asked == ["GET /connector-plugins"]
