"""The launch injector: put a scenario's ground truth on the launch topic, timed from now.

:func:`scenario_for` turns what a user asks for — one launch, a salvo, a historical
day or a scenario (built-in name or YAML file) — into a :class:`Scenario`, checking
everything before anything is published. :func:`inject` re-anchors it at
``now + lead`` (the producers' simulation clocks start there) and publishes every
:class:`~trilink.model.LaunchEvent` keyed by its launch id. A historical replay
keeps its launches' real time-of-day offsets but is re-timed to now, since the
bridge rejects records far in the past; its scenario id (``hist-<date>``) says so.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from producers.errors import ProducerError, ScenarioError
from producers.scenario import (
    DEFAULT_START_US,
    MAX_SALVO,
    LaunchSpec,
    Scenario,
    build,
    historical_scenario,
)
from producers.scenario_file import load_scenario
from trilink.codec import Codec, codec_for
from trilink.config import KafkaConfig, Topics
from trilink.kafka import RecordTopics, ResilientProducer, Sender, ensure_topics, producer_config

log = logging.getLogger(__name__)

DEFAULT_LEAD_S = 2.0
MAX_RANGE_KM = 20_000.0  # half the Earth's circumference: no ballistic shot goes farther
MAX_APOGEE_KM = 5_000.0  # above any lofted ICBM test (Hwasong-15: ~4,500 km)
MAX_SPACING_S = 3600.0


@dataclass(frozen=True, slots=True)
class LaunchRequest:
    """A single launch or a salvo from one site, as the command line gives it."""

    site: str
    missile: str
    bearing_deg: float
    range_km: float
    apogee_km: float
    count: int = 1
    spacing_s: float = 10.0

    def __post_init__(self) -> None:
        # Checked here, not deep in the flight solver, so a bad flag gets one clear line
        # and a huge --count never allocates anything.
        for name, value in (
            ("--bearing", self.bearing_deg),
            ("--range-km", self.range_km),
            ("--apogee-km", self.apogee_km),
            ("--spacing-s", self.spacing_s),
        ):
            if not math.isfinite(value):
                raise ScenarioError(f"{name} must be a finite number, got {value}")
        if not 0.0 <= self.bearing_deg < 360.0:
            raise ScenarioError(f"--bearing must be in [0, 360) degrees, got {self.bearing_deg:g}")
        if not 0.0 < self.range_km <= MAX_RANGE_KM:
            raise ScenarioError(
                f"--range-km must be in (0, {MAX_RANGE_KM:g}], got {self.range_km:g}"
            )
        if not 0.0 < self.apogee_km <= MAX_APOGEE_KM:
            raise ScenarioError(
                f"--apogee-km must be in (0, {MAX_APOGEE_KM:g}], got {self.apogee_km:g}"
            )
        if not 1 <= self.count <= MAX_SALVO:
            raise ScenarioError(f"--count must be in 1..{MAX_SALVO}, got {self.count}")
        if not 0.0 <= self.spacing_s <= MAX_SPACING_S:
            raise ScenarioError(
                f"--spacing-s must be in [0, {MAX_SPACING_S:g}] s, got {self.spacing_s:g}"
            )


def scenario_for(
    *,
    launch: LaunchRequest | None = None,
    historical: str | None = None,
    scenario: str | None = None,
    seed: int | None = None,
) -> Scenario:
    """The scenario for exactly one of: a launch/salvo, a historical date, a scenario.

    ``seed`` None means 0, or the scenario file's own seed.

    Raises ScenarioError with a one-line reason for anything it cannot build.
    """
    if sum(v is not None for v in (launch, historical, scenario)) != 1:
        raise ScenarioError(
            "give exactly one of: launch parameters (--site ...), --historical DATE, --scenario"
        )
    if historical is not None:
        return historical_scenario(historical, seed or 0)
    if scenario is not None:
        return load_scenario(scenario, seed)
    assert launch is not None
    specs = [
        LaunchSpec(
            launch.site,
            launch.missile,
            launch.bearing_deg,
            launch.range_km,
            launch.apogee_km,
            i * launch.spacing_s,
        )
        for i in range(launch.count)
    ]
    kind = "salvo" if launch.count > 1 else "launch"
    scenario_id = f"inject-{launch.site.lower()}-{kind}"
    description = f"{launch.count} x {launch.missile}"
    return build(scenario_id, specs, DEFAULT_START_US, seed or 0, description)


def inject(
    kafka: KafkaConfig,
    scenario: Scenario,
    *,
    topics: Topics | None = None,
    lead_s: float = DEFAULT_LEAD_S,
    codec: Codec | None = None,
    clock: Callable[[], int] = lambda: time.time_ns() // 1000,
    timeout_s: float = 15.0,
) -> Scenario:
    """Publish ``scenario`` anchored at now + ``lead_s``; returns the anchored scenario.

    Raises ProducerError if any launch event is not acknowledged by the cluster.
    """
    launches = RecordTopics.of(topics or Topics(), codec or codec_for(kafka)).launches
    anchored = scenario.at(clock() + round(lead_s * 1e6))
    ensure_topics(kafka, [launches.name])
    producer = ResilientProducer(producer_config(kafka), name="injector")
    sender = Sender(producer)  # one attempt each: a failed injection is reported, not retried
    for event in anchored.launches:
        sender.send(launches.message(event))
    lost = sender.drain(timeout_s)
    if lost:
        err = producer.tracker.last_error
        raise ProducerError(
            f"{lost} launch event(s) not delivered to {launches.name}"
            + (f": {err.str()}" if err is not None else "")
        )
    log.info("injected %d launches of %s", len(anchored.launches), anchored.scenario_id)
    return anchored
