"""The map's web side: an aiohttp server that streams the state to browsers.

Routes:

* ``/``                 the page (``static/index.html``);
* ``/static/...``       its script, styles and the vendored npm libraries
  (``static/vendor``, filled by ``make web``; nothing comes from a CDN);
* ``/data/NAME.geojson`` the basemap layers the caller hands in (Natural Earth land,
  admin-1 units, maritime zones);
* ``/events``           server-sent events: a full ``snapshot`` on connect, then
  ``delta`` frames of what changed, at most ``1 / frame_s`` a second, plus a comment
  every few seconds so a dead connection is noticed. ``EventSource`` reconnects by
  itself (``retry: 1000``), and every connection starts with a snapshot, so a
  restarted server simply repaints the page;
* ``/api/state``        the snapshot as JSON (tests, scripts); ``/healthz``.

The server runs its own event loop in a thread so the CLI (and the demo) keep
their main thread; the state is shared with the feed's thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from aiohttp import web

from consumers.errors import ConsumerError
from consumers.map.state import MapState

log = logging.getLogger(__name__)

STATIC = Path(str(resources.files("consumers.map").joinpath("static")))
VENDOR_FILES = ("d3-array.min.js", "d3-geo.min.js")
"""What ``make web`` copies into ``static/vendor`` from the pinned npm packages."""


def vendor_missing(static: Path = STATIC) -> list[str]:
    """The front-end library files that are not installed (run ``make web``)."""
    return [name for name in VENDOR_FILES if not (static / "vendor" / name).is_file()]


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Where to listen and what to serve. ``port`` 0 picks a free port."""

    host: str = "127.0.0.1"
    port: int = 8765
    basemap: Mapping[str, Path] = field(default_factory=lambda: MappingProxyType({}))
    frame_s: float = 0.1
    keepalive_s: float = 5.0


class MapServer:
    """The web server in its own thread: ``start()`` returns once it listens."""

    def __init__(self, state: MapState, config: ServerConfig | None = None) -> None:
        self.state = state
        self.config = config or ServerConfig()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        host = self.config.host
        shown = f"[{host}]" if ":" in host else ("127.0.0.1" if host == "0.0.0.0" else host)
        return f"http://{shown}:{self.port}/"

    def start(self, timeout: float = 10.0) -> str:
        """Listen (ConsumerError if the address cannot be bound); returns the page's URL."""
        missing = vendor_missing()
        if missing:
            log.warning("map: front-end libraries missing (%s): run 'make web'", ", ".join(missing))
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="map-server", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._listen(), loop).result(timeout)
        except OSError as exc:
            self.stop()
            where = f"{self.config.host}:{self.config.port}"
            raise ConsumerError(f"cannot serve the map on {where}: {exc.strerror or exc}") from exc
        return self.url

    async def _listen(self) -> None:
        self._closing = asyncio.Event()
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/events", self._events)
        app.router.add_get("/api/state", self._api_state)
        app.router.add_get("/healthz", self._health)
        app.router.add_get("/data/{name}.geojson", self._geojson)
        app.router.add_static("/static/", STATIC, follow_symlinks=False)
        runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port, reuse_address=True)
        await site.start()
        self._runner = runner
        server = site._server  # aiohttp exposes the bound port only here
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.config.port

    def stop(self, timeout: float = 5.0) -> None:
        """Close every stream and stop listening."""
        loop = self._loop
        if loop is None:
            return
        if self._runner is not None:
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            try:
                future.result(timeout)
            except (TimeoutError, RuntimeError) as exc:
                log.debug("map server shutdown: %s", exc)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout)
        if not loop.is_running():
            loop.close()
        self._loop = None

    async def _shutdown(self) -> None:
        if self._closing is not None:
            self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- handlers -------------------------------------------------------------------

    async def _index(self, _request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def _health(self, _request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "revision": self.state.revision})

    async def _api_state(self, _request: web.Request) -> web.Response:
        _, _, text = self.state.frame(None)
        return web.Response(text=text, content_type="application/json")

    async def _geojson(self, request: web.Request) -> web.StreamResponse:
        path = self.config.basemap.get(request.match_info["name"])
        if path is None:
            raise web.HTTPNotFound(text="no such layer")
        return web.FileResponse(path, headers={"Content-Type": "application/geo+json"})

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        await response.write(b"retry: 1000\n\n")
        closing = self._closing or asyncio.Event()
        since: int | None = None
        idle = 0.0
        try:
            while not closing.is_set():
                if since is None or self.state.revision != since:
                    since, event, text = self.state.frame(since)
                    # The write waits while the client is slow: frames are never
                    # queued, the next one simply covers everything since.
                    await response.write(f"event: {event}\ndata: {text}\n\n".encode())
                    idle = 0.0
                elif idle >= self.config.keepalive_s:
                    await response.write(b": keepalive\n\n")
                    idle = 0.0
                await asyncio.sleep(self.config.frame_s)
                idle += self.config.frame_s
        except ConnectionResetError:
            log.debug("map: a client went away")
        return response
