// trilink map: shared state, the scenario clock, formatting and small DOM helpers.
// Every script hangs off one namespace, window.trilink; window.trilinkState is the
// picture as the page holds it (tests read it).
"use strict";

(function () {
  const T = (window.trilink = window.trilink || {});

  T.NATIONS = ["KOR", "JPN", "USA"];
  T.NATION_NAME = { KOR: "Korea", JPN: "Japan", USA: "USA" };
  T.NATION_COLOR = { KOR: "#1565c0", JPN: "#c62828", USA: "#2e7d32" };
  T.TRACK_COLORS = ["#e65100", "#6a1b9a", "#00838f", "#ad1457", "#5d4037", "#283593", "#9e9d24"];

  T.state = window.trilinkState = {
    serverId: null,
    rev: null,
    frames: 0,
    connected: false,
    offsetUs: 0, // server wall clock minus ours
    meta: { clock: { epoch_us: 0, rate: 1 }, status: { feed: "starting", detail: "" }, launches: [] },
    static: null,
    tracks: new Map(), // id -> track as the server renders it (consumers/map/tracks.py)
    colors: new Map(), // id -> colour, stable while the page lives
    coverageAlt: "50", // an SRBM's apogee: where each radar's horizon lets it see one
  };

  // -- clock: scenario time = epoch + (wall - epoch) * rate (trilink/clock.py) -------
  T.wallUs = () => Date.now() * 1000 + T.state.offsetUs;
  T.simNowUs = () => {
    const c = T.state.meta.clock;
    return c.rate === 1 ? T.wallUs() : c.epoch_us + (T.wallUs() - c.epoch_us) * c.rate;
  };

  // -- formatting ---------------------------------------------------------------------
  T.tplus = (us, t0) => {
    if (us == null || t0 == null) return "—";
    const s = Math.round((us - t0) / 1e6);
    if (Math.abs(s) < 600) return `T${s < 0 ? "−" : "+"}${Math.abs(s)} s`;
    const m = Math.floor(Math.abs(s) / 60);
    return `T${s < 0 ? "−" : "+"}${m} min ${String(Math.abs(s) % 60).padStart(2, "0")} s`;
  };
  T.utc = (us) => {
    const d = new Date(us / 1000);
    return d.toISOString().slice(11, 19) + " UTC";
  };
  T.latlon = (lat, lon) => {
    const ew = ((lon + 540) % 360) - 180;
    return `${Math.abs(lat).toFixed(2)}°${lat >= 0 ? "N" : "S"} ${Math.abs(ew).toFixed(2)}°${ew >= 0 ? "E" : "W"}`;
  };
  T.colorOf = (id) => {
    const s = T.state;
    if (!s.colors.has(id)) s.colors.set(id, T.TRACK_COLORS[s.colors.size % T.TRACK_COLORS.length]);
    return s.colors.get(id);
  };

  // -- DOM ----------------------------------------------------------------------------
  const SVG_NS = "http://www.w3.org/2000/svg";
  T.svg = (tag, attrs, parent) => {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v != null) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  };
  T.html = (tag, attrs, text, parent) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v != null) node.setAttribute(k, v);
    if (text != null) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  };
  T.clear = (node) => {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  };

  // Tracks in the order people read them: by launch, then id.
  T.sortedTracks = () =>
    [...T.state.tracks.values()].sort((a, b) => a.t0_us - b.t0_us || (a.id < b.id ? -1 : 1));

  // Where a missile is at scenario time `now`: along its flown trail and predicted
  // path (both [lon, lat, alt_km, time_us]); the impact point once it has ended.
  T.positionAt = (track, now) => {
    if (track.final && track.impact) return [track.impact.lon, track.impact.lat, 0];
    const pts = track.trail.concat(track.predicted.filter((p) => p[3] > track.state.time_us));
    if (!pts.length) return [track.state.lon, track.state.lat, track.state.alt_km];
    if (now <= pts[0][3]) return pts[0].slice(0, 3);
    for (let i = 1; i < pts.length; i++) {
      const a = pts[i - 1], b = pts[i];
      if (now <= b[3]) {
        const f = (now - a[3]) / Math.max(1, b[3] - a[3]);
        return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
      }
    }
    return pts[pts.length - 1].slice(0, 3);
  };
})();
