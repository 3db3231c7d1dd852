"""``trilink map`` in a real headless Chromium: a salvo in flight, drawn where the alerts say.

The session broker, the demo's threaded pipeline (three national producers and the
bridge) on fresh topics, and the map server; a small salvo injected at the demo's
speed-up. Playwright drives Debian's Chromium (``make browser``; Playwright's own
browser download does not work offline) and reads what the page drew from its data
attributes. Screenshots go to the test's tmp dir and ``out/screenshots/``.

Skips, saying why, only where no browser can be had: no Playwright package or no
Chromium binary (``make test`` installs both where it can).
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.map import RunningMap, serving_map
from consumers.map import MapServer, ServerConfig, vendor_missing
from consumers.positions import StartKind, StartPosition
from consumers.reader import RecordReader
from demo.pipeline import PipelineConfig, ThreadedPipeline
from demo.services import ServiceThreads
from producers.scenario import LaunchSpec, build
from sim.solve import solve_trajectory
from trilink.codec import codec_for
from trilink.config import KafkaConfig, Topics
from trilink.kafka import RecordTopics
from trilink.model import FusedAlert, LaunchEvent
from trilink.timeutil import wall_clock_us

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("TRILINK_CHROMIUM", "/usr/bin/chromium"))
ARTEFACTS = ROOT / "out" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SPEED = 25.0  # the demo's speed-up: the page must keep up with it
SALVO = [
    LaunchSpec("sunan", "kn-25", 80.0, 350.0, 50.0, 0.0),
    LaunchSpec("sunan", "kn-25", 80.0, 350.0, 50.0, 15.0),
    LaunchSpec("sohae", "hwasong-11a", 76.0, 400.0, 50.0, 5.0),
]

# Every injected launch has a track with an impact ellipse, and Japan's lead is shown.
ALL_DRAWN = """(ids) => {
  const drawn = [...document.querySelectorAll('#layer-tracks g.track')]
    .filter((g) => g.querySelector('path.impact-ellipse'))
    .map((g) => g.dataset.launchId);
  const lead = Number(document.getElementById('lead-panel').dataset.jpnLeadS || 0);
  return ids.every((id) => drawn.includes(id)) && lead > 0;
}"""
ALL_ENDED = """(ids) => {
  const ended = [...document.querySelectorAll('#layer-tracks g.track')]
    .filter((g) => g.dataset.status === 'IMPACT' || g.dataset.status === 'DROPPED')
    .map((g) => g.dataset.launchId);
  return ids.every((id) => ended.includes(id));
}"""
# What the page drew for each track, and where the ellipse sits on the SVG.
DRAWN = """() => [...document.querySelectorAll('#layer-tracks g.track')].map((g) => {
  const e = g.querySelector('path.impact-ellipse');
  const box = e ? e.getBBox() : null;
  const at = e ? trilink.map.project(+g.dataset.impactLon, +g.dataset.impactLat) : null;
  return {
    ...g.dataset,
    ellipse_box: box && [box.x + box.width / 2, box.y + box.height / 2, box.width, box.height],
    impact_xy: at,
    trajectory: !!g.querySelector('path.trajectory'),
    ground_track: !!g.querySelector('path.ground-track'),
  };
})"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed (make install)"
    )
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: `make browser` installs Debian's (apt-get, root)")
    assert not vendor_missing(), "the map's front-end libraries are missing: run `make web`"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# The whole pipeline as processes on 2 cores: one rerun if a loaded machine upsets it.
pytestmark = [pytest.mark.paced, pytest.mark.flaky(reruns=1)]


def _screenshot(page: Any, tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> Path:
    shot = tmp_path / name
    page.screenshot(path=str(shot))
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTEFACTS / name)
    with capsys.disabled():
        print(f"\nscreenshot: {ARTEFACTS / name} (and {shot})")
    return shot


def _alerts(kafka: KafkaConfig, topics: Topics) -> dict[tuple[str, int], FusedAlert]:
    typed = RecordTopics.of(topics, codec_for(kafka))
    with RecordReader(kafka, [typed.alerts]) as reader:
        reader.open(StartPosition(StartKind.BEGINNING))
        found = [d.record for d in reader.read(follow=False, idle_timeout=10.0)]
    return {(a.system_track_id, a.version): a for a in found if isinstance(a, FusedAlert)}


def _check_drawn(drawn: list[dict[str, Any]], alerts: dict[tuple[str, int], FusedAlert]) -> None:
    """Each track's impact and ellipse are the alert's, drawn at the projected point."""
    for track in drawn:
        alert = alerts[(track["trackId"], int(track["version"]))]
        assert track["trajectory"] and track["ground_track"], track
        if alert.impact is None:
            continue
        impact = alert.impact
        assert float(track["impactLat"]) == pytest.approx(impact.lat_deg, abs=1e-4)
        assert float(track["impactLon"]) == pytest.approx(impact.lon_deg, abs=1e-4)
        assert float(track["ellipseMajorKm"]) == pytest.approx(
            impact.ellipse.semi_major_km, abs=1e-2
        )
        cx, cy, width, height = track["ellipse_box"]
        x, y = track["impact_xy"]
        slack = 2.0 + 0.05 * max(width, height)
        assert abs(cx - x) <= slack and abs(cy - y) <= slack, (track, (cx, cy), (x, y))


