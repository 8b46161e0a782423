"""The engine's Kafka side of a job: where its sink is, and its topics' removal. Asked of the
broker through the engine's one admin client, with no consumer made per job and look."""

from __future__ import annotations

from confluent_kafka import (
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from syncctl.connect.jobs import EngineJob
from syncctl.errors import SyncctlError


class JobTopics:
    def __init__(self, admin: AdminClient) -> None:
        self._admin = admin

    def sink_position(self, job: EngineJob) -> tuple[int, int]:
        """(records the sink has committed as written, records it has yet to write)."""
        topics = [job.names.table_topic(table) for table in job.spec.tables]
        metadata = self._admin.list_topics(timeout=10).topics
        partitions = [
            TopicPartition(t, p) for t in topics if t in metadata for p in metadata[t].partitions
        ]
        if not partitions:
            return 0, 0
        group = job.names.sink_group
        try:
            asked = self._admin.list_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(group, partitions)]
            )
            committed = {
                (tp.topic, tp.partition): max(tp.offset, 0)
                for tp in asked[group].result(10).topic_partitions
            }
            latest = self._admin.list_offsets(
                {tp: OffsetSpec.latest() for tp in partitions}, request_timeout=10
            )
            ends = {
                (tp.topic, tp.partition): future.result(10).offset for tp, future in latest.items()
            }
        except KafkaException as error:
            raise SyncctlError(f"could not read the sink's position: {error}") from error
        written = sum(committed.get(key, 0) for key in ends)
        return written, sum(end - committed.get(key, 0) for key, end in ends.items())

    def sink_group_rebalancing(self, job: EngineJob) -> bool:
        """A sink task restarted on another worker waits in its consumer group until the dead
        task's consumer is timed out (its session): the group is rebalancing meanwhile."""
        group = job.names.sink_group
        try:
            state = self._admin.describe_consumer_groups([group])[group].result(10).state
        except KafkaException:
            return False
        return state in (
            ConsumerGroupState.PREPARING_REBALANCING,
            ConsumerGroupState.COMPLETING_REBALANCING,
        )

    def jobs_with_topics(self) -> set[str]:
        """The ids of the jobs that have topics of their own on the broker."""
        return {
            topic.split(".")[1]
            for topic in self._admin.list_topics(timeout=10).topics
            if topic.startswith("syncctl.") and topic.count(".") >= 2
        }

    def delete(self, job: EngineJob) -> None:
        """The job's table topics, notifications and heartbeat topics."""
        names = job.names
        wanted = [
            *(names.table_topic(t) for t in job.spec.tables),
            names.notifications_topic,
            names.heartbeat_topic,
        ]
        existing = self._admin.list_topics(timeout=10).topics
        doomed = [topic for topic in wanted if topic in existing]
        for future in (
            self._admin.delete_topics(doomed, operation_timeout=30).values() if doomed else []
        ):
            future.result(30)
