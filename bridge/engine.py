"""The bridge's per-batch orchestration: pure, no I/O, clock injected.

``Engine.process(batch)`` takes raw Kafka records from the national warning topics
and returns what to publish: fused alerts, dead letters and state snapshots of
every system track the batch touched. A warning's walk from the bridge's poll to
the published alert passes each of these, once and in this order:

1. admission (``admission.Admission``) — decode (injected codec), authorise the
   topic and validate (``validate``); failures become dead letters;
2. apply (``table.TrackTable``) — replays (sequence <= last applied) are dropped,
   the newest report per national track applied; LOST members leave their track;
   national tracks without a system track become newcomers;
3. associate (``associator.Associator``) — drifted members break away, then
   newcomers are gated and assigned jointly (``association``, ``assigner``),
   joining, founding, joining a closed track late, or held a while;
4. refresh (``picture.Refresher``) — the touched tracks' pictures rebuilt, the
   expensive way only when due (``alerts.AlertPolicy.refresh_due``), their impact
   deadlines queued (``schedule.ImpactSchedule``);
5. alert (``lifecycle.Lifecycle``) — NEW / UPDATE / IMPACT / DROPPED per
   ``alerts``, then what event time closed: passed impact deadlines, stale
   tracks, evictions (a track whose deadline passed with data not yet in its
   picture first gets the full refresh it is owed, from the refresher the
   lifecycle was given);
6. snapshot (``state.snapshot_tracks``) — the state of every track touched (or,
   with ``snapshots=False``, their ids, for the caller to snapshot when it commits:
   :meth:`Engine.snapshots_of`).

No step calls back into the engine: each works on the track table it was given
and hands what changed (``table.Changes``) to the next.

``tick`` (event time advanced without input) runs the closing half of 5, and 6;
``restore`` loads the table a previous bridge left and ``resume`` issues again
what its last transaction lost (5), with their snapshots (6).

Event time is the newest ``reported_us`` seen on any input, so offline and
accelerated runs make the same decisions; the wall clock only stamps alerts and
judges the validation windows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from bridge.admission import Admission, Decoder, Inbound, Outcome, Verifier
from bridge.alerts import AlertPolicy, Assess
from bridge.association import Gate
from bridge.associator import Associator
from bridge.config import EngineConfig
from bridge.fusion import CovarianceIntersection
from bridge.lifecycle import Lifecycle
from bridge.picture import PictureBuilder, Refresher
from bridge.rebuild import rebuild
from bridge.schedule import ImpactSchedule
from bridge.state import BridgeTrackState, snapshot_tracks
from bridge.table import TrackTable
from bridge.tracks import SystemTrack
from bridge.validate import Checked, Validator
from threat.alert import with_threat
from trilink.constants import US
from trilink.model import FusedAlert, MissileWarning

__all__ = ["Clock", "Engine", "Inbound", "Outcome", "Stages", "event_slices"]

Clock = Callable[[], int]


@dataclass(frozen=True, slots=True)
class Stages:
    """The engine's collaborators, one per step of the walk, all over one track table
    (the refresher and the lifecycle also share one impact schedule)."""

    admission: Admission
    table: TrackTable
    associator: Associator
    refresher: Refresher
    lifecycle: Lifecycle

    @classmethod
    def assemble(
        cls,
        config: EngineConfig,
        decoder: Decoder,
        verifier: Verifier | None = None,
        *,
        assess: Assess = with_threat,
    ) -> Stages:
        """The standard wiring for ``config``; ``verifier`` checks signed labels,
        ``assess`` fills each alert's threat."""
        admission = Admission(
            decoder,
            Validator(config.validation),
            config.input_topics(),
            config.service,
            verifier=verifier,
        )
        gate = Gate(config.gate, config.physics)
        policy = AlertPolicy(config.alerts)
        table = TrackTable.configured(config.gate, config.alerts)
        schedule = ImpactSchedule()
        fuse = CovarianceIntersection(config.fusion_criterion)
        refresher = Refresher(PictureBuilder(gate.propagator, fuse), policy, table, schedule)
        lifecycle = Lifecycle(config.alerts, policy, table, schedule, refresher, assess)
        return cls(admission, table, Associator(gate, table), refresher, lifecycle)

    def forget(self) -> None:
        """Empty what the stages remember within a batch (moves and fusions of estimates)."""
        self.associator.gate.propagator.forget()
        self.associator.fuse.forget()
        self.refresher.builder.propagator.forget()
        self.refresher.builder.fuse.forget()


