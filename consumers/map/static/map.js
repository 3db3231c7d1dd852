// trilink map: the stream. EventSource on /events: a "snapshot" on every (re)connect
// replaces the picture, "delta" frames merge what changed. EventSource reconnects by
// itself when the server goes away; a restarted server answers with a snapshot.
// Redrawing is coalesced to one animation frame however fast frames arrive.
"use strict";

(function () {
  const T = window.trilink;
  const S = T.state;
  const body = document.body;
  const conn = document.getElementById("conn");
  const feed = document.getElementById("feed");
  const clock = document.getElementById("clock");

  if (!window.d3 || !d3.geoPath) {
    const box = document.getElementById("fatal");
    box.hidden = false;
    box.textContent = "The map's front-end libraries are not installed: run 'make web' and reload.";
    body.dataset.fatal = "no-d3";
    return;
  }

  let dirty = false;
  function redraw() {
    if (dirty) return;
    dirty = true;
    requestAnimationFrame(() => {
      dirty = false;
      if (!T.map.fit(false)) {
        T.map.renderUnits();
        T.map.renderTracks();
      }
      T.panels.renderLead();
      T.panels.renderCards();
      T.panels.renderTimeline();
      body.dataset.tracks = String(S.tracks.size);
      body.dataset.rev = String(S.rev);
    });
  }

  function applyMeta(meta) {
    if (!meta) return;
    const launchesChanged = JSON.stringify(meta.launches) !== JSON.stringify(S.meta.launches);
    S.meta = meta;
    const live = meta.status.feed === "live";
    const count = meta.status.detail.split(", ").length;
    feed.textContent = live ? `reading ${count} topics` : `${meta.status.feed} ${meta.status.detail}`;
    feed.title = meta.status.detail;
    body.dataset.feed = meta.status.feed;
    if (launchesChanged) T.map.renderCoverage();
  }

  function onFrame(kind, ev) {
    const frame = JSON.parse(ev.data);
    S.offsetUs = frame.server_wall_us - Date.now() * 1000;
    if (kind === "snapshot") {
      const fresh = S.serverId !== frame.server_id;
      S.serverId = frame.server_id;
      S.static = frame.static;
      S.tracks = new Map(frame.tracks.map((t) => [t.id, t]));
      body.dataset.serverId = frame.server_id;
      body.dataset.snapshots = String(Number(body.dataset.snapshots || 0) + 1);
      applyMeta(frame.meta);
      T.panels.renderLegend();
      if (fresh) T.map.renderCoverage();
    } else {
      applyMeta(frame.meta);
      for (const t of frame.tracks) S.tracks.set(t.id, t);
      for (const id of frame.removed) S.tracks.delete(id);
    }
    S.rev = frame.rev;
    S.frames += 1;
    redraw();
  }

  function setConnected(on) {
    S.connected = on;
    body.dataset.connected = String(on);
    conn.textContent = on ? "live" : "reconnecting…";
    conn.className = `badge ${on ? "ok" : "bad"}`;
  }

  let source = null;
  function connect() {
    source = new EventSource("/events");
    source.onopen = () => setConnected(true);
    source.addEventListener("snapshot", (ev) => onFrame("snapshot", ev));
    source.addEventListener("delta", (ev) => onFrame("delta", ev));
    source.onerror = () => {
      setConnected(false);
      // EventSource retries by itself unless the server refused outright.
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
    };
  }

  function tick() {
    const c = S.meta.clock;
    const now = T.simNowUs();
    clock.textContent = `${T.utc(now)}${c.rate === 1 ? "" : ` (scenario clock ×${c.rate})`}`;
    T.map.renderPositions();
    T.panels.renderNow();
  }

  T.map.loadBasemap().then(() => {
    body.dataset.basemap = "loaded";
    redraw();
  });
  connect();
  setInterval(tick, 250);
  setInterval(() => T.panels.renderCards(), 1000);
})();
