"""Who is in a consumer group: the readiness signal of processes that serve no HTTP."""

from __future__ import annotations

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from syncctl.errors import ConfigError


def group_members(
    admin: AdminClient, group_id: str, timeout: float = 30.0, partitions_only: bool = True
) -> list[str]:
    """The client ids of the group's members; with `partitions_only`, of those that have been
    assigned partitions (they consume: a runner or engine that is ready)."""
    try:
        (future,) = admin.describe_consumer_groups([group_id]).values()
        members = future.result(timeout).members
    except KafkaException as error:
        raise ConfigError(
            f"could not look at consumer group {group_id}: {error.args[0].str()}"
        ) from error
    return sorted(
        member.client_id
        for member in members
        if not partitions_only or (member.assignment and member.assignment.topic_partitions)
    )
