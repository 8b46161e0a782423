"""Fail fast, and say why, when Kafka cannot be reached or refuses who we are."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from syncctl.errors import ConfigError, KafkaUnavailable
from syncctl.kafka import config
from syncctl.settings import KafkaSettings
from syncctl.waiting import Patience, wait_until


def check_connection(kafka: KafkaSettings, timeout: float = 10.0) -> None:
    """Return once a broker answers; raise ConfigError for refused credentials or a failed TLS
    handshake (retrying would not help), KafkaUnavailable when nothing answers in `timeout` s."""
    problems: list[KafkaError] = []
    # librdkafka reports these through the error callback, long before a request times out.
    admin = AdminClient({**config.common(kafka), "error_cb": problems.append, "log_level": 0})

    def answered() -> bool:
        try:
            if admin.list_topics(timeout=0.5).brokers:  # waits up to 0.5 s itself
                return True
        except KafkaException:
            pass
        admin.poll(0)
        for problem in problems:
            _raise_if_refused(kafka, problem)
        return False

    if not wait_until(answered, Patience(timeout, interval=0.0)):
        raise KafkaUnavailable(
            f"no Kafka broker answered at {kafka.bootstrap_servers} within {timeout:.0f} s; "
            "is it running? (start a local one with `syncctl broker`, or set "
            "--bootstrap-servers)"
        )


def _raise_if_refused(kafka: KafkaSettings, problem: KafkaError) -> None:
    if problem.code() == KafkaError._AUTHENTICATION:
        raise ConfigError(
            f"Kafka at {kafka.bootstrap_servers} refused the credentials of user "
            f"{kafka.sasl_username!r} ({kafka.security_protocol}, {kafka.sasl_mechanism}): "
            f"{problem.str()}. Check sasl_username and sasl_password "
            "(SYNCCTL_KAFKA__SASL_USERNAME / SYNCCTL_KAFKA__SASL_PASSWORD)."
        )
    if problem.code() == KafkaError._SSL:
        raise ConfigError(
            f"the TLS handshake with Kafka at {kafka.bootstrap_servers} failed: {problem.str()}. "
            "Check ssl_ca_location (the CA that signed the broker's certificate) and that the "
            "broker's certificate names the host you connect to."
        )
