"""Synthetic national reports through the bridge's engine, one record a batch in
publication order, as the service would hand them over (no broker): for tests of the
picture's decisions."""

from __future__ import annotations

from collections.abc import Sequence

from bridge.config import EngineConfig
from bridge.engine import Engine, Inbound
from bridge.state import BridgeTrackState
from evaluation.synthetic import Report
from tests.factories import T0_US
from trilink.codec import Codec
from trilink.model import FusedAlert

CODEC = Codec()


def feed(
    reports: Sequence[Report], config: EngineConfig | None = None
) -> tuple[list[FusedAlert], dict[str, BridgeTrackState]]:
    """Every alert the engine published, in order, and each system track's last state."""
    engine = Engine(config or EngineConfig(), CODEC, lambda: T0_US)
    alerts: list[FusedAlert] = []
    states: dict[str, BridgeTrackState] = {}
    for i, r in enumerate(reports):
        w = r.warning
        out = engine.process([Inbound(r.topic, 0, i, w.track_id.encode(), CODEC.encode(w))])
        alerts.extend(out.alerts)
        states.update({s.system_track_id: s for s in out.states})
    return alerts, states
