"""What the association planner (``bridge.assigner.plan``) reads and writes: candidates
(new or detached national tracks), slots (open system tracks) and the steps of a plan."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from bridge.estimate import Estimate
from trilink.constants import US
from trilink.model import Nation


@dataclass(frozen=True, slots=True)
class Candidate:
    """A national track looking for its system track."""

    estimate: Estimate
    nation: Nation
    realm: Hashable  # only slots of the same realm (data mode, scenario) are eligible
    order: tuple[int, str, str]  # who founds a slot first: (time, nation, track id)
    # The system track it broke from (a *detached* candidate): not joined unless ``rejoin``.
    exclude: str = ""
    begun_us: int = 0  # observed time its national track began
    may_hold: bool = False  # may wait instead of founding when only its nation blocks it
    # First seen above the birth ceiling, detached, or held before as ambiguous among
    # known tracks (``known``): a missile the picture holds.
    late: bool = False
    # Young (within ``GateConfig.settle_s`` of its first observation): when it is
    # ambiguous among tracks the picture already holds, it may wait like a late one.
    young: bool = False
    # Held before as ambiguous between known tracks (``bridge.table.Newcomer.known``):
    # it may wait again like a late one, however old its national track by now.
    known: bool = False
    # Retried after its break (held since): the track in ``exclude`` may take it back,
    # unless its nation is on that track again (a new track of its nation displaced it).
    rejoin: bool = False
    # Held before as its nation's track begun again beside that nation's lost track
    # (``Step.reinitiated``): it may wait so again on its retries, where it is no longer
    # late (judged on its first report), and is an ordinary newcomer in all else.
    reinitiated: bool = False
    # Held before and retried on a report with no newer observation (``Newcomer.stale``):
    # it was held on this very state, and a track's closing report (IMPACTED) repeats it
    # when the tracks it waited beside may have closed. It may join; it founds nothing.
    stale: bool = False

    @property
    def detached(self) -> bool:
        """Detached by a break (now or on an earlier report, still held): a missile the
        picture holds, so it never founds a track and is compared on its whole state."""
        return bool(self.exclude)


@dataclass(slots=True)
class Slot:
    """A system track as association sees it."""

    track_id: str  # "" for a slot founded in this plan
    estimate: Estimate | None
    nations: set[Nation]
    realm: Hashable
    # Event time it closed (None: open). Only a national track that began before then
    # may join it: data that arrived late, from a feed read behind the others.
    closed_us: int | None = None
    # Its earlier estimates (``SystemTrack.history``): a candidate older than
    # ``estimate`` is compared with the one nearest its time.
    history: Sequence[Estimate] = ()
    # Its members' estimates by nation (the live ones of an open track): a late
    # candidate joins beside its nation's member only if the two are one object.
    kin: Mapping[Nation, Sequence[Estimate]] = field(default_factory=dict)

    def estimate_at(self, time_us: int, span_us: int) -> Estimate | None:
        """The estimate to move to ``time_us``: the newest, unless the track was
        thrusting then and the newest no longer thrusts or is more than ``span_us``
        newer (see ``GateConfig.boost_span_s``): then its estimate nearest that time."""
        est = self.estimate
        then = thrusting_then(self.history, est, time_us, span_us)
        return est if then is None else then


def thrusting_then(
    history: Sequence[Estimate], newest: Estimate | None, time_us: int, span_us: int
) -> Estimate | None:
    """The estimate of ``history`` nearest ``time_us`` if the track was thrusting then
    and ``newest``, moved back there, would miss that thrust; else None."""
    if newest is None or not history or newest.time_us - time_us < US:
        return None
    if newest.boosting and newest.time_us - time_us <= span_us:
        return None
    then = min(history, key=lambda e: (abs(e.time_us - time_us), -e.time_us))
    return then if then.boosting else None


@dataclass(frozen=True, slots=True)
class Step:
    """Candidate ``candidate`` joins slot ``slot``; ``founds``: it creates that slot;
    ``held``: it founds nothing yet, as it gates with ``slot`` but that slot already
    has an active track of its nation (slot -1: a detached track near no slot), or
    (``reinitiated``) that nation's track there has not reported since it began;
    ``duplicate``: a late candidate joins a slot its nation is already on."""

    candidate: int
    slot: int
    founds: bool = False
    held: bool = False
    duplicate: bool = False  # joins although its nation is on the slot (late candidates)
    ambiguous: bool = False  # held: ``slot`` is only the best of several it cannot tell apart
    # Held: begun in flight, it may be its nation's track on ``slot`` begun again (it may
    # wait so again on its retries: ``Candidate.reinitiated``).
    reinitiated: bool = False
