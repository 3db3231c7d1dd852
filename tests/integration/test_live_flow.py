"""README's multi-terminal flow, as processes: a broker, three producers, the bridge, and
five injects of different kinds spread over ten minutes of scenario time with idle gaps.

Every missile must come out as one system track that ends with IMPACT at the right
time, its impact point within its own ellipse: the same session clock for every
process is what makes the later injects fuse as well as the first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.procs import CODEC, ROOT, Picture, check_picture, read_launches, running
from trilink.clock import SimClock
from trilink.config import KafkaConfig, Topics
from trilink.constants import US
from trilink.kafka import wait_for
from trilink.kafka.clock import read_clock

SPEED = 60.0
GAP_S = 150.0  # scenario seconds between injects: 5 injects span 600 s

pytestmark = [pytest.mark.paced, pytest.mark.slow, pytest.mark.flaky(reruns=1)]


def test_five_injects_over_ten_minutes_each_fused_right(
    kafka_config: KafkaConfig, topics: Topics, tmp_path: Path
) -> None:
    with running(kafka_config, topics, tmp_path, SPEED) as procs:
        clock_def = read_clock(kafka_config, topics.clock, CODEC)
        assert clock_def is not None and clock_def.rate == SPEED
        session = SimClock(clock_def)
        start = session.now()
        injects = [
            # The longest flight (14 min, over Japan) first: the others fly while it does.
            ("--historical", "2017-08-28", "--seed", "4"),
            ("--site", "sunan", "--missile", "kn-23", "--bearing", "95", "--range-km", "420",
             "--apogee-km", "50", "--seed", "3"),
            ("--scenario", str(ROOT / "scenarios" / "tight-salvo.yaml"), "--seed", "5"),
            ("--site", "wonsan", "--missile", "kn-25", "--bearing", "60", "--range-km", "380",
             "--apogee-km", "60", "--count", "3", "--spacing-s", "20", "--seed", "6"),
            ("--scenario", "sunan-srbm", "--seed", "7"),
        ]  # fmt: skip
        launch_ids: list[str] = []
        for i, args in enumerate(injects):
            due = start + round(i * GAP_S * US)
            # Idle gaps on the session clock: the condition is the clock reaching the time.
            wait_for(lambda d=due: session.now() >= d, timeout=GAP_S / SPEED + 30)
            launch_ids += procs.inject(*args)
        assert len(launch_ids) == 1 + 1 + 4 + 3 + 1

        launches = read_launches(kafka_config, topics, set(launch_ids))
        picture = Picture(kafka_config, topics.alerts)
        try:
            picture.wait_ended(launches, SPEED)
            tracks = picture.read()
        finally:
            picture.close()
        assert procs.alive(), procs.tail("bridge")
        check_picture(tracks, launches, picture.alerts)
