"""The worker's loop: consume commands, hand them to the handler, commit through the checkpoint.

What one message does is `handler.CommandHandler`'s; the open transaction, and what to do when
Kafka refuses it, is `checkpoint.Checkpoint`'s. This module keeps the loop itself (polling,
batching, when to commit, the deadlines' timer) and the rebalance callbacks (restore on assign,
commit on revoke, abort on loss).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from syncctl.kafka import config
from syncctl.kafka.connection import check_connection
from syncctl.kafka.errors import AbortableKafkaError, FatalKafkaError, check_consumer_error
from syncctl.kafka.topics import ensure_topics, require_partition_count
from syncctl.logging import get_logger
from syncctl.observability import StoreSnapshot, WorkerMetrics
from syncctl.observability.http import Readiness
from syncctl.settings import Settings
from syncctl.store import Restorer, StateStore
from syncctl.worker.checkpoint import Checkpoint
from syncctl.worker.collector import Collector
from syncctl.worker.handler import CommandHandler

log = get_logger("syncctl.worker")
_METRICS_REFRESH_SECONDS = 2.0
# How often the worker asks whether the control topic's partition count changed under it.
_PARTITION_COUNT_CHECK_SECONDS = 10.0
_LOOP_STALLED_SECONDS = 30.0


class Worker:
    """One member of the worker group. `run()` blocks until `stop()` or a fatal error;
    `readiness()` says whether it processes what it was assigned (/readyz)."""

    def __init__(self, settings: Settings, metrics: WorkerMetrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or WorkerMetrics(settings.worker.batch_max)
        self._topics = settings.topics
        # Counting jobs by status costs restore time: only when something will read the gauge.
        self._store = StateStore(
            count_statuses=metrics is not None,
            index_endings=settings.worker.ended_job_retention > 0,
        )
        self._ready: set[int] = set()
        self._stopping = False
        self._fatal = False
        self._next_deadline_check = 0.0
        self._assigned_once = False
        self._last_turn = 0.0
        self._next_metrics_refresh = 0.0
        self._next_partition_count_check = 0.0
        # Partitions of the control (and state) topic: where each job id belongs.
        self._partition_count = 0
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None
        self._restorer: Restorer | None = None
        self._checkpoint: Checkpoint | None = None
        self._handler: CommandHandler | None = None
        self._collector = Collector(self.settings.worker.gc_freeze_interval_ms / 1000)

    # -- lifecycle ---------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the loop to finish the open transaction, leave the group and return."""
        self._stopping = True

    def run(self) -> None:
        kafka, worker = self.settings.kafka, self.settings.worker
        check_connection(kafka, timeout=30)
        partitions = ensure_topics(AdminClient(config.common(kafka)), self._topics)
        self._partition_count = partitions
        self._producer = Producer(config.transactional_producer(kafka, worker))
        self._consumer = Consumer(config.worker_consumer(kafka, worker))
        self._restorer = Restorer(
            config.restore_consumer(kafka, worker),
            self._topics.state,
            on_restored=lambda _partition, seconds: self.metrics.restore_duration.observe(seconds),
            partition_count=partitions,
        )
        timeout = worker.transaction_timeout_ms / 1000
        self._checkpoint = Checkpoint(
            self._producer,
            self._consumer,
            self._store,
            self._topics,
            timeout,
            ready_partitions=lambda: self._ready,
            outcomes=self.metrics,
        )
        self._handler = CommandHandler(self.settings, self._store, self.metrics, partitions)
        self._collector.install()
        try:
            # Fences any earlier incarnation with our transactional.id and aborts what it left open.
            self._producer.init_transactions(timeout * 3)
        except KafkaException as error:
            raise FatalKafkaError(f"could not initialise transactions: {error}") from error
        self._consumer.subscribe(
            [self._topics.control],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        log.info(
            "worker started",
            group_id=worker.group_id,
            transactional_id=f"{worker.group_id}-{worker.instance_id}",
            partitions=partitions,
            control_topic=self._topics.control,
        )
        try:
            while not self._stopping:
                self._iterate()
                self._store.release()
                self._collector.turn_ended()
            self._checkpoint.commit()
        except FatalKafkaError as error:
            self._fatal = True
            log.error("worker stopping: this worker can no longer write to Kafka", error=str(error))
            raise
        finally:
            self._collector.uninstall()
            self._consumer.close()
            self._restorer.close()
            self._producer.flush(5)
            log.info("worker stopped")

    # -- one turn of the loop ----------------------------------------------------------------
    def _iterate(self) -> None:
        assert self._consumer and self._restorer and self._checkpoint
        self._last_turn = time.monotonic()
        if self._last_turn >= self._next_metrics_refresh:
            self._refresh_metrics()
        if self._last_turn >= self._next_partition_count_check:
            self._check_partition_count()
        if self._restorer.busy:
            self._mark_ready(self._restorer.step(timeout=0.01))
        wait = 0.0 if self._checkpoint.open or self._restorer.busy else self._idle_wait()
        batch_max = self.settings.worker.batch_max
        first = self._consumer.poll(wait)
        batch = [first] if first is not None else []
        if first is not None:
            batch += self._consumer.consume(batch_max - 1, 0)
        now = datetime.now(UTC)
        try:
            self._process(batch, now)
            self._fire_deadlines(now)
        except AbortableKafkaError as error:
            # A write of this transaction failed: none of it may count, so all of it is redone.
            self._checkpoint.abort(str(error))
            return
        interval = self.settings.worker.commit_interval_ms / 1000
        if self._checkpoint.due(batch_max, interval, input_ran_dry=len(batch) < batch_max):
            self._checkpoint.commit()

    def _idle_wait(self) -> float:
        return self.settings.worker.deadline_check_interval_ms / 1000

    def _process(self, batch: list[Message], now: datetime) -> None:
        assert self._consumer and self._checkpoint and self._handler
        held: set[int] = set()
        for message in batch:
            error = message.error()
            if error is not None:
                check_consumer_error(error, log, "control topic", partition=message.partition())
                continue
            partition = message.partition()
            if partition in held:
                continue
            if partition not in self._ready:
                held.add(partition)
                if partition in self._store.partitions():
                    # Fetched before the partition was paused for restore: read it again later.
                    self._consumer.seek(
                        TopicPartition(message.topic(), partition, message.offset())
                    )
                # else: revoked while this batch was read; its new owner processes it.
                continue
            self._handler.handle(message, self._checkpoint, now)

    def _fire_deadlines(self, now: datetime) -> None:
        assert self._checkpoint and self._handler
        if time.monotonic() < self._next_deadline_check:
            return
        self._next_deadline_check = time.monotonic() + self._idle_wait()
        self._handler.fire_deadlines(now, self._ready, self._checkpoint)

    def _check_partition_count(self) -> None:
        """A running worker computes each job's partition from the count it started with: if the
        control topic grew since, it must stop rather than send jobs to the wrong records."""
        assert self._consumer
        self._next_partition_count_check = self._last_turn + _PARTITION_COUNT_CHECK_SECONDS
        require_partition_count(self._consumer, self._topics, self._partition_count)

    # -- rebalance callbacks (run inside poll) -----------------------------------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        assert self._restorer
        self._assigned_once = True
        consumer.incremental_assign(partitions)
        if not partitions:
            return
        if max(tp.partition for tp in partitions) >= self._partition_count:
            # The topic grew: none of it is processed, and the next turn stops the worker.
            consumer.pause(partitions)
            self._next_partition_count_check = 0.0
            return
        # Nothing of a partition is processed before its state is back.
        consumer.pause(partitions)
        numbers = [tp.partition for tp in partitions]
        states = [self._store.add_partition(n) for n in numbers]
        log.info("partitions assigned; restoring state", partitions=numbers)
        self._mark_ready(self._restorer.start(states))

    def _mark_ready(self, numbers: list[int]) -> None:
        if not numbers or self._consumer is None:
            return
        self._ready.update(numbers)
        self._consumer.resume([TopicPartition(self._topics.control, n) for n in numbers])
        log.info("partitions ready", partitions=sorted(numbers))
        if self._restorer is not None and not self._restorer.busy:
            self._collector.store_restored()
            log.info("all assigned partitions ready", partitions=sorted(self._ready))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Finish what was read from these partitions before they go to another worker.
        if self._checkpoint and not self._fatal:
            self._checkpoint.commit()
        self._forget(consumer, partitions)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Another worker may own these already: nothing of ours may be committed for them.
        if self._checkpoint and not self._fatal:
            self._checkpoint.lose([tp.partition for tp in partitions])
        self._forget(consumer, partitions)

    def _forget(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        assert self._restorer
        numbers = [tp.partition for tp in partitions]
        self._restorer.cancel(numbers)
        for number in numbers:
            self._ready.discard(number)
            self._store.drop_partition(number)
        consumer.incremental_unassign(partitions)
        if numbers:
            log.info("partitions revoked", partitions=numbers)

    # -- what operators see ------------------------------------------------------------------
    def readiness(self) -> Readiness:
        """Ready: in the group, every assigned partition restored, and the loop turning."""
        partitions = tuple(sorted(self._ready))
        if self._stopping:
            return Readiness(False, "stopping", partitions)
        if not self._assigned_once:
            return Readiness(False, "waiting for the group to assign partitions")
        if self._restorer is not None and self._restorer.busy:
            return Readiness(False, "restoring state", partitions)
        stalled = time.monotonic() - self._last_turn
        if stalled > _LOOP_STALLED_SECONDS:
            return Readiness(False, f"the loop has not turned for {stalled:.0f} s", partitions)
        return Readiness(True, f"processing {len(partitions)} partitions", partitions)

    def _refresh_metrics(self) -> None:
        assert self._consumer
        self._next_metrics_refresh = self._last_turn + _METRICS_REFRESH_SECONDS
        lag: dict[int, int] = {}
        ready = [TopicPartition(self._topics.control, p) for p in sorted(self._ready)]
        for tp in self._consumer.position(ready) if ready else []:
            if tp.offset < 0:
                continue  # nothing read yet: no position to measure from
            _, high = self._consumer.get_watermark_offsets(tp, cached=True)
            if high >= 0:
                lag[tp.partition] = max(0, high - tp.offset)
        self.metrics.store(
            StoreSnapshot(
                jobs_by_status=self._store.statuses(),
                pending_deadlines=self._store.pending_deadlines(),
                lag_by_partition=lag,
            )
        )
        for generation, seconds in self._collector.pauses():
            self.metrics.gc_pause.labels(str(generation)).observe(seconds)
