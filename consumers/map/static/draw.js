// trilink map: the map itself (d3-geo on SVG, no tiles): basemap, coverage, sensors,
// launch sites and the missiles. Every missile is a <g class="track"> whose data
// attributes state what is drawn (tests read them); trilink.map.project(lon, lat)
// gives the SVG coordinates of a point.
"use strict";

(function () {
  const T = window.trilink;
  if (!window.d3 || !d3.geoPath) return; // map.js says what is missing
  const svg = document.getElementById("map");
  const layers = {};
  for (const name of ["graticule", "zones", "land", "units", "coverage", "sensors", "sites", "tracks", "labels"]) {
    layers[name] = T.svg("g", { id: `layer-${name}` }, svg);
  }
  const DEFAULT_EXTENT = [[119, 29], [146, 45.5]]; // the Korean peninsula and Japan
  // The view grows to show what is in the picture, but no further than the seas around:
  // an IRBM's impact far out in the Pacific would shrink a salvo to a few pixels (its
  // dashed path leaves the map towards it; the side panel says where it falls).
  const clamp = ([lon, lat]) => [Math.min(Math.max(lon, 110), 160), Math.min(Math.max(lat, 18), 54)];
  const projection = d3.geoConicConformal().parallels([30, 45]).rotate([-132, 0]);
  const path = d3.geoPath(projection);
  const basemap = { land: null, units: null, zones: null };
  let autoFit = true;
  let lastFitKey = "";

  const map = (T.map = { projection, autoFit: () => autoFit });
  map.project = (lon, lat) => projection([lon, lat]);

  // d3-geo wants a polygon's outside clockwise; GeoJSON files wind it the other way.
  // A polygon that seems to cover more than half the sphere is wound backwards.
  function rewind(feature) {
    const g = feature.geometry;
    const polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
    for (const rings of polys) {
      if (d3.geoArea({ type: "Polygon", coordinates: rings }) > 2 * Math.PI) rings.forEach((r) => r.reverse());
    }
    return feature;
  }

  map.loadBasemap = async () => {
    for (const name of Object.keys(basemap)) {
      try {
        const resp = await fetch(`/data/${name}.geojson`);
        if (!resp.ok) continue;
        const data = await resp.json();
        data.features.forEach(rewind);
        basemap[name] = data;
      } catch (err) {
        console.warn(`basemap ${name}:`, err);
      }
    }
    map.fit(true);
  };

  // Fit the view to the region and everything in the picture, unless the user zoomed.
  map.fit = (force) => {
    const pts = [...DEFAULT_EXTENT];
    for (const t of T.state.tracks.values()) {
      for (const p of [t.launch, t.impact]) if (p) pts.push(clamp([p.lon, p.lat]));
    }
    const key = `${svg.clientWidth}x${svg.clientHeight}:${JSON.stringify(pts)}`;
    if (!force && (!autoFit || key === lastFitKey)) return false;
    lastFitKey = key;
    const w = svg.clientWidth || 800, h = svg.clientHeight || 600;
    projection.fitExtent([[20, 20], [w - 20, h - 20]], { type: "MultiPoint", coordinates: pts });
    map.renderBase();
    return true;
  };

  map.renderBase = () => {
    T.clear(layers.graticule);
    T.svg("path", { class: "graticule", d: path(d3.geoGraticule().step([5, 5])()) }, layers.graticule);
    for (const [name, cls] of [["zones", "zone"], ["land", "land"]]) {
      T.clear(layers[name]);
      const data = basemap[name];
      if (!data) continue;
      for (const f of data.features) {
        if (name === "zones" && f.properties.zone !== "EEZ") continue;
        const p = f.properties;
        T.svg("path", { class: `${cls} ${p.nation}`, d: path(f), "data-nation": p.nation }, layers[name]);
      }
    }
    map.renderUnits();
    map.renderCoverage();
    map.renderTracks();
  };

  map.renderUnits = () => {
    T.clear(layers.units);
    if (!basemap.units) return;
    const threatened = new Set();
    for (const t of T.state.tracks.values()) {
      if (t.threat) t.threat.warning.forEach((w) => threatened.add(w.code));
    }
    document.body.dataset.threatenedUnits = [...threatened].sort().join(" ");
    for (const f of basemap.units.features) {
      const on = threatened.has(f.properties.code);
      T.svg("path", {
        class: on ? "unit threatened" : "unit",
        d: path(f),
        "data-code": f.properties.code,
      }, layers.units).appendChild(T.svg("title")).textContent = f.properties.name;
    }
  };

  map.renderCoverage = () => {
    T.clear(layers.coverage);
    T.clear(layers.sensors);
    T.clear(layers.sites);
    const st = T.state.static;
    if (!st) return;
    const alt = T.state.coverageAlt;
    for (const s of st.sensors) {
      const color = T.NATION_COLOR[s.nation] || "#555";
      const ring = alt ? s.coverage[alt] : null;
      if (ring) {
        T.svg("path", {
          class: "coverage", d: path({ type: "Polygon", coordinates: [ring] }),
          fill: color, stroke: color, "data-sensor": s.name, "data-alt-km": alt,
        }, layers.coverage);
      }
      const xy = map.project(s.lon, s.lat);
      if (!xy || s.kind !== "RADAR") continue;
      const [x, y] = xy;
      const mark = T.svg("path", {
        class: "sensor", d: `M${x},${y - 6}L${x + 5},${y + 4}L${x - 5},${y + 4}Z`, fill: color,
        "data-sensor": s.name, "data-nation": s.nation, "data-lat": s.lat, "data-lon": s.lon,
      }, layers.sensors);
      T.svg("title", {}, mark).textContent = `${s.name} — ${s.platform}, ${s.max_range_km} km`;
      T.svg("text", { class: "sensor-label", x: x + 6, y: y + 3 }, layers.sensors).textContent =
        s.name.replace(/^(KOR|JPN|USA)-/, "");
    }
    for (const site of siteMarks()) {
      const xy = map.project(site.lon, site.lat);
      if (!xy) continue;
      T.svg("rect", { class: "site", x: xy[0] - 3, y: xy[1] - 3, width: 6, height: 6, "data-site": site.name }, layers.sites);
      T.svg("text", { class: "site-label", x: xy[0] - 6, y: xy[1] - 6, "text-anchor": "end" }, layers.sites).textContent = site.name;
    }
  };

  // Launch sites worth a label: those of the launches in the picture.
  function siteMarks() {
    const seen = new Map();
    for (const l of T.state.meta.launches) seen.set(l.site, { name: l.site, lat: l.lat, lon: l.lon });
    return [...seen.values()];
  }

  // Pixels per kilometre near a point, so an arc rises by its true altitude.
  function pxPerKm(lon, lat) {
    const a = map.project(lon, lat), b = map.project(lon, lat + 1);
    return a && b ? Math.hypot(a[0] - b[0], a[1] - b[1]) / 111.2 : 0;
  }

  function lifted(points, k) {
    const out = [];
    for (const p of points) {
      const xy = map.project(p[0], p[1]);
      if (xy) out.push(`${xy[0].toFixed(1)},${(xy[1] - p[2] * k).toFixed(1)}`);
    }
    return out.length > 1 ? `M${out.join("L")}` : null;
  }

  map.renderTracks = () => {
    T.clear(layers.tracks);
    T.clear(layers.labels);
    let ellipses = 0;
    for (const t of T.sortedTracks()) {
      drawTrack(t);
      if (t.impact) ellipses += 1;
    }
    document.body.dataset.ellipses = String(ellipses);
    map.renderPositions();
  };

  function drawTrack(t) {
    const color = T.colorOf(t.id);
    const imp = t.impact;
    const jpn = t.leads_s.JPN;
    const g = T.svg("g", {
      class: `track${t.final ? " final" : ""}`, "data-track-id": t.id, "data-version": t.version,
      "data-status": t.status, "data-name": t.name, "data-missile-class": t.missile_class, "data-launch-id": t.launch_id,
      "data-impact-lat": imp ? imp.lat : null, "data-impact-lon": imp ? imp.lon : null,
      "data-ellipse-major-km": imp ? imp.ellipse.semi_major_km : null,
      "data-ellipse-minor-km": imp ? imp.ellipse.semi_minor_km : null,
      "data-ellipse-orientation-deg": imp ? imp.ellipse.orientation_deg : null,
      "data-launch-lat": t.launch ? t.launch.lat : null, "data-launch-lon": t.launch ? t.launch.lon : null,
      "data-lead-jpn-s": jpn == null ? "" : jpn, "data-trail-points": t.trail.length,
      "data-predicted-points": t.predicted.length,
    }, layers.tracks);
    const ground = (pts) => ({ type: "LineString", coordinates: pts.map((p) => [p[0], p[1]]) });
    const flown = (t.launch ? [[t.launch.lon, t.launch.lat, 0]] : []).concat(t.trail);
    const ahead = t.predicted.length ? t.predicted : imp && !t.final ? [t.trail[t.trail.length - 1], [imp.lon, imp.lat, 0]] : [];
    if (flown.length > 1) T.svg("path", { class: "ground-track flown", d: path(ground(flown)), stroke: color }, g);
    if (ahead.length > 1 && ahead[0]) T.svg("path", { class: "ground-track predicted", d: path(ground(ahead)), stroke: color }, g);
    const k = pxPerKm(t.state.lon, t.state.lat);
    const arc = lifted(flown, k);
    if (arc) T.svg("path", { class: "trajectory flown", d: arc, stroke: color }, g);
    const arcAhead = t.predicted.length > 1 ? lifted(t.predicted, k) : null;
    if (arcAhead) T.svg("path", { class: "trajectory predicted", d: arcAhead, stroke: color }, g);
    if (t.launch) {
      T.svg("path", { class: "launch-ellipse", d: path({ type: "Polygon", coordinates: [t.launch.ring] }), fill: color, stroke: color }, g);
      const xy = map.project(t.launch.lon, t.launch.lat);
      if (xy) T.svg("circle", { class: "launch-point", cx: xy[0], cy: xy[1], r: 3.5, fill: color }, g);
    }
    if (imp) {
      T.svg("path", {
        class: "ellipse impact-ellipse", d: path({ type: "Polygon", coordinates: [imp.ring] }),
        fill: color, stroke: color, "data-kind": "impact-ellipse",
      }, g);
      const xy = map.project(imp.lon, imp.lat);
      if (xy) {
        T.svg("path", { class: "impact-point", d: `M${xy[0] - 4},${xy[1] - 4}L${xy[0] + 4},${xy[1] + 4}M${xy[0] - 4},${xy[1] + 4}L${xy[0] + 4},${xy[1] - 4}`, stroke: color, "stroke-width": 2 }, g);
      }
    }
    T.svg("line", { class: "drop", stroke: color }, g);
    T.svg("circle", { class: "position", r: 5, fill: color }, g);
    T.svg("text", { class: "track-label", fill: color, "data-track-id": t.id }, layers.labels);
  }

  // Moves each missile's marker to where it is now on the scenario clock (4x a second).
  map.renderPositions = () => {
    const now = T.simNowUs();
    for (const g of layers.tracks.querySelectorAll("g.track")) {
      const t = T.state.tracks.get(g.dataset.trackId);
      if (!t) continue;
      const [lon, lat, alt] = T.positionAt(t, now);
      const xy = map.project(lon, lat);
      if (!xy) continue;
      const up = xy[1] - alt * pxPerKm(lon, lat);
      const dot = g.querySelector("circle.position");
      dot.setAttribute("cx", xy[0].toFixed(1));
      dot.setAttribute("cy", up.toFixed(1));
      const drop = g.querySelector("line.drop");
      drop.setAttribute("x1", xy[0]); drop.setAttribute("y1", xy[1]);
      drop.setAttribute("x2", xy[0]); drop.setAttribute("y2", up);
      g.dataset.positionLat = lat.toFixed(4);
      g.dataset.positionLon = lon.toFixed(4);
      g.dataset.altitudeKm = alt.toFixed(1);
      const label = layers.labels.querySelector(`text[data-track-id="${CSS.escape(t.id)}"]`);
      if (label) {
        label.setAttribute("x", xy[0] + 8);
        label.setAttribute("y", up - 6);
        const when = t.final ? t.status.toLowerCase() : `${T.tplus(now, t.t0_us)} · ${alt.toFixed(0)} km`;
        label.textContent = `${t.name} (${t.id}) ${when}`;
      }
    }
    declutter();
  };

  // Labels of missiles flying together would print on top of each other: push each
  // one down until it clears those already placed.
  function declutter() {
    const placed = [];
    for (const label of layers.labels.querySelectorAll("text.track-label")) {
      let box = label.getBBox();
      for (let tries = 0; tries < 8 && placed.some((b) => overlaps(b, box)); tries++) {
        label.setAttribute("y", Number(label.getAttribute("y")) + box.height + 1);
        box = label.getBBox();
      }
      placed.push(box);
    }
  }
  const overlaps = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

  // -- zoom and pan ------------------------------------------------------------------
  let drag = null;
  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const factor = Math.pow(1.0015, -ev.deltaY);
    const [tx, ty] = projection.translate();
    const r = svg.getBoundingClientRect();
    const mx = ev.clientX - r.left, my = ev.clientY - r.top;
    projection.scale(projection.scale() * factor).translate([mx - (mx - tx) * factor, my - (my - ty) * factor]);
    autoFit = false;
    requestAnimationFrame(map.renderBase);
  }, { passive: false });
  svg.addEventListener("mousedown", (ev) => { drag = [ev.clientX, ev.clientY, ...projection.translate()]; });
  window.addEventListener("mouseup", () => { drag = null; });
  window.addEventListener("mousemove", (ev) => {
    if (!drag) return;
    projection.translate([drag[2] + ev.clientX - drag[0], drag[3] + ev.clientY - drag[1]]);
    autoFit = false;
    requestAnimationFrame(map.renderBase);
  });
  svg.addEventListener("dblclick", () => { autoFit = true; map.fit(true); });
  window.addEventListener("resize", () => map.fit(true));

  for (const b of document.querySelectorAll("#coverage-controls button")) {
    b.addEventListener("click", () => {
      T.state.coverageAlt = b.dataset.alt;
      document.querySelectorAll("#coverage-controls button").forEach((x) => x.classList.toggle("on", x === b));
      map.renderCoverage();
    });
  }
})();
