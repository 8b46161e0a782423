"""What the console tells operators of itself: one log line per login and per action attempt,
and counters of what it refused (served on the console's /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from syncctl.logging import get_logger

log = get_logger("syncctl.console.audit")


class Audit:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._logins = Counter(
            "syncctl_console_logins", "Successful console logins.", registry=self.registry
        )
        self._login_refusals = Counter(
            "syncctl_console_login_refusals",
            "Console logins refused, by reason (bad_credentials, throttled, cross_origin).",
            ["reason"],
            registry=self.registry,
        )
        self._actions = Counter(
            "syncctl_console_actions",
            "Stop commands the console sent, by action.",
            ["action"],
            registry=self.registry,
        )
        self._action_refusals = Counter(
            "syncctl_console_action_refusals",
            "Console action requests refused, by reason (unauthenticated, cross_origin, "
            "bad_csrf_token, forbidden, invalid_request, kafka_unavailable).",
            ["reason"],
            registry=self.registry,
        )

    def login(self, user: str, client: str, refused: str | None = None) -> None:
        if refused is None:
            self._logins.inc()
            log.info("console login", user=user, client=client, outcome="accepted")
        else:
            self._login_refusals.labels(refused).inc()
            log.warning(
                "console login", user=user, client=client, outcome="refused", reason=refused
            )

    def action(
        self,
        user: str | None,
        job_id: str,
        action: str,
        client: str,
        refused: str | None = None,
        command_id: str | None = None,
    ) -> None:
        fields = {"user": user or "-", "job_id": job_id, "command": action, "client": client}
        if refused is None:
            self._actions.labels(action).inc()
            log.info("console action", **fields, outcome="sent", command_id=command_id)
        else:
            self._action_refusals.labels(refused).inc()
            log.warning("console action", **fields, outcome="refused", reason=refused)
