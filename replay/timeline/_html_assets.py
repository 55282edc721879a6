"""The page's style sheet and script (``_html``): plain CSS and JavaScript, no library, no network.

The script reads ``#timeline-data`` (see ``_html.timeline_data``), draws the part of the run in
view into the inline ``<svg id="timeline">`` and redraws on zoom and pan. Drawn elements carry
their kind as a class (``mark mark-heartbeat``, ``density density-ack``, ``band``, ``fault``,
``finding``) and lanes as ``<g class="lane" data-lane="core">``, which the browser tests read.
When a draw is done, ``document.body.dataset.rendered`` is set; when every lane's steps are
unpacked, ``dataset.stepsLoaded``.
"""

CSS = r"""
body { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222; background: #fff; }
header { padding: 10px 16px 4px; border-bottom: 1px solid #ddd; position: sticky; top: 0; background: #fff; z-index: 2; }
h1 { font-size: 17px; margin: 0 0 4px; }
#notes { color: #555; }
#toolbar { margin-top: 6px; display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
#toolbar button { font: inherit; padding: 1px 10px; cursor: pointer; }
#range { font-variant-numeric: tabular-nums; margin-left: 8px; }
.hint { color: #888; margin-left: auto; }
main { padding: 8px 16px 24px; }
#chart { width: 100%; user-select: none; cursor: grab; }
#chart.dragging { cursor: grabbing; }
svg#timeline { display: block; width: 100%; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
svg .lane-title { font-weight: 600; font-size: 12px; }
svg .row-label { fill: #777; }
svg .axis text { fill: #555; font-variant-numeric: tabular-nums; }
svg .grid { stroke: #eee; }
svg .tag { font-size: 10px; fill: #a50f15; }
svg .finding-label { font-size: 11px; font-weight: 600; }
svg .mark, svg .density, svg .finding, svg .fault, svg .band, svg .dead { cursor: default; }
#tooltip { position: fixed; z-index: 5; max-width: 640px; max-height: 60vh; overflow: hidden; background: #fffff4;
  border: 1px solid #999; box-shadow: 0 2px 8px rgba(0,0,0,.2); padding: 6px 8px; pointer-events: none; font-size: 12px; }
#tooltip pre { margin: 4px 0 0; white-space: pre-wrap; word-break: break-all; font-size: 11px; max-height: 45vh; overflow: hidden; }
#tooltip .when { color: #555; }
#legend { margin-top: 12px; display: flex; flex-wrap: wrap; gap: 4px 16px; color: #444; }
#legend .item { display: inline-flex; align-items: center; gap: 4px; }
#legend .sw { display: inline-block; width: 12px; height: 10px; border: 1px solid #0002; }
#legend p { flex-basis: 100%; margin: 4px 0; color: #666; }
#details { margin-top: 16px; display: flex; flex-wrap: wrap; gap: 24px; }
#details table { border-collapse: collapse; }
#details td { padding: 1px 8px 1px 0; vertical-align: top; }
#details h2 { font-size: 14px; margin: 0 0 4px; }
#details .failure { color: #a50f15; font-weight: 600; }
#details .lane-box { flex: 1 1 420px; }
"""

