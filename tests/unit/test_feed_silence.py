"""A stopped feed's members fall silent; a feed read behind the others does not (no I/O)."""

from __future__ import annotations

from bridge.config import AlertConfig, GateConfig
from bridge.table import TrackTable
from trilink.constants import US
from trilink.model import Nation

T0 = 1_777_593_600 * US


def _table(now_us: int) -> TrackTable:
    table = TrackTable.configured(GateConfig(silent_s=12.0, feed_lag_s=8.0), AlertConfig())
    table.event_us = T0 + 60 * US  # USA reported up to here
    table.nation_us = {Nation.USA: T0 + 59 * US, Nation.KOR: T0}  # Korea stopped at T0
    table.now_us = now_us
    return table


def test_caught_up_a_stopped_feed_is_judged_by_the_event_time() -> None:
    silent = _table(now_us=T0 + 61 * US).silent_before()
    assert silent[Nation.USA] == T0 + 47 * US  # its own feed: 59 s - 12 s
    assert silent[Nation.KOR] == T0 + 40 * US  # 60 s - 8 s of feed lag - 12 s


def test_behind_a_backlog_each_feed_keeps_its_own_clock() -> None:
    # The clock is minutes past the event time: the bridge is reading a backlog, and
    # Korea's feed may simply not have been fetched yet.
    silent = _table(now_us=T0 + 600 * US).silent_before()
    assert silent[Nation.KOR] == T0 - 12 * US
    assert silent[Nation.USA] == T0 + 47 * US


def test_ahead_of_the_clock_each_feed_keeps_its_own_clock() -> None:
    # Reports stamped minutes past the clock (a replay faster than real time): which
    # feed is fetched first decides nothing, so no feed is judged stopped.
    silent = _table(now_us=T0 - 300 * US).silent_before()
    assert silent[Nation.KOR] == T0 - 12 * US
    assert silent[Nation.USA] == T0 + 47 * US


def test_in_an_accelerated_session_the_lag_is_wall_time() -> None:
    # At 10x, 8 s of wall time is 80 s of event time: Korea, 60 s behind, is late, not
    # stopped; at 1x the same lag is a dead feed.
    table = _table(now_us=T0 + 61 * US)
    table.rate = 10.0
    assert table.silent_before()[Nation.KOR] == T0 - 12 * US
    table.rate = 1.0
    assert table.silent_before()[Nation.KOR] == T0 + 40 * US
