"""Create syncctl's topics when missing, and refuse to run on topics that would lose data."""

from __future__ import annotations

from confluent_kafka import Consumer, KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from syncctl.errors import ConfigError
from syncctl.kafka.retry import retry_while_not_yet
from syncctl.settings import TopicSettings


def ensure_topics(admin: AdminClient, topics: TopicSettings, timeout: float = 30.0) -> int:
    """Create missing topics; return the partition count of the control and state topics."""
    existing = partition_counts(admin, timeout)
    control, state = existing.get(topics.control), existing.get(topics.state)
    if control is not None and state is not None and control != state:
        raise ConfigError(
            f"topic {topics.control} has {control} partitions but {topics.state} has {state}: they "
            "must have the same count, since a job's state lives on the partition number of its "
            "control messages. With every worker stopped, run `syncctl relocate-state "
            f"--partitions {max(control, state)}` (it adds partitions to the smaller one and "
            "moves the records; docs/operations.md, 'Changing the partition count'), or point "
            "syncctl at a matching pair of topics."
        )
    partitions = control or state or topics.partitions
    wanted = {
        topics.control: {},
        topics.state: {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"},
        topics.events: {},
        topics.dlq: {},
    }
    missing = [
        NewTopic(name, partitions, topics.replication_factor, config=config)
        for name, config in wanted.items()
        if name not in existing
    ]
    if missing:
        for name, future in admin.create_topics(missing, operation_timeout=timeout).items():
            try:
                future.result(timeout)
            except KafkaException as error:
                # Another worker starting at the same moment may have created it first.
                if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise ConfigError(
                        f"could not create topic {name}: {error.args[0].str()}"
                    ) from error
    _require_compaction(admin, topics.state, timeout)
    return partitions


def require_partition_count(
    client: AdminClient | Consumer, topics: TopicSettings, expected: int
) -> None:
    """Raise ConfigError unless the control topic still has the partitions the worker started
    with."""
    try:
        metadata = client.list_topics(topics.control, timeout=10)
    except KafkaException:
        return  # no answer now: asked again on the next check
    topic = metadata.topics.get(topics.control)
    if topic is None or topic.error is not None or len(topic.partitions) == expected:
        return
    raise ConfigError(
        f"topic {topics.control} now has {len(topic.partitions)} partitions; this worker started "
        f"with {expected}. A job's partition depends on the count, so the job records must be "
        "moved before any worker runs again: stop every worker, give the state topic the same "
        "count, then run `syncctl relocate-state` (docs/operations.md, 'Changing the partition "
        "count')."
    )


def partition_counts(admin: AdminClient, timeout: float = 30.0) -> dict[str, int]:
    """Partitions of every topic the cluster lists."""
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as error:
        raise ConfigError(f"cannot reach Kafka: {error.args[0].str()}") from error
    return {
        name: len(topic.partitions) for name, topic in metadata.topics.items() if not topic.error
    }


def _require_compaction(admin: AdminClient, state_topic: str, timeout: float) -> None:
    resource = ConfigResource(ConfigResource.Type.TOPIC, state_topic)
    # A topic created a moment ago may not be known to every part of the broker yet.
    configs = retry_while_not_yet(
        lambda: admin.describe_configs([resource])[resource].result(timeout), timeout
    )
    policy = configs["cleanup.policy"].value or ""
    if "compact" not in policy:
        raise ConfigError(
            f"topic {state_topic} has cleanup.policy={policy}; the state store needs compaction "
            "or job records would be deleted by retention. Run: kafka-configs --alter "
            f"--entity-type topics --entity-name {state_topic} --add-config cleanup.policy=compact"
        )