def event_slices(admitted: list[Checked], span_us: int, event_us: int = 0) -> list[list[Checked]]:
    """The batch as it is, if its reports reach at most ``span_us`` past the event time
    ``event_us`` or past its oldest report, whichever is later (the live case); else
    its reports in order of ``reported_us``, cut into slices of at most ``span_us``,
    the first taking everything up to that bound.

    A backlog - the feeds read after a broker outage, a restart, a flood of bad
    records ahead of the good ones - brings minutes of a salvo in one batch. Walked
    whole, every national track would be applied at its newest report only, and a
    track first reported at launch would be associated by where its missile came down,
    beside tracks last updated minutes earlier: on a salvo of one trajectory, missiles
    swap tracks. Walked in slices, the backlog is fused as if it had been read on time.
    Reports older than the event time cannot be: the other feeds' newer reports are
    fused already. A feed read behind the others is walked as before, each national
    track at its newest report, compared with the tracks' estimates (and their
    history) at that time; walked from its first report, a track would be compared
    with estimates minutes newer and join a neighbour on one path. Nor can one feed's
    backlog fetched before the others' (a batch in which one nation alone reports past
    the event time): it is walked whole, as before.
    """
    if not admitted:
        # Walked once all the same: a batch of dead letters alone still moves the wall
        # clock, and what is due to close or to be released (a feed's "read late" hold)
        # must not wait for the next idle tick.
        return [admitted]
    times = [c.warning.reported_us for c in admitted]
    if max(times) - max(min(times), event_us) <= span_us:
        return [admitted]
    ahead = {c.warning.nation for c in admitted if c.warning.reported_us > event_us + span_us}
    if len(ahead) < 2:
        # One feed's backlog alone (its partitions fetched before the others'): walked
        # in slices, it would carry event time through the flight on one nation's word
        # while the others' reports of the same minutes are still to come.
        return [admitted]
    ordered = sorted(admitted, key=lambda c: c.warning.reported_us)
    out: list[list[Checked]] = [[]]
    end = max(ordered[0].warning.reported_us, event_us) + span_us
    for c in ordered:
        if c.warning.reported_us > end:
            out.append([])
            end = c.warning.reported_us + span_us
        out[-1].append(c)
    return out


class Engine:
    """The fusion engine. Not thread-safe; one instance per bridge process."""

    def __init__(
        self,
        config: EngineConfig,
        decoder: Decoder,
        clock: Clock,
        *,
        stages: Stages | None = None,
        verifier: Verifier | None = None,
        rate: Callable[[], float] = lambda: 1.0,
        snapshots: bool = True,
    ) -> None:
        self.config = config
        self.decoder = decoder
        self.clock = clock
        # False: an outcome names the tracks touched (``Outcome.touched``) instead of
        # snapshotting them, so a caller that commits every few batches snapshots a
        # track once per commit (``bridge.outbox``), not once per batch.
        self.snapshots = snapshots
        self.rate = rate  # event seconds per wall second (an accelerated session's speed)
        self.stages = stages or Stages.assemble(config, decoder, verifier)

    @property
    def tracks(self) -> Mapping[str, SystemTrack]:
        """The system tracks held (open, and closed ones until evicted)."""
        return self.stages.table.tracks

    @property
    def event_us(self) -> int:
        """Event time: the newest ``reported_us`` seen (or ticked to)."""
        return self.stages.table.event_us

    # -- entry points -------------------------------------------------------------

    def process(self, batch: Sequence[Inbound]) -> Outcome:
        """Run one batch of raw records through the bridge."""
        now, out = self.clock(), Outcome()
        admitted = self.stages.admission.admit_all(batch, now, out)  # 1. admission
        return self._walk(admitted, now, out)

    def process_warnings(self, warnings: Iterable[tuple[str, MissileWarning]]) -> Outcome:
        """Run already-decoded (topic, warning) pairs (offline scoring, tests)."""
        now, out = self.clock(), Outcome()
        admitted = self.stages.admission.check_all(warnings, now, out)  # 1. admission
        return self._walk(admitted, now, out)

    def _walk(self, admitted: list[Checked], now: int, out: Outcome) -> Outcome:
        """Steps 2-6 of the walk for the admitted reports of one batch: 2-5 once per
        slice of event time (``event_slices``), 6 once for the batch."""
        s = self.stages
        s.table.now_us, s.table.rate = now, self.rate()
        touched: set[str] = set()
        for part in event_slices(admitted, round(self.config.slice_s * US), s.table.event_us):
            changes = s.table.apply(part, out)  # 2. apply
            s.associator.associate(changes)  # 3. associate
            s.refresher.refresh_touched(changes.touched)  # 4. refresh
            s.lifecycle.advance(changes, now, out)  # 5. alert
            touched |= changes.touched
        self._snapshot(out, sorted(touched))  # 6. snapshot
        s.forget()
        return out

    def _snapshot(self, out: Outcome, track_ids: list[str], wall_us: int | None = None) -> None:
        if self.snapshots:
            out.states += self.snapshots_of(track_ids, wall_us)
        else:
            out.touched += track_ids

    def snapshots_of(
        self, track_ids: Iterable[str], wall_us: int | None = None
    ) -> list[BridgeTrackState]:
        """Snapshots, as they stand now, of those of ``track_ids`` still held, stamped
        ``wall_us`` (the clock's now by default)."""
        table = self.stages.table
        wall = self.clock() if wall_us is None else wall_us
        return snapshot_tracks(table.tracks, track_ids, table.event_us, wall)

    def tick(self, event_us: int) -> Outcome:
        """Advance event time without input (an idle service); closes what is due."""
        out = Outcome()
        table = self.stages.table
        table.now_us, table.rate = self.clock(), self.rate()
        if event_us > table.event_us:
            table.event_us = event_us
            touched: set[str] = set()
            self.stages.lifecycle.close_due(self.clock(), out, touched)
            self._snapshot(out, sorted(touched))
        return out

    def restore(
        self, states: Iterable[BridgeTrackState], published: Mapping[str, FusedAlert]
    ) -> None:
        """Resume from snapshots (last per track wins) and the alerts already published.

        See ``bridge.rebuild`` for how the two sources are reconciled.
        """
        r = rebuild(states, published)
        self.stages.table.load(r)
        self.stages.lifecycle.restored(r.reissue)

    def resume(self) -> Outcome:
        """After ``restore``: the alerts a cut-short transaction lost (see ``restore``)."""
        out, now = Outcome(), self.clock()
        self._snapshot(out, self.stages.lifecycle.resume(now, out), now)
        return out
