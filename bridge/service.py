"""The bridge as a Kafka service: consume national warnings, publish the common picture.

Per batch:

1. poll up to ``batch_size`` records from the warning topics (explicitly assigned,
   resuming at the group's committed offsets), the earliest published first across
   the topics (:class:`~trilink.kafka.merge.TimeMerge`: a backlog after a restart or
   an outage arrives in runs of one nation's warnings; behind, a poll waits up to
   ``merge_idle_s`` for a partition with records still to fetch), and note
   their positions in the checkpoint (:mod:`trilink.kafka.delivery`);
2. run them through the pure engine (alerts, dead letters, state snapshots);
3. hand the alerts (key = system track id), the dead letters and the snapshots of
   every touched system track (key = system track id) to the checkpoint, which
   commits them with the noted positions: in one Kafka transaction
   (``transactional=True``, exactly-once; the steps are in
   :class:`~trilink.kafka.ExactlyOnce`), or produce, flush, then commit the offsets
   (at-least-once). Snapshots wait up to ``commit_interval_s`` for the next batch
   with alerts or dead letters, and so do alerts while the bridge is behind (more
   input fetched and waiting): :mod:`bridge.outbox`. Live, alerts never wait.

A batch that published nothing now (only replays, or output held) is not committed
on its own: its offsets ride with the next commit (Tansu commits an offsets-only
transaction only once).

When the checkpoint aborts a transaction it rewinds the consumer to the committed
offsets. The engine had already moved on, so it is rebuilt from the topics exactly
as at start-up and the rewound warnings are processed again. A producer fenced by a
newer instance, or a transaction that keeps failing, stops the service.

Correctness does not rest on transactions: the engine ignores reports at or
below a track's applied sequence and numbers alerts above everything already on
the alerts topic, so with ``transactional=False`` and on brokers where aborted
output stays visible (Tansu) no (system track id, version) is ever published twice.

Standby: several instances may run; they elect one active instance through a
consumer group on the one-partition ``bridge_leader`` topic
(:class:`~trilink.kafka.leader.LeaderLock`); the others wait and take over when it
dies (after the group's session timeout) or leaves. The shared transactional id
fences a previous active instance that does not know it lost.

Health: every ``HealthPolicy.period_s`` the service logs one line (lag, event time
behind the session clock, counts; a warning when behind) and publishes a heartbeat
for ``trilink status``.

Start-up: the instance asks to join the leader group, the session clock is joined
while that join goes on, the instance becomes the active one, then the
checkpoint opens (``init_transactions()`` fences a previous instance and aborts its
open transaction), then the state and alerts topics are read to their
end (``recovery``) and the engine restored before the first warning is polled.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_STORED, Consumer, Message, TopicPartition

from bridge.config import BridgeConfig
from bridge.engine import Engine, Inbound, Outcome
from bridge.errors import ServiceError
from bridge.outbox import Outbox, Release
from bridge.protection import Protection
from bridge.recovery import recover, state_topic
from trilink.codec import Codec, codec_for
from trilink.config import KafkaConfig
from trilink.errors import DeliveryError
from trilink.health import HealthMonitor
from trilink.kafka import (
    Checkpoint,
    Outgoing,
    RecordTopics,
    consumer_config,
    ensure_topics,
    open_checkpoint,
    topic_partitions,
)
from trilink.kafka.clock import SessionClock, join_session_clock
from trilink.kafka.heartbeat import HeartbeatPublisher, ServiceHealth
from trilink.kafka.leader import LeaderLock
from trilink.kafka.merge import TimeMerge
from trilink.timeutil import wall_clock_us

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Stats:
    """Counters a running service exposes (for logs and tests)."""

    batches: int = 0
    consumed: int = 0
    handled: int = 0  # consumed, and what they produced committed (or nothing to produce)
    alerts: int = 0
    dead_letters: int = 0
    replayed: int = 0
    transactions: int = 0
    aborts: int = 0
    rewinds: int = 0
    restored_tracks: int = 0
    ready: threading.Event = field(default_factory=threading.Event)


class BridgeService:
    """Runs the engine against a cluster until ``stop`` is set."""

    def __init__(
        self,
        kafka: KafkaConfig,
        config: BridgeConfig,
        *,
        codec: Codec | None = None,
        clock: Callable[[], int] = wall_clock_us,
        protection: Protection | None = None,
        name: str = "bridge",
    ) -> None:
        self.kafka = kafka
        self.config = config
        self.codec = codec or codec_for(kafka)
        self.clock = clock
        self.protection = protection
        self.name = name
        self.session: SessionClock | None = None
        self.health: ServiceHealth | None = None
        self._inputs: TimeMerge | None = None  # the warning topics, merged (see ``_serve``)
        self.engine = self._engine()
        self._outbox = Outbox(config.commit_interval_s)
        self.stats = Stats()
        shared = RecordTopics.of(config.topics, self.codec)
        self._alerts = shared.alerts
        self._dead_letters = shared.dead_letter
        self._states = state_topic(config.topics.bridge_state, self.codec)

    def _engine(self) -> Engine:
        """A fresh engine (and a fresh replay guard: a rewound batch is read again)."""
        verifier = None if self.protection is None else self.protection.verifier()
        return Engine(
            self.config.engine,
            self.codec,
            self.scenario_now,
            verifier=verifier,
            rate=self._rate,
            snapshots=False,  # taken once per commit (``_commit``), not once per batch
        )

    def _rate(self) -> float:
        return 1.0 if self.session is None else self.session.rate

    def scenario_now(self) -> int:
        """Now on the session clock (the wall clock until the service joined it)."""
        return self.clock() if self.session is None else self.session.now()

    # -- life cycle -------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set; the batch in hand is finished first.

        With ``standby`` the instance first waits to be the active one, and goes back
        to waiting if it loses that (a newer active instance fences its output anyway).
        """
        topics = self.config.topics
        inputs = list(self.config.engine.input_topics())
        ensure_topics(self.kafka, [*inputs, topics.alerts, topics.dead_letter, topics.bridge_state])
        # Joining the lock group first: the coordinator takes seconds to answer a join
        # (Apache Kafka delays a new group's first rebalance by
        # group.initial.rebalance.delay.ms), and librdkafka carries the join on in the
        # background while the session clock is joined.
        with ExitStack() as cleanup:
            lock = (
                LeaderLock(
                    self.kafka, topics.bridge_leader, f"{self.config.group}-leader", name=self.name
                )
                if self.config.standby
                else None
            )
            if lock is not None:
                cleanup.callback(lock.close)
            self.session = join_session_clock(
                self.kafka,
                topics.clock,
                self.codec,
                speed=self.config.speed,
                service="bridge",
                wall=self.clock,
            )
            cleanup.callback(self.session.close)
            self.health = self._health(inputs)
            cleanup.callback(self.health.close)
            while not stop.is_set():
                if lock is not None and not lock.wait(stop):
                    return
                self._serve(inputs, stop, lock)

    def _health(self, inputs: list[str]) -> ServiceHealth:
        topics = self.config.topics
        monitor = HealthMonitor(
            service="bridge",
            instance=f"{socket.gethostname()}/{os.getpid()}",
            inputs=tuple(inputs),
            outputs=(topics.alerts, topics.dead_letter, topics.bridge_state),
            clock=self.scenario_now,
        )
        publisher = HeartbeatPublisher(self.kafka, topics.heartbeats, self.codec)
        return ServiceHealth(monitor, publisher, log)

    def _serve(self, inputs: list[str], stop: threading.Event, lock: LeaderLock | None) -> None:
        topics = self.config.topics
        assert self.session is not None
        consumer = Consumer(consumer_config(self.kafka, self.config.group))
        try:
            checkpoint = self._open_checkpoint(consumer)
            try:
                # Whatever clock was set while this instance waited to be the active one.
                self.session.poll()
                self._restore(checkpoint)
                parts = topic_partitions(consumer, inputs)
                consumer.assign(
                    [TopicPartition(tp.topic, tp.partition, OFFSET_STORED) for tp in parts]
                )
                # A backlog (after a restart) is read in publication order across the
                # nations' topics, as it arrived live, not a fetch's run of one nation.
                self._inputs = TimeMerge(
                    consumer, idle_s=self.config.merge_idle_s, stall_s=self.config.tick_hold_s
                )
                self.stats.ready.set()
                log.info(
                    "bridge ready: reading %s; writing %s, %s, %s; clock %s",
                    ", ".join(inputs),
                    topics.alerts,
                    topics.dead_letter,
                    topics.bridge_state,
                    self.session.definition.describe(),
                )
                self._loop(checkpoint, consumer, stop, lock)
            finally:
                checkpoint.close()
        finally:
            consumer.close()

    def _open_checkpoint(self, consumer: Consumer) -> Checkpoint:
        try:
            return open_checkpoint(
                self.kafka,
                consumer,
                exactly_once=self.config.transactional,
                transactional_id=self.config.transactional_id,
                name=self.name,
                **{"linger.ms": 1},
            )
        except DeliveryError as exc:
            raise ServiceError(str(exc)) from exc

    def _restore(self, checkpoint: Checkpoint) -> None:
        """A fresh engine restored from the state and alerts topics; the alerts a
        cut-short transaction lost are issued again."""
        self._outbox.clear()  # the engine they came from is replaced
        while True:
            recovered = recover(self.kafka, self._states, self._alerts, self.config.group)
            self.engine = self._engine()
            self.engine.restore(recovered.states.values(), recovered.published)
            self.stats.restored_tracks = len(recovered.states)
            lost = self.engine.resume()
            if lost.empty:
                return
            log.warning(
                "re-issuing %d alert(s) lost with a cut-short transaction", len(lost.alerts)
            )
            self._hold(lost)
            if self._commit(checkpoint, self._outbox.release()):
                return

    def _loop(
        self,
        checkpoint: Checkpoint,
        consumer: Consumer,
        stop: threading.Event,
        lock: LeaderLock | None,
    ) -> None:
        assert self.session is not None and self.health is not None
        last_input, last_event = time.monotonic(), self.engine.event_us
        while not stop.is_set():
            if lock is not None and not lock.poll():
                log.warning("bridge: another instance is active now; standing by")
                self.stats.ready.clear()
                return
            self.session.poll()
            self.health.tick(consumer)
            assert self._inputs is not None
            msgs = self._inputs.poll(self.config.batch_size, self.config.poll_timeout_s)
            if msgs:
                self._handle(checkpoint, msgs)
                last_input, last_event = time.monotonic(), self.engine.event_us
                continue
            if self._outbox.due():
                self._deliver(checkpoint, self._outbox.release())
            idle_s = time.monotonic() - last_input
            if self.config.idle_advance and idle_s >= 1.0 and last_event:
                if self._inputs.unfetched():
                    # Quiet because a backlog is still to fetch (a restart, an
                    # outage), not because nothing was published: event time waits
                    # for it, or a tick would close tracks whose reports are waiting.
                    last_input = time.monotonic()
                    continue
                self._tick(checkpoint, last_event, idle_s)
        if len(self._outbox):  # stopping: what is held is committed, not replayed at start
            self._deliver(checkpoint, self._outbox.release())

    def _tick(self, checkpoint: Checkpoint, last_event: int, idle_s: float) -> None:
        """Nothing arrives: event time runs on, so impact times still pass.

        At the session clock's rate from the last event, and never past the session
        clock less one wall second (reports still on their way are not overtaken).
        A replay of old records (``trilink score -b``) thus still advances at the
        clock's pace instead of jumping to now. Not called while a warning partition
        has records at the broker still to fetch (``TimeMerge.unfetched``): restored
        after a broker freeze, the bridge ticked 75 s of event time before its first
        fetch came and closed a track whose reports were waiting.
        """
        assert self.session is not None
        rate = self.session.rate
        target = min(
            last_event + round(idle_s * rate * 1e6), self.session.now() - round(rate * 1e6)
        )
        self._publish(checkpoint, self.engine.tick(target))

    def _handle(self, checkpoint: Checkpoint, msgs: list[Message]) -> None:
        batch = [
            Inbound(
                str(m.topic()),
                int(m.partition() or 0),
                int(m.offset() or 0),
                m.key(),
                m.value(),
                _headers(m),
            )
            for m in msgs
        ]
        checkpoint.consumed(msgs)
        out = self.engine.process(batch)
        self.stats.batches += 1
        self.stats.consumed += len(msgs)
        self.stats.replayed += out.replayed
        if self.health is not None:
            self.health.monitor.observe(
                processed=len(msgs),
                dead_letters=len(out.dead_letters),
                event_us=self.engine.event_us,
            )
        # Behind: more input is fetched and waiting already (a backlog); a live poll
        # takes everything fetched.
        behind = self._inputs is not None and self._inputs.held > 0
        self._publish(checkpoint, out, behind=behind)
        self.stats.handled += len(msgs)

    # -- output -------------------------------------------------------------------------

    def _hold(self, out: Outcome) -> None:
        """Hand ``out`` to the outbox, its alerts and dead letters encoded (and labelled
        by the tracks as they are now)."""
        self._outbox.hold(
            self._records(out),
            out.touched,
            out.tombstones,
            alerts=len(out.alerts),
            dead_letters=len(out.dead_letters),
        )

    def _records(self, out: Outcome) -> list[Outgoing]:
        """The alerts and dead letters of ``out``, encoded (signed and labelled when
        protected)."""
        guard = self.protection
        if guard is None:
            records = [self._alerts.message(alert) for alert in out.alerts]
            records += [self._dead_letters.message(dead) for dead in out.dead_letters]
        else:
            tracks = self.engine.tracks
            records = [
                guard.sign_alert(
                    self._alerts.message(alert), alert, tracks.get(alert.system_track_id)
                )
                for alert in out.alerts
            ]
            records += [
                guard.keep_label(self._dead_letters.message(dead), dead)
                for dead in out.dead_letters
            ]
        return records

    def _publish(self, checkpoint: Checkpoint, out: Outcome, behind: bool = False) -> None:
        """Everything held committed now if alerts or dead letters are (unless the bridge
        is ``behind``) or once the oldest is due; otherwise the batch's offsets ride with
        the next commit."""
        self._hold(out)
        if (self._outbox.urgent and not behind) or self._outbox.due():
            self._deliver(checkpoint, self._outbox.release())

    def _deliver(self, checkpoint: Checkpoint, out: Release) -> None:
        if not self._commit(checkpoint, out):
            # Rewound to the committed offsets: the engine ran ahead of them, and what
            # the merge holds is fetched again.
            if self._inputs is not None:
                self._inputs.clear()
            self._restore(checkpoint)

    def _commit(self, checkpoint: Checkpoint, out: Release) -> bool:
        """Commit ``out`` with the noted offsets; False if the checkpoint rewound instead."""
        # Each track as it stands now, with the offsets of everything processed.
        states = self.engine.snapshots_of(out.touched)
        records = out.records + [self._states.message(state) for state in states]
        records += [self._states.tombstone(track_id.encode()) for track_id in out.tombstones]
        try:
            done = checkpoint.commit(records)
        except DeliveryError as exc:
            raise ServiceError(str(exc)) from exc
        finally:
            delivered = checkpoint.stats
            self.stats.transactions = delivered.commits if checkpoint.exactly_once else 0
            self.stats.aborts = delivered.aborts
            self.stats.rewinds = delivered.rewinds
        if done:
            self.stats.alerts += out.alerts
            self.stats.dead_letters += out.dead_letters
        return done


def _headers(msg: Message) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for item in msg.headers() or []:
        name, value = item[0], item[1]
        found[str(name)] = value if isinstance(value, bytes) else str(value or "").encode()
    return found
