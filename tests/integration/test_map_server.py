"""The map's web server on its own (no broker): page, assets, basemap, state and stream."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from cli.map import basemap_files, map_context
from consumers.errors import ConsumerError
from consumers.map import MapServer, MapState, ServerConfig, vendor_missing
from tests.factories import make_alert


@pytest.fixture
def state() -> MapState:
    state = MapState(map_context())
    state.apply(make_alert())
    state.publish()
    return state


@pytest.fixture
def server(state: MapState) -> Iterator[MapServer]:
    server = MapServer(state, ServerConfig(port=0, basemap=basemap_files(), frame_s=0.05))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _events(response: httpx.Response, count: int) -> list[tuple[str, dict[str, object]]]:
    """The first ``count`` server-sent events of a stream: (event name, data)."""
    found: list[tuple[str, dict[str, object]]] = []
    name = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            found.append((name, json.loads(line[len("data: ") :])))
            if len(found) == count:
                break
    return found


def test_the_page_its_libraries_and_the_basemap_are_served_locally(server: MapServer) -> None:
    with httpx.Client(base_url=server.url, timeout=5.0) as http:
        page = http.get("/")
        assert page.status_code == 200 and "/static/map.js" in page.text
        assert "http" not in page.text.split("<body")[1]  # no CDN, nothing from outside
        paths = ["/static/map.js", "/static/draw.js", "/static/map.css", "/data/land.geojson"]
        if not vendor_missing():
            paths.append("/static/vendor/d3-geo.min.js")
        for path in paths:
            assert http.get(path).status_code == 200, path
        assert http.get("/data/nothing.geojson").status_code == 404
        assert http.get("/healthz").json()["ok"] is True
        tracks = http.get("/api/state").json()["tracks"]
        assert [t["id"] for t in tracks] == ["SYS-0001"]


def test_a_stream_starts_with_a_snapshot_then_sends_what_changed(
    server: MapServer, state: MapState
) -> None:
    def update() -> None:
        time.sleep(0.3)
        state.apply(make_alert(version=3))
        state.publish()

    with (
        httpx.Client(base_url=server.url, timeout=5.0) as http,
        http.stream("GET", "/events") as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        threading.Thread(target=update).start()
        (first, snapshot), (second, delta) = _events(response, 2)
    assert first == "snapshot" and snapshot["server_id"] == state.server_id
    assert second == "delta"
    assert [t["version"] for t in delta["tracks"]] == [3]  # type: ignore[union-attr]


def test_stopping_the_server_ends_open_streams_promptly(server: MapServer) -> None:
    with (
        httpx.Client(base_url=server.url, timeout=5.0) as http,
        http.stream("GET", "/events") as response,
    ):
        assert _events(response, 1)[0][0] == "snapshot"
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 3.0


def test_a_taken_port_is_one_clear_error(server: MapServer, state: MapState) -> None:
    with pytest.raises(ConsumerError, match=r"cannot serve the map on 127\.0\.0\.1:"):
        MapServer(state, ServerConfig(port=server.port or 0)).start()
