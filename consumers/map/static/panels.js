// trilink map: the side panels (Japan's lead, one card per missile), the legend and
// the timeline of who detected each missile when.
"use strict";

(function () {
  const T = window.trilink;
  const panels = (T.panels = {});

  const leadPanel = document.getElementById("lead-panel");
  const headline = document.getElementById("lead-headline");
  const leadRows = document.getElementById("lead-rows");
  const trackList = document.getElementById("track-list");
  const timeline = document.getElementById("timeline");

  function leadText(t) {
    const lead = t.leads_s.JPN;
    const own = t.detections.JPN;
    const first = `first shared alert ${T.tplus(t.alerted_us, t.t0_us)}`;
    if (own == null) return `${first}; Japan's own sensors have not seen it: warned through sharing alone`;
    if (lead > 0) return `${first}, Japan's own sensors ${T.tplus(own, t.t0_us)}: lead ${lead.toFixed(0)} s`;
    return `Japan's own sensors were first (${T.tplus(own, t.t0_us)})`;
  }

  panels.renderLead = () => {
    const tracks = T.sortedTracks();
    T.clear(leadRows);
    let best = null;
    for (const t of tracks) {
      const lead = t.leads_s.JPN;
      if (lead != null && (best == null || lead > best.lead)) best = { lead, t };
      const row = T.html("div", {
        class: "lead-row", "data-track-id": t.id, "data-jpn-lead-s": lead == null ? "" : lead,
        "data-jpn-detected": t.detections.JPN == null ? "false" : "true",
      }, null, leadRows);
      T.html("b", {}, t.name, row).style.color = T.colorOf(t.id);
      row.appendChild(document.createTextNode(`: ${leadText(t)}`));
    }
    leadPanel.dataset.jpnLeadS = best ? String(best.lead) : "";
    if (best && best.lead > 0) {
      headline.textContent = `Japan's lead: ${best.lead.toFixed(0)} s — shared warning before its own radars saw the ${best.t.name}`;
    } else if (tracks.length) {
      headline.textContent = "Japan is warned through sharing; its own radars have not seen the missiles yet";
    } else {
      headline.textContent = "waiting for the first alert…";
    }
  };

  function line(parent, label, text, cls) {
    const p = T.html("div", cls ? { class: cls } : {}, null, parent);
    if (label) T.html("span", { class: "dim" }, `${label} `, p);
    p.appendChild(document.createTextNode(text));
    return p;
  }

  panels.renderCards = () => {
    const now = T.simNowUs();
    T.clear(trackList);
    const tracks = T.sortedTracks();
    if (!tracks.length) T.html("p", { class: "dim" }, "no missile in the picture", trackList);
    for (const t of tracks) {
      const card = T.html("div", { class: "card", "data-track-id": t.id }, null, trackList);
      card.style.borderLeftColor = T.colorOf(t.id);
      const head = T.html("div", { class: "title" }, `${t.name} `, card);
      T.html("span", { class: `status ${t.status}` }, t.status, head);
      T.html("div", { class: "id" }, `${t.id} v${t.version} · ${t.missile_class}${t.launch_id ? ` · launch ${t.launch_id}` : ""}`, card);
      line(card, "launched", `${T.utc(t.t0_us)} (${t.t0_source})`);
      const firstBy = T.NATION_NAME[t.first_detection.nation] || t.first_detection.nation;
      line(card, "first detection", `${firstBy} ${T.tplus(t.first_detection.time_us, t.t0_us)}; seen by ${t.contributors.join(", ") || "—"}`);
      if (!t.final) line(card, "now", `${T.tplus(now, t.t0_us)}, state ${T.tplus(t.state.time_us, t.t0_us)}: ${t.state.alt_km.toFixed(0)} km, ${(t.state.speed_mps / 1000).toFixed(2)} km/s`);
      if (t.impact) {
        const e = t.impact.ellipse;
        line(card, "impact", `${T.latlon(t.impact.lat, t.impact.lon)} at ${T.tplus(t.impact.time_us, t.t0_us)}, 95% ellipse ${e.semi_major_km.toFixed(1)} × ${e.semi_minor_km.toFixed(1)} km`);
      }
      if (t.threat) {
        line(card, "", t.threat.description);
        const names = t.threat.warning.map((w) => w.name);
        if (names.length) line(card, "warn", names.join(", "), "warn");
      }
    }
  };

  panels.renderLegend = () => {
    const legend = T.clear(document.getElementById("legend"));
    for (const n of T.NATIONS) {
      T.html("span", { class: "sw" }, null, legend).style.background = T.NATION_COLOR[n];
      legend.appendChild(document.createTextNode(`${T.NATION_NAME[n]} sensors`));
    }
    const ir = (T.state.static ? T.state.static.sensors : []).filter((s) => s.kind !== "RADAR");
    const p = T.html("div", {}, "▲ radar (fan: where a target at the chosen altitude is above its horizon) · ", legend);
    p.appendChild(document.createTextNode(`× impact with 95% ellipse · dashed: predicted · arcs rise with altitude`));
    if (ir.length) T.html("div", {}, `infrared (boost phase, whole region): ${ir.map((s) => s.name).join(", ")}`, legend);
  };

  // -- timeline: one row per missile on a shared T+ axis ---------------------------
  // The first five minutes (where a salvo's detections and leads are) take 60% of the
  // width when a long flight (an IRBM's 20 minutes) would squeeze them.
  const ROW = 38, LEFT = 220, RIGHT = 16, TOP = 18, FOCUS_S = 300;

  function axis(span, width) {
    const w = width - LEFT - RIGHT;
    const broken = span > FOCUS_S * 1.5;
    const x = (s) => {
      const v = Math.max(0, Math.min(s, span));
      if (!broken) return LEFT + (v / span) * w;
      return v <= FOCUS_S ? LEFT + (v / FOCUS_S) * 0.6 * w : LEFT + 0.6 * w + ((v - FOCUS_S) / (span - FOCUS_S)) * 0.4 * w;
    };
    const ticks = [];
    for (let s = 0; s <= (broken ? FOCUS_S : span); s += 60) ticks.push(s);
    if (broken) for (let s = FOCUS_S + 300; s <= span; s += 300) ticks.push(s);
    return { x, ticks };
  }

  panels.renderTimeline = () => {
    T.clear(timeline);
    const tracks = T.sortedTracks();
    const width = timeline.clientWidth || 900;
    timeline.setAttribute("height", TOP + Math.max(1, tracks.length) * ROW + 4);
    let span = 240;
    for (const t of tracks) {
      if (t.impact) span = Math.max(span, (t.impact.time_us - t.t0_us) / 1e6);
      for (const us of Object.values(t.detections)) span = Math.max(span, (us - t.t0_us) / 1e6);
    }
    span = Math.ceil(span / 60) * 60;
    const { x, ticks } = axis(span, width);
    for (const s of ticks) {
      T.svg("line", { class: "tl-axis", x1: x(s), x2: x(s), y1: TOP - 4, y2: TOP + tracks.length * ROW }, timeline);
      T.svg("text", { class: "tl-tick", x: x(s), y: TOP - 6, "text-anchor": "middle" }, timeline).textContent = `T+${s} s`;
    }
    tracks.forEach((t, i) => timelineRow(t, TOP + i * ROW, x));
    panels.renderNow();
  };

  function shortName(name) {
    return name.length > 34 ? `${name.slice(0, 33)}…` : name;
  }

  function timelineRow(t, y, x) {
    const sec = (us) => (us - t.t0_us) / 1e6;
    const g = T.svg("g", { class: "timeline-row", "data-track-id": t.id }, timeline);
    const label = T.svg("text", { class: "tl-label", x: 4, y: y + 14, fill: T.colorOf(t.id) }, g);
    label.textContent = shortName(t.name);
    T.svg("title", {}, label).textContent = `${t.name} (${t.id})`;
    const end = t.impact ? sec(t.impact.time_us) : sec(t.state.time_us);
    T.svg("rect", { class: "tl-bar", x: x(0), y: y + 6, width: Math.max(1, x(end) - x(0)), height: 10 }, g);
    const own = t.detections.JPN, lead = t.leads_s.JPN;
    if (own != null && lead > 0) {
      const a = x(sec(t.alerted_us)), b = x(sec(own));
      T.svg("rect", { class: "tl-lead", x: a, y: y + 4, width: Math.max(1, b - a), height: 14, "data-nation": "JPN", "data-lead-s": lead }, g);
    }
    const alertX = x(sec(t.alerted_us));
    T.svg("path", { d: `M${alertX},${y + 3}l5,8l-5,8l-5,-8z`, fill: "#111", "data-kind": "first-alert", "data-t-s": sec(t.alerted_us).toFixed(1) }, g);
    const parts = [];
    for (const n of T.NATIONS) {
      const us = t.detections[n];
      if (us == null) continue;
      T.svg("circle", { class: "detection", cx: x(sec(us)), cy: y + 11, r: 5, fill: T.NATION_COLOR[n], "data-nation": n, "data-t-s": sec(us).toFixed(1) }, g);
      parts.push([us, `${n} ${T.tplus(us, t.t0_us)}`]);
    }
    if (t.impact) {
      const ix = x(sec(t.impact.time_us));
      T.svg("path", { d: `M${ix - 4},${y + 7}l8,8m0,-8l-8,8`, stroke: "#111", "stroke-width": 1.5, "data-kind": "impact" }, g);
    }
    const facts = parts.sort((a, b) => a[0] - b[0]).map((p) => p[1]);
    facts.push(`alert ${T.tplus(t.alerted_us, t.t0_us)}`);
    if (t.detections.JPN == null) facts.push("JPN: sharing only");
    const text = T.svg("text", { class: "tl-mark-text", x: x(0), y: y + 29 }, g);
    text.textContent = `first detections ${facts.join(" · ")}`;
    if (own != null && lead > 0) {
      T.svg("tspan", { class: "tl-lead-text", dx: 8 }, text).textContent = `Japan's lead ${lead.toFixed(0)} s`;
    }
    T.svg("line", { class: "tl-now", y1: y + 2, y2: y + 20, "data-track-id": t.id }, g);
    g.dataset.t0 = String(t.t0_us);
    g._x = x; // the row's scale, for the moving "now" mark
  }

  // The "now" mark of every row still in flight, moved with the scenario clock.
  panels.renderNow = () => {
    const now = T.simNowUs();
    for (const g of timeline.querySelectorAll("g.timeline-row")) {
      const t = T.state.tracks.get(g.dataset.trackId);
      const mark = g.querySelector("line.tl-now");
      if (!t || !mark || !g._x) continue;
      const s = (now - t.t0_us) / 1e6;
      const xNow = g._x(s);
      mark.setAttribute("x1", xNow);
      mark.setAttribute("x2", xNow);
      mark.style.display = !t.final && s >= 0 ? "" : "none";
    }
  };
})();
