"""Producing with delivery accounting, and a producer that survives being fenced.

An idempotent producer whose message times out (a broker stall, a partition
leader change) bumps its epoch; some brokers (Tansu among them) then answer
every later produce with PRODUCER_FENCED, forever. :class:`ResilientProducer`
notices that (or a fatal error) in the delivery reports and swaps in a fresh
confluent ``Producer``; the failed messages are reported as failed, so callers
whose output is idempotent simply produce again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from confluent_kafka import KafkaError as ConfluentError
from confluent_kafka import KafkaException, Message, Producer

from trilink.errors import KafkaError

log = logging.getLogger(__name__)

DeliveryCallback = Callable[[ConfluentError | None, Message], None]


class Outgoing(NamedTuple):
    """One message to produce: topic, key, value (None: a tombstone) and headers
    (a record's confidentiality label and signature travel there)."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()

    def with_headers(self, headers: list[tuple[str, bytes]]) -> Outgoing:
        """This message with ``headers`` added after its own."""
        return self._replace(headers=(*self.headers, *headers))


# Errors after which the producer instance is useless and must be replaced.
FENCED_CODES = frozenset(
    {ConfluentError.PRODUCER_FENCED, ConfluentError._FENCED, ConfluentError.INVALID_PRODUCER_EPOCH}
)


def is_fenced_or_fatal(err: ConfluentError | None) -> bool:
    """True for errors that no retry of the same producer instance can fix."""
    return err is not None and (err.fatal() or err.code() in FENCED_CODES)


class DeliveryTracker:
    """A delivery callback that counts outcomes and logs failures (at most once a second).

    Pass the instance itself as ``on_delivery``; read ``delivered``/``failed``.
    """

    def __init__(self, name: str = "producer", *, log_interval_s: float = 1.0) -> None:
        self.name = name
        self.delivered = 0
        self.failed = 0
        self.last_error: ConfluentError | None = None
        self._log_interval = log_interval_s
        self._last_log = float("-inf")
        self._unlogged = 0
        self._lock = threading.Lock()

    def __call__(self, err: ConfluentError | None, msg: Message) -> None:
        if err is None:
            with self._lock:
                self.delivered += 1
            return
        with self._lock:
            self.failed += 1
            self.last_error = err
            self._unlogged += 1
            now = time.monotonic()
            if now - self._last_log < self._log_interval:
                return
            count, self._unlogged, self._last_log = self._unlogged, 0, now
        log.warning(
            "%s: delivery to %s[%s] failed: %s (%d failure(s) since last report, %d in all)",
            self.name,
            msg.topic(),
            msg.partition(),
            err.str(),
            count,
            self.failed,
        )

    @property
    def total(self) -> int:
        """Delivery reports received."""
        return self.delivered + self.failed


class ResilientProducer:
    """A confluent ``Producer`` wrapper that recreates the producer after it is fenced.

    Every produce carries a delivery callback (the tracker, then the caller's
    ``on_delivery``). Replacement happens on the next :meth:`produce`,
    :meth:`poll` or :meth:`flush` after a fenced/fatal report, in the caller's
    thread; messages still queued in the dead producer are purged and reported
    as failed.
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        name: str = "producer",
        tracker: DeliveryTracker | None = None,
        queue_full_timeout_s: float = 10.0,
    ) -> None:
        self.name = name
        self.tracker = tracker or DeliveryTracker(name)
        self.recreated = 0
        self._queue_full_timeout = queue_full_timeout_s
        self._config = {**config, "error_cb": self._on_error}
        self._user_error_cb = config.get("error_cb")
        self._broken: ConfluentError | None = None
        self._producer = self._new_producer()

    def _new_producer(self) -> Producer:
        try:
            return Producer(self._config)
        except KafkaException as exc:
            raise KafkaError(f"{self.name}: cannot create producer: {exc}") from exc

    def _on_error(self, err: ConfluentError) -> None:
        if is_fenced_or_fatal(err):
            self._broken = err
            log.error("%s: fatal producer error: %s", self.name, err.str())
        else:
            log.debug("%s: producer error: %s", self.name, err.str())
        if self._user_error_cb is not None:
            self._user_error_cb(err)

    def _delivered(
        self, callback: DeliveryCallback | None
    ) -> Callable[[ConfluentError | None, Message], None]:
        def report(err: ConfluentError | None, msg: Message) -> None:
            if is_fenced_or_fatal(err):
                self._broken = err
            self.tracker(err, msg)
            if callback is not None:
                callback(err, msg)

        return report

    def _recreate_if_broken(self) -> None:
        if self._broken is None:
            return
        old = self._producer
        log.warning("%s: replacing producer after %s", self.name, self._broken.str())
        try:
            old.purge()
            old.flush(1.0)  # serves the purge reports to their callbacks
        except KafkaException as exc:
            log.debug("%s: draining the old producer failed: %s", self.name, exc)
        self._broken = None  # only now: the old producer's last reports may repeat it
        self._producer = self._new_producer()
        self.recreated += 1

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | str | None = None,
        *,
        partition: int | None = None,
        headers: Mapping[str, bytes] | list[tuple[str, bytes]] | None = None,
        timestamp_ms: int = 0,
        on_delivery: DeliveryCallback | None = None,
    ) -> None:
        """Queue one message; waits (serving callbacks) while the local queue is full."""
        self._recreate_if_broken()
        kwargs: dict[str, Any] = {"on_delivery": self._delivered(on_delivery)}
        if partition is not None:
            kwargs["partition"] = partition
        if headers is not None:
            kwargs["headers"] = headers if isinstance(headers, list) else list(headers.items())
        if timestamp_ms:
            kwargs["timestamp"] = timestamp_ms
        deadline = time.monotonic() + self._queue_full_timeout
        while True:
            try:
                self._producer.produce(topic, value, key, **kwargs)
                return
            except BufferError:
                if time.monotonic() > deadline:
                    raise KafkaError(f"{self.name}: local queue full", topic=topic) from None
                self._producer.poll(0.05)
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                if isinstance(err, ConfluentError) and is_fenced_or_fatal(err):
                    self._broken = err
                    self._recreate_if_broken()
                    continue
                raise KafkaError(f"{self.name}: produce failed: {exc}", topic=topic) from exc

    def poll(self, timeout: float = 0.0) -> int:
        """Serve delivery callbacks; returns how many were served."""
        served = int(self._producer.poll(timeout))
        self._recreate_if_broken()
        return served

    def flush(self, timeout: float = 10.0) -> int:
        """Wait for outstanding deliveries; returns how many are still outstanding."""
        left = int(self._producer.flush(timeout))
        self._recreate_if_broken()
        return left

    def __len__(self) -> int:
        return len(self._producer)

    @property
    def producer(self) -> Producer:
        """The current underlying confluent producer (changes after a recreate)."""
        return self._producer

    def close(self, timeout: float = 10.0) -> None:
        """Flush; logs (does not raise) if messages remain undelivered."""
        left = self.flush(timeout)
        if left:
            log.warning("%s: %d message(s) undelivered at close", self.name, left)

    def __enter__(self) -> ResilientProducer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class Sender:
    """Produces :class:`Outgoing` messages through a :class:`ResilientProducer`, giving a
    message whose delivery fails more attempts, up to ``attempts`` in all.

    Every produce carries a delivery callback. Failed messages wait in the sender
    until :meth:`retry` (a service's next tick) or :meth:`drain` (flush until all are
    delivered or out of attempts) produces them again; the callbacks run in the
    thread that polls or flushes, so nothing here needs a lock.
    """

    def __init__(self, producer: ResilientProducer, *, attempts: int = 1) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        self.producer = producer
        self.attempts = attempts
        self.resent = 0
        self.lost = 0  # messages whose last attempt failed
        self._failed: list[tuple[Outgoing, int, int]] = []

    def send(self, out: Outgoing, *, attempts: int | None = None) -> None:
        """Produce ``out``; ``attempts`` overrides the sender's budget for this message."""
        self._produce(out, 1, self.attempts if attempts is None else attempts)

    def _produce(self, out: Outgoing, attempt: int, budget: int) -> None:
        def report(err: ConfluentError | None, _msg: Message) -> None:
            if err is None:
                return
            if attempt < budget:
                self._failed.append((out, attempt + 1, budget))
            else:
                self.lost += 1

        if out.headers:
            self.producer.produce(
                out.topic, out.value, out.key, headers=list(out.headers), on_delivery=report
            )
        else:
            self.producer.produce(out.topic, out.value, out.key, on_delivery=report)

    def retry(self) -> int:
        """Produce again the messages whose delivery failed; returns how many."""
        failed, self._failed = self._failed, []
        for out, attempt, budget in failed:
            self._produce(out, attempt, budget)
        self.resent += len(failed)
        if failed:
            log.debug("%s: re-producing %d message(s)", self.producer.name, len(failed))
        return len(failed)

    def poll(self, timeout: float = 0.0) -> int:
        """Serve delivery callbacks; returns how many were served."""
        return self.producer.poll(timeout)

    def drain(self, timeout: float = 30.0) -> int:
        """Flush, retrying failed messages until none is left; returns how many messages
        were not delivered (out of attempts, or still queued after ``timeout``)."""
        lost_before = self.lost
        while True:
            left = self.producer.flush(timeout)
            if left or not self._failed:
                return self.lost - lost_before + left
            self.retry()

    @property
    def waiting(self) -> int:
        """Messages whose delivery failed, waiting for :meth:`retry`."""
        return len(self._failed)