SCRIPT = r"""
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("timeline-data").textContent);
  const S = D.strings;
  const NS = "http://www.w3.org/2000/svg";
  const PHASE_COLOURS = {IDLE: "#e0e0e0", RESOLVING: "#fdd49e", CONNECTING: "#fdae6b", AWAITING_HELLO: "#fd8d3c",
    IDENTIFYING: "#9ecae1", RESUMING: "#c6dbef", READY: "#a1d99b", BACKING_OFF: "#fcbba1", FAILED: "#cb181d",
    STOPPED: "#969696"};
  const KIND = {
    heartbeat: {c: "#2171b5", name: "heartbeat sent (op 1)", shape: "up"},
    ack: {c: "#238b45", name: "heartbeat ACK received (op 11)", shape: "down"},
    hello: {c: "#6a51a3", name: "Hello (op 10)", shape: "diamond"},
    open: {c: "#08519c", name: "connection opened (a (re)connect attempt)", shape: "ring"},
    identify: {c: "#3f007d", name: "Identify sent (op 2)", shape: "square"},
    resume: {c: "#807dba", name: "Resume sent (op 6)", shape: "square"},
    ready: {c: "#006d2c", name: "READY / RESUMED: session established", shape: "dot"},
    connect_failed: {c: "#cb181d", name: "connect failed", shape: "cross"},
    request_failed: {c: "#e6550d", name: "REST request failed (token, gateway URL)", shape: "cross"},
    reconnect: {c: "#8c6d31", name: "op 7 Reconnect received", shape: "tri"},
    invalid_session: {c: "#d94801", name: "op 9 Invalid Session received", shape: "tri"},
    server_close: {c: "#a50f15", name: "connection closed by the far side (code)", shape: "tridown"},
    client_close: {c: "#54278f", name: "connection closed by the client (code)", shape: "tridown"},
    zombie: {c: "#e31a1c", name: "dead link noticed (ACKs missing)", shape: "star"},
    server_drop: {c: "#636363", name: "server dropped the connection (its reason), unseen by the client", shape: "smallcross"},
    fatal: {c: "#67000d", name: "Fatal told to the host", shape: "bang"},
    delivered: {c: "#74c476", name: "dispatch delivered", shape: "tick"},
    deduplicated: {c: "#fd8d3c", name: "duplicate dispatch dropped", shape: "tick"},
    delivered_twice: {c: "#e31a1c", name: "dispatch delivered twice", shape: "tall"},
    lost: {c: "#cb181d", name: "message lost (pushed, never delivered)", shape: "cross"},
  };
  const ROW_NAMES = {link: "heartbeats / ACKs", connection: "connects", closes: "closes", dispatches: "dispatches"};
  const GUTTER = 150, RIGHT = 12, AXIS_H = 26, WORLD_H = 24, TITLE_H = 20, BAND_H = 14, ROW_H = 18, FIND_H = 20, GAP = 14;
  const BIN_PX = 4;

  function undelta(a) { const r = new Float64Array(a.length); let s = 0; for (let i = 0; i < a.length; i++) { s += a[i]; r[i] = s / 1000; } return r; }
  const end = D.end / 1000;
  const lanes = D.lanes.map(function (L) {
    const b = L.bands, n = b.length / 3, starts = new Float64Array(n), phase = new Int32Array(n), detail = new Int32Array(n);
    let s = 0;
    for (let i = 0; i < n; i++) { s += b[3 * i]; starts[i] = s / 1000; phase[i] = b[3 * i + 1]; detail[i] = b[3 * i + 2]; }
    const marks = {};
    L.marks.forEach(function (m) {
      const steps = new Int32Array(m.s.length);
      let s = 0;
      for (let i = 0; i < m.s.length; i++) { s += m.s[i]; steps[i] = s; }
      marks[m.k] = {t: undelta(m.t), s: steps, l: m.l, g: m.g};
    });
    return {key: L.key, title: L.title, derived: L.derived, summary: L.summary, starts: starts, phase: phase,
      detail: detail, bandsEnd: L.bandsEnd / 1000, marks: marks, windows: L.windows, findings: L.findings, steps: null};
  });
  const svg = document.getElementById("timeline"), chart = document.getElementById("chart"), tip = document.getElementById("tooltip");
  let view0 = 0, view1 = Math.max(end, 1), hits = [];

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function rel(t) { const w = Math.floor(t); return "+" + Math.floor(w / 3600) + ":" + pad(Math.floor(w % 3600 / 60)) + ":" + pad(w % 60); }
  function wall(t, withDate) {
    if (D.origin === null) return rel(t);
    const d = new Date((D.origin + t) * 1000), iso = d.toISOString();
    return withDate ? iso.slice(0, 10) + " " + iso.slice(11, 19) : iso.slice(11, 19);
  }
  function when(t) {
    const ms = (t % 1).toFixed(3).slice(1);
    return D.origin === null ? rel(t) + ms : wall(t, true) + ms + " UTC (" + rel(t) + ")";
  }
  function span(sec) {
    if (sec < 120) return sec.toFixed(sec < 10 ? 1 : 0) + " s";
    if (sec < 7200) return (sec / 60).toFixed(1) + " min";
    return (sec / 3600).toFixed(1) + " h";
  }
  function esc(s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;"); }
  function lower(a, x) { let lo = 0, hi = a.length; while (lo < hi) { const m = (lo + hi) >> 1; if (a[m] < x) lo = m + 1; else hi = m; } return lo; }

  function shape(kind, x, y, h, hit) {
    const k = KIND[kind], c = k.c, a = ' class="mark mark-' + kind + '" data-h="' + hit + '"';
    const r = 4;
    switch (k.shape) {
      case "up": return '<line' + a + ' x1="' + x + '" x2="' + x + '" y1="' + (y - h / 2) + '" y2="' + y + '" stroke="' + c + '" stroke-width="2"/>';
      case "down": return '<line' + a + ' x1="' + x + '" x2="' + x + '" y1="' + y + '" y2="' + (y + h / 2) + '" stroke="' + c + '" stroke-width="2"/>';
      case "tick": return '<line' + a + ' x1="' + x + '" x2="' + x + '" y1="' + (y - 5) + '" y2="' + (y + 5) + '" stroke="' + c + '" stroke-width="2"/>';
      case "tall": return '<line' + a + ' x1="' + x + '" x2="' + x + '" y1="' + (y - h / 2) + '" y2="' + (y + h / 2) + '" stroke="' + c + '" stroke-width="3"/>';
      case "ring": return '<circle' + a + ' cx="' + x + '" cy="' + y + '" r="' + r + '" fill="#fff" stroke="' + c + '" stroke-width="1.5"/>';
      case "dot": return '<circle' + a + ' cx="' + x + '" cy="' + (y + 3) + '" r="2.5" fill="' + c + '"/>';
      case "square": return '<rect' + a + ' x="' + (x - r) + '" y="' + (y - r) + '" width="' + 2 * r + '" height="' + 2 * r + '" fill="' + c + '"/>';
      case "diamond": return '<path' + a + ' d="M' + x + ' ' + (y - r) + 'l' + r + ' ' + r + 'l' + (-r) + ' ' + r + 'l' + (-r) + ' ' + (-r) + 'z" fill="' + c + '"/>';
      case "tri": return '<path' + a + ' d="M' + x + ' ' + (y - r) + 'l' + r + ' ' + 2 * r + 'h' + (-2 * r) + 'z" fill="' + c + '"/>';
      case "tridown": return '<path' + a + ' d="M' + (x - r - 1) + ' ' + (y - r - 3) + 'h' + (2 * r + 2) + 'l' + (-r - 1) + ' ' + (2 * r) + 'z" fill="' + c + '"/>';
      case "cross": return '<path' + a + ' d="M' + (x - r) + ' ' + (y - r) + 'l' + 2 * r + ' ' + 2 * r + 'm0 ' + (-2 * r) + 'l' + (-2 * r) + ' ' + 2 * r + '" stroke="' + c + '" stroke-width="2" fill="none"/>';
      case "smallcross": return '<path' + a + ' d="M' + (x - 3) + ' ' + (y + 2) + 'l6 6m0 -6l-6 6" stroke="' + c + '" stroke-width="1.5" fill="none"/>';
      case "star": return '<path' + a + ' d="M' + x + ' ' + (y - 6) + 'L' + (x + 2) + ' ' + (y - 1) + 'L' + (x + 6) + ' ' + y + 'L' + (x + 2) + ' ' + (y + 1) + 'L' + x + ' ' + (y + 6) + 'L' + (x - 2) + ' ' + (y + 1) + 'L' + (x - 6) + ' ' + y + 'L' + (x - 2) + ' ' + (y - 1) + 'z" fill="' + c + '"/>';
      default: return '<rect' + a + ' x="' + (x - 2) + '" y="' + (y - 7) + '" width="4" height="14" fill="' + c + '"/>';
    }
  }

  function draw() {
    const t0 = performance.now();
    const W = Math.max(480, chart.clientWidth), plot = W - GUTTER - RIGHT, sec = (view1 - view0) / plot;
    const X = function (t) { return GUTTER + (t - view0) / sec; };
    const out = [];
    hits = [];
    let y = AXIS_H;
    // the world's faults, shaded across every lane
    const laneH = TITLE_H + BAND_H + 4 + Object.keys(D.rows).length * ROW_H + FIND_H + GAP;
    const H = AXIS_H + WORLD_H + lanes.length * laneH + 4;
    out.push('<g class="faults">');
    out.push('<text class="row-label" x="6" y="' + (y + 15) + '">faults of the world</text>');
    D.windows.forEach(function (w) {
      const s = w[0] / 1000, e = w[1] / 1000;
      if (e < view0 || s > view1) return;
      const x0 = Math.max(GUTTER, X(s)), x1 = Math.min(W - RIGHT, X(e));
      hits.push({title: w[2], text: w[3], t: s, e: e});
      const h = hits.length - 1;
      if (x1 - x0 >= 1) {
        out.push('<rect class="fault fault-window" data-h="' + h + '" x="' + x0 + '" y="' + y + '" width="' + (x1 - x0) + '" height="' + (H - y) + '" fill="#756bb1" fill-opacity="0.10"/>');
      } else {
        out.push('<line class="fault fault-instant" data-h="' + h + '" x1="' + x0 + '" x2="' + x0 + '" y1="' + y + '" y2="' + H + '" stroke="#756bb1" stroke-dasharray="3 3" stroke-width="1.5"/>');
      }
      out.push('<rect class="fault fault-label" data-h="' + h + '" x="' + x0 + '" y="' + (y + 4) + '" width="' + Math.max(6, x1 - x0) + '" height="14" fill="#756bb1" fill-opacity="0.55"/>');
      if (x1 - x0 > 60 || w === D.windows[0] || true) {
        const room = Math.max(x1 - x0, 90);
        if (room > 40) out.push('<text x="' + (x0 + 3) + '" y="' + (y + 15) + '" fill="#fff">' + esc(w[2]) + '</text>');
      }
    });
    out.push('</g>');
    y += WORLD_H;
    lanes.forEach(function (L) {
      out.push('<g class="lane" data-lane="' + esc(L.key) + '">');
      out.push('<text class="lane-title" x="6" y="' + (y + 14) + '">' + esc(L.title) + '</text>');
      y += TITLE_H;
      // phase bands, merged below one pixel
      out.push('<text class="row-label" x="6" y="' + (y + 11) + '">phase' + (L.derived ? " (derived)" : "") + '</text>');
      const n = L.starts.length;
      let i = Math.max(0, lower(L.starts, view0) - 1);
      let acc = null;
      function flush() {
        if (!acc) return;
        let best = -1, bestT = -1;
        for (const p in acc.dur) if (acc.dur[p] > bestT) { bestT = acc.dur[p]; best = +p; }
        const ph = D.phases[best] || S[best - D.phases.length];
        hits.push({title: acc.count > 1 ? acc.count + " phase changes (mostly " + ph + ")" : ph, text: acc.count > 1 ? "" : S[acc.detail], t: acc.s, e: acc.e});
        out.push('<rect class="band band-' + ph + '" data-h="' + (hits.length - 1) + '" x="' + acc.x0 + '" y="' + y + '" width="' + Math.max(0.5, acc.x1 - acc.x0) + '" height="' + BAND_H + '" fill="' + (PHASE_COLOURS[ph] || "#ccc") + '"/>');
        acc = null;
      }
      for (; i < n; i++) {
        const s = L.starts[i], e = i + 1 < n ? L.starts[i + 1] : L.bandsEnd;
        if (s > view1) break;
        if (e < view0) continue;
        const x0 = Math.max(GUTTER, X(s)), x1 = Math.min(W - RIGHT, X(e));
        if (acc && (x1 - acc.x0 > 1 || x1 - x0 >= 1)) flush();
        if (!acc) acc = {x0: x0, x1: x1, s: s, e: e, dur: {}, count: 0, detail: L.detail[i]};
        acc.x1 = x1; acc.e = e; acc.count++;
        acc.dur[L.phase[i]] = (acc.dur[L.phase[i]] || 0) + (e - s);
      }
      flush();
      L.windows.forEach(function (w) {
        const s = w[0] / 1000, e = w[1] / 1000;
        if (e < view0 || s > view1) return;
        const x0 = Math.max(GUTTER, X(s)), x1 = Math.min(W - RIGHT, X(e));
        hits.push({title: w[2], text: w[3], t: s, e: e});
        out.push('<rect class="dead" data-h="' + (hits.length - 1) + '" x="' + x0 + '" y="' + y + '" width="' + Math.max(2, x1 - x0) + '" height="' + BAND_H + '" fill="url(#hatch)"/>');
      });
      y += BAND_H + 4;
      Object.keys(D.rows).forEach(function (row) {
        const mid = y + ROW_H / 2;
        out.push('<text class="row-label" x="6" y="' + (mid + 4) + '">' + ROW_NAMES[row] + '</text>');
        out.push('<line class="grid" x1="' + GUTTER + '" x2="' + (W - RIGHT) + '" y1="' + mid + '" y2="' + mid + '"/>');
        D.rows[row].forEach(function (kind) {
          const M = L.marks[kind];
          if (!M) return;
          const a = lower(M.t, view0), b = lower(M.t, view1 + 1e-9), count = b - a;
          if (count <= 0) return;
          if (count > plot / BIN_PX) {
            // too many to draw one by one: a density strip, one bar per BIN_PX pixels
            const bins = new Map();
            for (let j = a; j < b; j++) { const bx = Math.floor((X(M.t[j]) - GUTTER) / BIN_PX); bins.set(bx, (bins.get(bx) || 0) + 1); }
            let most = 1;
            bins.forEach(function (v) { if (v > most) most = v; });
            bins.forEach(function (v, bx) {
              const s = view0 + bx * BIN_PX * sec;
              hits.push({title: v + " × " + KIND[kind].name, text: "between " + when(s) + " and " + when(s + BIN_PX * sec), t: s});
              const half = kind === "heartbeat" ? -1 : kind === "ack" ? 1 : 0;
              const h = (half ? 2 : 3) + (half ? ROW_H / 2 - 3 : ROW_H - 4) * Math.log(1 + v) / Math.log(1 + most);
              const top = half < 0 ? mid - h : half > 0 ? mid : mid - h / 2;
              out.push('<rect class="density density-' + kind + '" data-h="' + (hits.length - 1) + '" x="' + (GUTTER + bx * BIN_PX) + '" y="' + top + '" width="' + (BIN_PX - 0.5) + '" height="' + h + '" fill="' + KIND[kind].c + '" fill-opacity="0.7"/>');
            });
            return;
          }
          for (let j = a; j < b; j++) {
            const x = X(M.t[j]);
            hits.push({title: S[M.l[j]], t: M.t[j], lane: L, step: M.s[j] - 1, kind: kind});
            out.push(shape(kind, x, mid, ROW_H - 2, hits.length - 1));
            if (M.g.length && count < plot / 40 && S[M.g[j]]) out.push('<text class="tag" x="' + (x + 6) + '" y="' + (mid - 2) + '">' + esc(S[M.g[j]]) + '</text>');
          }
        });
        y += ROW_H;
      });
      // findings: a flag at the first time each was seen, its evidence in the hover
      out.push('<text class="row-label" x="6" y="' + (y + 14) + '">findings</text>');
      L.findings.forEach(function (f) {
        const t = f[0] === null ? 0 : f[0] / 1000;
        if (t < view0 || t > view1) return;
        const x = X(t), c = f[4] ? "#a50f15" : "#08519c";
        hits.push({title: f[1] + (f[3] > 1 ? " ×" + f[3] : ""), text: f[2], t: t});
        out.push('<g class="finding' + (f[4] ? " failure" : "") + '" data-name="' + esc(f[1]) + '" data-h="' + (hits.length - 1) + '">' +
          '<path d="M' + x + ' ' + (y + 2) + 'v16M' + x + ' ' + (y + 2) + 'h9l-3 4l3 4h-9" stroke="' + c + '" fill="' + c + '" stroke-width="1.5"/>' +
          '<text class="finding-label" x="' + (x + 12) + '" y="' + (y + 14) + '" fill="' + c + '">' + esc(f[1]) + '</text></g>');
      });
      y += FIND_H + GAP;
      out.push('</g>');
    });
    // the time axis, with a grid line per tick
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
    let step = steps[steps.length - 1];
    for (let k = 0; k < steps.length; k++) if ((view1 - view0) / steps[k] <= Math.max(4, plot / 110)) { step = steps[k]; break; }
    const axis = ['<g class="axis">'];
    for (let t = Math.ceil(view0 / step) * step; t <= view1; t += step) {
      const x = X(t);
      axis.push('<line class="grid" x1="' + x + '" x2="' + x + '" y1="' + (AXIS_H - 4) + '" y2="' + H + '"/>');
      axis.push('<text x="' + x + '" y="' + (AXIS_H - 8) + '" text-anchor="' + (x > W - RIGHT - 40 ? "end" : "middle") + '">' + (D.origin === null ? rel(t) : wall(t, false)) + '</text>');
    }
    axis.push('</g>');
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.setAttribute("height", H);
    svg.innerHTML = '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
      '<rect width="6" height="6" fill="#fee0d2"/><line x1="0" y1="0" x2="0" y2="6" stroke="#a50f15" stroke-width="2"/></pattern></defs>' +
      axis.join("") + out.join("");
    document.getElementById("range").textContent = "showing " + when(view0).replace(/\.\d+/, "") + " – " + when(view1).replace(/\.\d+/, "") + " (" + span(view1 - view0) + " of " + span(end) + ")";
    window.__timelineDrawMs = performance.now() - t0;
    document.body.dataset.rendered = "1";
  }

  function setView(a, b) {
    const full = Math.max(end, 1), w = Math.min(full, Math.max(1, b - a));
    a = Math.max(0, Math.min(a, full - w));
    view0 = a; view1 = a + w;
    draw();
    // the view in the address (#view=START,END in seconds), so a view can be bookmarked or shared
    const hash = "#view=" + view0.toFixed(1) + "," + view1.toFixed(1);
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }
  function zoom(factor, at) {
    const c = at === undefined ? (view0 + view1) / 2 : at;
    setView(c - (c - view0) * factor, c + (view1 - c) * factor);
  }
  function timeAt(clientX) {
    const r = svg.getBoundingClientRect(), W = r.width, plot = W - GUTTER - RIGHT;
    return view0 + (clientX - r.left - GUTTER) / plot * (view1 - view0);
  }
  chart.addEventListener("wheel", function (ev) { ev.preventDefault(); zoom(ev.deltaY > 0 ? 1.25 : 0.8, timeAt(ev.clientX)); }, {passive: false});
  let drag = null;
  chart.addEventListener("mousedown", function (ev) { drag = {x: ev.clientX, a: view0, b: view1}; chart.classList.add("dragging"); });
  window.addEventListener("mouseup", function () { drag = null; chart.classList.remove("dragging"); });
  window.addEventListener("mousemove", function (ev) {
    if (!drag) return;
    const r = svg.getBoundingClientRect(), dt = (ev.clientX - drag.x) / (r.width - GUTTER - RIGHT) * (drag.b - drag.a);
    setView(drag.a - dt, drag.b - dt);
  });
  chart.addEventListener("dblclick", function () { setView(0, end); });
  document.getElementById("zoom-in").onclick = function () { zoom(0.5); };
  document.getElementById("zoom-out").onclick = function () { zoom(2); };
  document.getElementById("zoom-fit").onclick = function () { setView(0, end); };
  window.addEventListener("keydown", function (ev) {
    if (ev.key === "+" || ev.key === "=") zoom(0.5);
    else if (ev.key === "-") zoom(2);
    else if (ev.key === "0") setView(0, end);
    else if (ev.key === "ArrowLeft") setView(view0 - (view1 - view0) / 4, view1 - (view1 - view0) / 4);
    else if (ev.key === "ArrowRight") setView(view0 + (view1 - view0) / 4, view1 + (view1 - view0) / 4);
  });
  window.addEventListener("resize", draw);

  function stepText(h) {
    if (h.step === undefined || h.step < 0) return "";
    if (!h.lane.steps) return "<pre>(unpacking the steps…)</pre>";
    let rec = h.lane.steps[h.step], text;
    try {
      const r = JSON.parse(rec);
      text = "input    " + JSON.stringify(r.input) + "\n" + (r.commands.length ? r.commands.map(function (c, i) {
        return (i ? "         " : "commands ") + JSON.stringify(c); }).join("\n") : "commands (none)");
    } catch (e) { text = rec; }
    if (text.length > 3000) text = text.slice(0, 3000) + "\n…";
    return "<div>step " + (h.step + 1) + " of the journal</div><pre>" + esc(text) + "</pre>";
  }
  svg.addEventListener("mousemove", function (ev) {
    const el = ev.target.closest ? ev.target.closest("[data-h]") : null;
    if (!el || drag) { tip.hidden = true; return; }
    const h = hits[+el.getAttribute("data-h")];
    if (!h) { tip.hidden = true; return; }
    tip.innerHTML = "<b>" + esc(h.title) + "</b><div class='when'>" + when(h.t) + (h.e !== undefined && h.e !== h.t ? " → " + when(h.e) : "") + "</div>" +
      (h.text ? "<div>" + esc(h.text) + "</div>" : "") + stepText(h);
    tip.hidden = false;
    const x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8), y = Math.min(ev.clientY + 14, window.innerHeight - tip.offsetHeight - 8);
    tip.style.left = Math.max(4, x) + "px"; tip.style.top = Math.max(4, y) + "px";
  });
  svg.addEventListener("mouseleave", function () { tip.hidden = true; });

  // legend, notes and the per-lane figures and findings, as plain HTML
  const notes = D.notes.slice();
  notes.push(D.origin === null ? "times: from the start of the run (the source has no wall clock)" : "times: UTC; " + D.originNote);
  document.getElementById("notes").textContent = notes.join(" · ");
  const lg = ['<p>Phases:</p>'];
  D.phases.forEach(function (p) { lg.push('<span class="item"><span class="sw" style="background:' + PHASE_COLOURS[p] + '"></span>' + p + '</span>'); });
  lg.push('<p>Marks (where more than one per ' + BIN_PX + ' px would be drawn, a mark kind is drawn as a density strip: one bar per ' + BIN_PX + ' px, its height the count on a log scale; zoom in to see each):</p>');
  Object.keys(KIND).forEach(function (k) { lg.push('<span class="item"><span class="sw" style="background:' + KIND[k].c + '"></span>' + KIND[k].name + '</span>'); });
  lg.push('<p><span class="item"><span class="sw" style="background:#756bb1;opacity:.5"></span>a fault of the world (shaded window; dashed: acts at once)</span> <span class="item"><span class="sw" style="background:repeating-linear-gradient(45deg,#a50f15 0 2px,#fee0d2 2px 6px)"></span>a half-open link: dead, until the client noticed</span></p>');
  document.getElementById("legend").innerHTML = lg.join("");
  const det = [];
  lanes.forEach(function (L) {
    det.push('<div class="lane-box"><h2>' + esc(L.title) + '</h2><table>');
    L.summary.forEach(function (r) { det.push('<tr><td>' + esc(r[0]) + '</td><td>' + esc(r[1]) + '</td></tr>'); });
    det.push('</table><h2>findings</h2><table>');
    if (!L.findings.length) det.push('<tr><td>none</td></tr>');
    L.findings.forEach(function (f) {
      det.push('<tr><td class="' + (f[4] ? "failure" : "") + '">' + esc(f[1]) + (f[3] > 1 ? " ×" + f[3] : "") + '</td><td>' +
        (f[0] === null ? "" : when(f[0] / 1000).replace(/\.\d+/, "") + ": ") + esc(f[2]) + '</td></tr>');
    });
    det.push('</table></div>');
  });
  document.getElementById("details").innerHTML = det.join("");

  const asked = /^#view=([0-9.]+),([0-9.]+)$/.exec(location.hash);
  if (asked) setView(+asked[1], +asked[2]); else draw();

  // each lane's steps: gzip in base64, unpacked by the browser after the first draw
  async function unpack(i) {
    const text = document.getElementById("steps-" + i).textContent.trim();
    const bin = atob(text), bytes = new Uint8Array(bin.length);
    for (let j = 0; j < bin.length; j++) bytes[j] = bin.charCodeAt(j);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  }
  setTimeout(function () {
    Promise.all(lanes.map(function (L, i) { return unpack(i).then(function (steps) { L.steps = steps; }); }))
      .then(function () { document.body.dataset.stepsLoaded = "1"; })
      .catch(function (e) { console.error("qqgate timeline: cannot unpack the steps: " + e); });
  }, 0);
})();
"""