def _truth_km(track: dict[str, Any], launches: dict[str, LaunchEvent]) -> float:
    launch = launches[track["launchId"]]
    truth = solve_trajectory(
        launch.site_lat_deg,
        launch.site_lon_deg,
        launch.bearing_deg,
        launch.range_km,
        launch.apogee_km,
        launch.missile,
    )
    dlat = math.radians(float(track["impactLat"]) - truth.impact_lat_deg)
    dlon = math.radians(float(track["impactLon"]) - truth.impact_lon_deg)
    mean_lat = math.radians(truth.impact_lat_deg)
    return 6371.0 * math.hypot(dlat, dlon * math.cos(mean_lat))


@pytest.mark.timeout(180)
def test_a_salvo_in_flight_is_drawn_where_the_alerts_put_it(
    kafka_config: KafkaConfig,
    topics: Topics,
    chromium: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    codec = codec_for(kafka_config)
    scenario = build("map-salvo", SALVO, wall_clock_us(), seed=7, description="map test salvo")
    pipeline = ThreadedPipeline(kafka_config, PipelineConfig(scenario, SPEED, topics=topics), codec)
    threads = ServiceThreads()
    with serving_map(kafka_config, codec, topics=topics, port=0, wait_positioned=30.0) as running:
        page = chromium.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.goto(running.url)
            page.wait_for_function("document.body.dataset.connected === 'true'", timeout=10_000)
            pipeline.start_session()
            for name, service in pipeline.services().items():
                threads.start(name, service)
            deadline = time.monotonic() + 60.0
            while not pipeline.ready() and time.monotonic() < deadline:
                assert not threads.failures(), threads.failures()
                time.sleep(0.2)
            launches = {e.launch_id: e for e in pipeline.inject()}
            ids = sorted(launches)

            page.wait_for_function(ALL_DRAWN, arg=ids, timeout=90_000, polling=250)
            drawn = page.evaluate(DRAWN)
            _screenshot(page, tmp_path, "map-salvo-in-flight.png", capsys)
            assert any(t["status"] not in ("IMPACT", "DROPPED") for t in drawn), "all ended"
            _check_drawn(drawn, _alerts(kafka_config, topics))
            headline = page.inner_text("#lead-headline")
            assert headline.startswith("Japan's lead: ") and " s — " in headline, headline

            page.wait_for_function(ALL_ENDED, arg=ids, timeout=60_000, polling=250)
            page.wait_for_timeout(300)  # one more frame: the markers settle on the impacts
            drawn = page.evaluate(DRAWN)
            _screenshot(page, tmp_path, "map-salvo-after-impact.png", capsys)
            alerts = _alerts(kafka_config, topics)
            _check_drawn(drawn, alerts)
            misses = {
                t["trackId"]: _truth_km(t, launches) for t in drawn if t.get("launchId") in launches
            }
            assert all(km < 25.0 for km in misses.values()), _picture(drawn, alerts, misses)
            _reconnects_after_a_restart(page, running)
        finally:
            threads.stop()
            page.close()
    assert not threads.failures(), threads.failures()
    assert errors == []


def _picture(
    drawn: list[dict[str, Any]],
    alerts: dict[tuple[str, int], FusedAlert],
    misses: dict[str, float],
) -> str:
    """Every drawn track in one line each: what the page matched it to and drew, how far
    its impact is from that launch's, and who fed its last alert. A rare live failure
    here (a track 92.6 km off, the distance between the salvo's two impact areas) must
    say whether the page paired a track with the wrong launch or the alert itself
    carried another missile's impact."""
    newest: dict[str, FusedAlert] = {}
    for (track_id, _), each in sorted(alerts.items()):
        newest[track_id] = each
    lines = ["a drawn impact is off its launch's:"]
    for t in drawn:
        alert = newest.get(t["trackId"])
        fed = (
            ""
            if alert is None
            else " ".join(f"{c.nation.value}/{c.track_id}" for c in alert.contributors)
        )
        miss = misses.get(t["trackId"])
        lines.append(
            f"  {t['trackId']} v{t.get('version')} {t.get('status')} {t.get('name')!r}"
            f" launch {t.get('launchId')} at ({t.get('launchLat')}, {t.get('launchLon')})"
            f" impact ({t.get('impactLat')}, {t.get('impactLon')})"
            f" {'' if miss is None else f'{miss:.1f} km off'}; fed by {fed}"
        )
    return "\n".join(lines)


def _reconnects_after_a_restart(page: Any, running: RunningMap) -> None:
    """The server goes away and comes back on the same port: the page repaints."""
    before = int(page.evaluate("Number(document.body.dataset.snapshots)"))
    tracks = page.evaluate("document.body.dataset.tracks")
    running.server.stop()
    page.wait_for_function("document.body.dataset.connected === 'false'", timeout=10_000)
    config = running.server.config
    again = MapServer(
        running.state, ServerConfig(port=running.server.port or 0, basemap=config.basemap)
    )
    again.start()
    try:
        page.wait_for_function(
            f"Number(document.body.dataset.snapshots) > {before} "
            "&& document.body.dataset.connected === 'true'",
            timeout=15_000,
        )
        assert page.evaluate("document.body.dataset.tracks") == tracks
    finally:
        again.stop()
