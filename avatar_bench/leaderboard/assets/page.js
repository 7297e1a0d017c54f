(function () {
  "use strict";

  // Everything submitted is written with textContent inside <bdi> (or dir=auto), never as markup.
  var DATA = JSON.parse(document.getElementById("leaderboard-data").textContent);
  var COLS = DATA.columns;
  var ENTRY = {};
  DATA.entries.forEach(function (e) { ENTRY[e.slug] = e; });
  var PAGE = 50;
  var COLLATOR = new Intl.Collator(undefined, { sensitivity: "base", numeric: true });
  var PALETTE = ["--c0", "--c1", "--c2", "--c3", "--c4", "--c5", "--c6"];
  var SVGNS = "http://www.w3.org/2000/svg";
  var FILTERS = ["source", "kind", "training", "protocol"];
  var RANGES = { pmin: ["info.parameters", 1], pmax: ["info.parameters", -1],
    smin: ["info.train_size", 1], smax: ["info.train_size", -1],
    dfrom: ["info.date", 1], dto: ["info.date", -1] };
  var DEFAULT = { board: "all", q: "", source: "", kind: "", training: "", protocol: "",
    sort: "rank", dir: "ascending", pmin: "", pmax: "", smin: "", smax: "", dfrom: "", dto: "" };
  var state = Object.assign({}, DEFAULT);
  var per = {};   // section id -> {page, open: {slug: true}, picks: [slug]}
  var lastHash = null;

  // ------------------------------------------------------------------ helpers
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function bdi(text) { return el("bdi", null, text); }
  function safeUrl(url) {
    return typeof url === "string" && /^https?:\/\/[^\s<>"'`]+$/.test(url) ? url : null;
  }
  function link(url, child) {
    var a = el("a");
    a.href = url;
    a.rel = "noopener";
    a.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    return a;
  }
  function human(n) {
    if (n === null || n === undefined) { return null; }
    var units = [[1e9, "B"], [1e6, "M"], [1e3, "k"]];
    for (var i = 0; i < units.length; i++) {
      if (n >= units[i][0]) { return (n / units[i][0]).toPrecision(3).replace(/\.?0+$/, "") + units[i][1]; }
    }
    return String(n);
  }
  function fmt(col, v) {
    if (v === null || v === undefined) { return null; }
    if (col.key === "info.date") { return String(v); }
    if (col.key.indexOf("info.") === 0) { return human(v); }
    if (col.best === "absmin") { return (v > 0 ? "+" : v < 0 ? "\u2212" : "") + Math.abs(v).toFixed(2); }
    return v.toFixed(2);
  }
  function fold(s) { return (s || "").normalize("NFKC").toLowerCase(); }
  function parseCount(text) {
    var m = /^\s*([0-9]*\.?[0-9]+)\s*([kKmMbB]?)\s*$/.exec(text);
    if (!m) { return null; }
    return parseFloat(m[1]) * ({ "": 1, k: 1e3, m: 1e6, b: 1e9 })[m[2].toLowerCase()];
  }
  function bound(key) {
    // A range bound, or null when empty or not understood (the input says so).
    var text = state[key];
    if (!text) { return null; }
    if (key.charAt(0) === "d") { return /^\d{4}(-\d{2}(-\d{2})?)?$/.test(text) ? text : null; }
    return parseCount(text);
  }
  function inRange(e) {
    var keys = Object.keys(RANGES);
    for (var i = 0; i < keys.length; i++) {
      var b = bound(keys[i]);
      if (b === null) { continue; }
      var v = e.values[RANGES[keys[i]][0]], lower = RANGES[keys[i]][1] > 0;
      if (v === null || v === undefined) { return false; }
      if (typeof b === "string") {   // dates: compare at the bound's precision
        var cut = String(v).slice(0, b.length);
        if (lower ? cut < b : cut > b) { return false; }
      } else if (lower ? v < b : v > b) { return false; }
    }
    return true;
  }

  // ------------------------------------------------------------------ selection
  function matches(e) {
    var m = e.submission;
    if (state.source && m.source !== state.source) { return false; }
    if (state.kind && e.kind !== state.kind) { return false; }
    if (state.training && ((m.training_data || {}).name || "") !== state.training) { return false; }
    if (state.protocol && m.protocol !== state.protocol) { return false; }
    if (!inRange(e)) { return false; }
    if (state.q) {
      var hay = fold([m.name, m.authors, m.organisation].join("\n"));
      var words = fold(state.q).split(/\s+/).filter(Boolean);
      for (var i = 0; i < words.length; i++) { if (hay.indexOf(words[i]) < 0) { return false; } }
    }
    return true;
  }
  function colOf(key) {
    for (var i = 0; i < COLS.length; i++) { if (COLS[i].key === key) { return COLS[i]; } }
    return null;
  }
  function sortKey(row, key) {
    var e = ENTRY[row.slug];
    if (key === "rank") { return row.order; }
    if (key === "model") { return e.submission.name; }
    var v = e.values[key];
    if (v === null || v === undefined) { return null; }
    return colOf(key).best === "absmin" ? Math.abs(v) : v;
  }
  function visibleRows(sec) {
    var rows = sec.rows.map(function (r, i) { return Object.assign({ order: i }, r); })
      .filter(function (r) { return matches(ENTRY[r.slug]); });
    var key = state.sort, sign = state.dir === "descending" ? -1 : 1;
    if (key === "rank") {
      // Unranked rows always stay last, whichever way the ranking is read.
      rows.sort(function (a, b) {
        if ((a.rank === null) !== (b.rank === null)) { return a.rank === null ? 1 : -1; }
        return sign * (a.order - b.order);
      });
      return rows;
    }
    var keyed = rows.map(function (r) { return [sortKey(r, key), r]; });
    keyed.sort(function (a, b) {
      var va = a[0], vb = b[0];
      if (va === null || vb === null) {
        return va === vb ? a[1].order - b[1].order : (va === null ? 1 : -1);
      }
      var c = typeof va === "string" ? COLLATOR.compare(va, vb) : va - vb;
      return c === 0 ? a[1].order - b[1].order : sign * c;
    });
    return keyed.map(function (k) { return k[1]; });
  }

  // ------------------------------------------------------------------ rows
  function modelCell(sec, row, e) {
    var m = e.submission, th = el("th", "model sticky-model");
    th.scope = "row";
    th.setAttribute("data-col", "model");
    var open = !!per[sec.id].open[row.slug];
    var btn = el("button", "expand", open ? "\u25BE" : "\u25B8");
    btn.type = "button";
    btn.setAttribute("aria-expanded", String(open));
    btn.setAttribute("aria-label", "details of " + m.name);
    btn.addEventListener("click", function () {
      per[sec.id].open[row.slug] = !per[sec.id].open[row.slug];
      renderSection(sec);
    });
    th.appendChild(btn);
    var name = el("span", "model-name"), paper = safeUrl((m.links || {}).paper);
    name.appendChild(paper ? link(paper, bdi(m.name)) : bdi(m.name));
    th.appendChild(name);
    th.appendChild(document.createTextNode(" "));
    var badge = el("span", "badge " + m.source, m.source);
    badge.title = m.source === "reproduced" ? "computed here by avatar-bench from predictions"
      : "numbers copied from a paper";
    th.appendChild(badge);
    if (e.verification) {
      var ok = e.verification.status === "verified";
      var mark = el("span", "badge " + (ok ? "verified" : "mismatch"), ok ? "verified" : "mismatch");
      mark.title = ok ? "re-computed from its predictions: every recorded value matches"
        : "re-computed from its predictions: the numbers differ";
      th.appendChild(document.createTextNode(" "));
      th.appendChild(mark);
    }
    var meta = el("div", "meta"), bits = [];
    var who = [m.authors, m.organisation].filter(Boolean);
    if (who.length) {
      var span = el("span");
      who.forEach(function (w, i) {
        if (i) { span.appendChild(document.createTextNode(" / ")); }
        span.appendChild(bdi(w));
      });
      bits.push(span);
    }
    var td = m.training_data || {};
    if (td.name) {
      var t = el("span", null, "trained on ");
      t.appendChild(bdi(td.name));
      bits.push(t);
    } else if (e.kind === "reference") {
      bits.push(el("span", null, "reference, no learning"));
    }
    if (m.audio_window_s) { bits.push(el("span", null, m.audio_window_s + " s audio")); }
    var code = safeUrl((m.links || {}).code);
    if (code) { bits.push(link(code, "code")); }
    var rep = safeUrl(m.reported_in);
    if (rep && m.source === "reported") { bits.push(link(rep, "source of numbers")); }
    bits.forEach(function (b, i) {
      if (i) { meta.appendChild(document.createTextNode(" \u00b7 ")); }
      meta.appendChild(b);
    });
    th.appendChild(meta);
    var pick = el("label", "pick"), box = el("input");
    box.type = "checkbox";
    box.checked = per[sec.id].picks.indexOf(row.slug) >= 0;
    box.addEventListener("change", function () { togglePick(sec, row.slug, box); });
    pick.appendChild(box);
    pick.appendChild(document.createTextNode("compare"));
    th.appendChild(pick);
    return th;
  }
  function valueCell(sec, col, e) {
    var v = e.values[col.key], ci = e.ci[col.key], td = el("td");
    td.setAttribute("data-col", col.key);
    var first = col.label === "CIoU" || col.label === "TN" || col.best === "absmin" ||
      col.key === "info.parameters";
    var cls = first ? ["g0"] : [];
    var shown = fmt(col, v);
    if (shown === null) {
      cls.push("na");
      td.textContent = "\u2014";
      td.title = col.title + ": not available";
      td.setAttribute("data-value", "");
    } else {
      var best = sec.best[col.key];
      if (best !== undefined && Math.abs(Math.round(v * 100) - Math.round(best * 100)) < 0.5) {
        cls.push("best");
      }
      if (col.best === "absmin" && v < 0) { cls.push("drop-neg"); }
      td.setAttribute("data-value", String(v));
      td.appendChild(el("span", "v", shown));
      var tip = col.title + ": " + shown;
      if (ci) {
        td.appendChild(el("span", "ci", ci[0].toFixed(2) + "\u2013" + ci[1].toFixed(2)));
        tip += " (95% interval " + ci[0].toFixed(2) + " to " + ci[1].toFixed(2) + ")";
      }
      td.title = tip;
    }
    td.className = cls.join(" ");
    return td;
  }
  function rowEl(sec, row) {
    var e = ENTRY[row.slug], m = e.submission, tr = el("tr");
    tr.id = sec.id + "--" + row.slug;
    var cls = ["src-" + m.source];
    if (row.tied) { cls.push("tied", row.group % 2 ? "tg-even" : "tg-odd"); }
    tr.className = cls.join(" ");
    tr.setAttribute("data-slug", row.slug);
    var rank = el("td", "rank sticky-rank");
    rank.setAttribute("data-col", "rank");
    rank.setAttribute("data-value", row.rank === null ? "" : String(row.rank));
    var a = link("#" + tr.id, row.rank === null ? "\u2014" : String(row.rank));
    a.title = "link to this row";
    rank.appendChild(a);
    if (row.tied) {
      var tie = el("span", "tie", "(tie)");
      tie.title = "tied: 95% intervals overlap the group leader's";
      rank.appendChild(tie);
    }
    tr.appendChild(rank);
    tr.appendChild(modelCell(sec, row, e));
    COLS.forEach(function (c) { tr.appendChild(valueCell(sec, c, e)); });
    return tr;
  }
  function detailsEl(sec, row) {
    var e = ENTRY[row.slug], m = e.submission, r = e.results, ds = r.dataset || {};
    var pred = r.predictions || {}, th = r.thresholds || {}, proto = r.protocol || {};
    var tr = el("tr", "details"), td = el("td"), dl = el("dl", "details");
    td.colSpan = COLS.length + 2;
    tr.id = sec.id + "--" + row.slug + "--details";
    function add(label, value, cls) {
      if (value === null || value === undefined || value === "") { return; }
      dl.appendChild(el("dt", null, label));
      var dd = el("dd", cls);
      if (typeof value === "string") { dd.setAttribute("dir", "auto"); dd.textContent = value; }
      else { dd.appendChild(value); }
      dl.appendChild(dd);
    }
    add("Notes", m.notes, "notes");
    add("Model", e.kind === "reference" ? "reference (no learning)" : "trained");
    var td2 = m.training_data || {};
    add("Training data", [td2.name, td2.size ? td2.size + " clips" : null].filter(Boolean).join(", "));
    add("Parameters", m.parameters ? String(m.parameters) : null);
    add("Training seed", typeof m.training_seed === "number" ? String(m.training_seed) : null);
    add("Date", m.date);
    add("Dataset", [ds.name, ds.revision ? "revision " + ds.revision : "revision not recorded"]
      .join(", ") + (ds.n_frames ? ", " + ds.n_frames + " frames" : "") +
      (ds.n_videos ? " in " + ds.n_videos + " videos" : ""));
    add("Annotation sha256", ds.annotation_sha256 || "not recorded", "mono");
    add("Predictions sha256", pred.sha256 || "none (numbers copied from a paper)", "mono");
    add("Predictions file", pred.file);
    add("Thresholds", th.main === null || th.main === undefined ? null
      : "main " + th.main + (th.dagger === null || th.dagger === undefined ? "" : ", \u2020 " + th.dagger));
    add("Protocol", [proto.name, proto.resolution ? proto.resolution.join("\u00d7") : null,
      proto.top_percent ? "top " + proto.top_percent + "%" : null].filter(Boolean).join(", "));
    add("avatar-bench", r.avatar_bench_version || m.avatar_bench_version || "not recorded");
    var ver = e.verification;
    add("Verification", m.source !== "reproduced"
      ? "reported: copied from the paper, not recomputed (no predictions to verify)"
      : ver && ver.status === "verified"
        ? "verified on " + ver.checked + " with avatar-bench " + ver.avatar_bench_version +
          ": the predictions file above was scored again and all " + ver.n_values +
          " recorded values match"
        : ver && ver.status === "mismatch"
          ? "MISMATCH on " + ver.checked + ": scoring the predictions file again gave other " +
            "numbers than this entry records"
          : "reproduced: computed by avatar-bench from the predictions file above, on " +
            sec.ground_truth + "; not re-checked for this page (anyone holding that file can " +
            "re-check every number with `avatar-bench leaderboard verify`)");
    td.appendChild(dl);
    tr.appendChild(td);
    return tr;
  }

  // ------------------------------------------------------------------ sections
  function renderSection(sec) {
    var node = document.getElementById(sec.id), st = per[sec.id];
    node.hidden = state.board !== "all" && state.board !== sec.id;
    if (node.hidden) { st.stale = true; return; }
    if (st.stale) { st.stale = false; st.drawn = null; }
    var rows = visibleRows(sec), pages = Math.max(1, Math.ceil(rows.length / PAGE));
    if (st.page >= pages) { st.page = pages - 1; }
    var start = st.page * PAGE, slice = rows.slice(start, start + PAGE);
    var frag = document.createDocumentFragment();
    slice.forEach(function (r) {
      frag.appendChild(rowEl(sec, r));
      if (st.open[r.slug]) { frag.appendChild(detailsEl(sec, r)); }
    });
    var table = node.querySelector("table");
    table.tBodies[0].replaceChildren(frag);
    table.classList.toggle("by-rank", state.sort === "rank" && state.dir === "ascending");
    table.querySelectorAll("thead th[data-col]").forEach(function (h) {
      h.setAttribute("aria-sort", h.getAttribute("data-col") === state.sort ? state.dir : "none");
    });
    var filtered = rows.length < sec.rows.length;
    node.querySelector(".shown").textContent = rows.length === 0
      ? "No model in this ranking matches the search and filters."
      : "Showing " + (start + 1) + "\u2013" + (start + slice.length) + " of " + rows.length +
        (filtered ? " (filtered from " + sec.rows.length + ")" : "") + ".";
    pager(sec, node.querySelector(".pager"), st.page, pages);
    node.querySelector(".charts").hidden = rows.length === 0;
    drawCharts(sec, node);
    if (!st.laidOut) { st.laidOut = layout(node); }
  }
  function pager(sec, nav, page, pages) {
    nav.hidden = pages <= 1;
    nav.replaceChildren();
    if (pages <= 1) { return; }
    function btn(label, to, disabled) {
      var b = el("button", null, label);
      b.type = "button";
      b.disabled = disabled;
      b.addEventListener("click", function () { per[sec.id].page = to; renderSection(sec); });
      nav.appendChild(b);
    }
    btn("\u2039 Previous", page - 1, page === 0);
    nav.appendChild(el("span", null, "Page " + (page + 1) + " of " + pages));
    btn("Next \u203a", page + 1, page >= pages - 1);
  }
  function layout(node) {
    // Sticky offsets follow the real header height and rank width (fonts differ).
    var table = node.querySelector("table");
    var first = table.querySelector("thead tr.groups th[scope=colgroup]");
    var rankTh = table.querySelector("thead th.sticky-rank");
    var h = first ? first.getBoundingClientRect().height : 0;
    if (h > 0) { table.style.setProperty("--h1", h + "px"); }
    if (rankTh && h > 0) {
      table.style.setProperty("--rank-w", rankTh.getBoundingClientRect().width + "px");
    }
    return h > 0;
  }
  function renderAll() {
    DATA.sections.forEach(renderSection);
    writeHash();
  }

  // ------------------------------------------------------------------ charts
  function svgEl(tag, attrs, text) {
    var n = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined) { n.textContent = text; }
    return n;
  }
  function colourOf(n, i, prop) { n.style[prop || "fill"] = "var(" + PALETTE[i] + ")"; return n; }
  function clip(name, max) {
    var chars = Array.from(name);
    if (chars.length <= max) { return name; }
    var tail = Math.max(4, Math.ceil(max * 0.55));
    return chars.slice(0, max - tail - 1).join("") + "\u2026" + chars.slice(-tail).join("");
  }
  function togglePick(sec, slug, box) {
    var picks = per[sec.id].picks, at = picks.indexOf(slug);
    if (at >= 0) { picks.splice(at, 1); }
    else if (picks.length >= PALETTE.length) {
      box.checked = false;
      document.getElementById(sec.id + "-status").textContent =
        "At most " + PALETTE.length + " models in the charts: untick one first.";
      return;
    } else { picks.push(slug); }
    drawCharts(sec, document.getElementById(sec.id), true);
  }
  var ROWS = [["single_sound", "Single-sound", "Single"], ["mixed_sound", "Mixed-sound", "Mixed"],
    ["multi_entity", "Multi-entity", "Multi"], ["total", "Total", "Total"],
    ["cross_event", "Cross-event", "Cross"]];
  function ticks(top) {
    top = Math.max(top, 1) * 1.05;
    var steps = [1, 2, 2.5, 5, 10, 20, 25, 50], step = 50;
    for (var i = 0; i < steps.length; i++) { if (top / steps[i] <= 6) { step = steps[i]; break; } }
    var out = [];
    for (var v = 0; v < top + step; v += step) { out.push(v); if (v >= top) { break; } }
    return out;
  }
  function barChart(box, subs, width) {
    var narrow = width < 520, left = 40, top = 12, plotH = narrow ? 170 : 210;
    var plotW = width - left - 8, legendY = top + plotH + 34;
    var perRow = narrow ? 1 : 2, legendH = 18 * Math.ceil(subs.length / perRow);
    var height = legendY + legendH + 6;
    var vals = [1];
    subs.forEach(function (e) {
      ROWS.forEach(function (r) {
        var v = e.values[r[0] + ".ciou"], ci = e.ci[r[0] + ".ciou"];
        if (v !== null && v !== undefined) { vals.push(v); }
        if (ci) { vals.push(ci[1]); }
      });
    });
    var tk = ticks(Math.max.apply(null, vals)), ymax = tk[tk.length - 1];
    function y(v) { return top + plotH - plotH * v / ymax; }
    var svg = svgEl("svg", { viewBox: "0 0 " + width + " " + height, width: width,
      height: height, role: "img" });
    svg.appendChild(svgEl("title", {}, "CIoU per scenario"));
    tk.forEach(function (v) {
      svg.appendChild(svgEl("line", { x1: left, x2: left + plotW, y1: y(v), y2: y(v), "class": "grid" }));
      svg.appendChild(svgEl("text", { x: left - 5, y: y(v) + 4, "font-size": 12, "text-anchor": "end" }, String(v)));
    });
    var groupW = plotW / ROWS.length, barW = Math.max(3, Math.min(18, (groupW - 8) / Math.max(1, subs.length)));
    ROWS.forEach(function (r, g) {
      var gx = left + g * groupW, start = gx + (groupW - barW * subs.length) / 2;
      subs.forEach(function (e, i) {
        var v = e.values[r[0] + ".ciou"], ci = e.ci[r[0] + ".ciou"];
        if (v === null || v === undefined) { return; }
        var bx = start + i * barW;
        var rect = colourOf(svgEl("rect", { x: bx, y: y(v), width: Math.max(1, barW - 1), height: top + plotH - y(v) }), i);
        rect.appendChild(svgEl("title", {}, e.submission.name + ": " + r[1] + " CIoU " + v.toFixed(2) +
          (ci ? " (95% interval " + ci[0].toFixed(2) + " to " + ci[1].toFixed(2) + ")" : "")));
        svg.appendChild(rect);
        if (ci) {
          var cx = bx + (barW - 1) / 2;
          svg.appendChild(svgEl("path", { d: "M" + cx + " " + y(ci[0]) + "V" + y(ci[1]) + "M" + (cx - 3) + " " +
            y(ci[1]) + "h6M" + (cx - 3) + " " + y(ci[0]) + "h6", "class": "whisker", fill: "none", "stroke-width": 1.2 }));
        }
      });
      svg.appendChild(svgEl("text", { x: gx + groupW / 2, y: top + plotH + 17, "font-size": 12,
        "text-anchor": "middle" }, narrow ? r[2] : r[1]));
    });
    svg.appendChild(svgEl("line", { x1: left, x2: left + plotW, y1: top + plotH, y2: top + plotH, "class": "axis" }));
    var colW = (width - left) / perRow, maxChars = Math.floor((colW - 24) / 6.5);
    subs.forEach(function (e, i) {
      var lx = left + (i % perRow) * colW, ly = legendY + 18 * Math.floor(i / perRow);
      svg.appendChild(colourOf(svgEl("rect", { x: lx, y: ly - 10, width: 12, height: 12 }), i));
      var t = svgEl("text", { x: lx + 18, y: ly, "font-size": 12 }, clip(e.submission.name, maxChars));
      t.appendChild(svgEl("title", {}, e.submission.name));
      svg.appendChild(t);
    });
    box.replaceChildren(svg);
  }
  function dropChart(box, subs, width) {
    var both = [];
    subs.forEach(function (e, i) {
      var t = e.values["total.ciou"], c = e.values["cross_event.ciou"];
      if (t !== null && t !== undefined && c !== null && c !== undefined) { both.push([i, e, t, c]); }
    });
    var labelW = Math.min(190, Math.round(width * 0.42)), right = 52, top = 30, rowH = 26;
    var height = top + rowH * Math.max(1, both.length) + 30;
    var svg = svgEl("svg", { viewBox: "0 0 " + width + " " + height, width: width, height: height, role: "img" });
    svg.appendChild(svgEl("title", {}, "Total vs Cross-event CIoU"));
    if (!both.length) {
      svg.appendChild(svgEl("text", { x: 8, y: top, "font-size": 13 },
        "No chosen model reports both Total and Cross-event CIoU."));
      box.replaceChildren(svg);
      return;
    }
    var vals = [1];
    both.forEach(function (b) { vals.push(b[2], b[3]); });
    var tk = ticks(Math.max.apply(null, vals)), xmax = tk[tk.length - 1], plotW = width - labelW - right;
    function x(v) { return labelW + plotW * v / xmax; }
    tk.forEach(function (v) {
      svg.appendChild(svgEl("line", { x1: x(v), x2: x(v), y1: top - 6, y2: height - 24, "class": "grid" }));
      svg.appendChild(svgEl("text", { x: x(v), y: height - 8, "font-size": 12, "text-anchor": "middle" }, String(v)));
    });
    svg.appendChild(svgEl("text", { x: 8, y: 16, "font-size": 12 },
      "\u25CF Total  \u25CB Cross-event (CIoU %), drop on the right"));
    var maxChars = Math.floor((labelW - 12) / 6.5);
    both.forEach(function (b, j) {
      var i = b[0], e = b[1], t = b[2], c = b[3], cy = top + rowH * j + rowH / 2;
      var label = svgEl("text", { x: labelW - 10, y: cy + 4, "font-size": 12, "text-anchor": "end" },
        clip(e.submission.name, maxChars));
      label.appendChild(svgEl("title", {}, e.submission.name));
      svg.appendChild(label);
      svg.appendChild(colourOf(svgEl("line", { x1: x(t), x2: x(c), y1: cy, y2: cy, "stroke-width": 3 }), i, "stroke"));
      var dot = colourOf(svgEl("circle", { cx: x(t), cy: cy, r: 6 }), i);
      dot.appendChild(svgEl("title", {}, e.submission.name + ": Total CIoU " + t.toFixed(2)));
      svg.appendChild(dot);
      var ring = colourOf(svgEl("circle", { cx: x(c), cy: cy, r: 5, "stroke-width": 2.5, fill: "var(--chart-bg)" }), i, "stroke");
      ring.style.fill = "var(--chart-bg)";
      ring.appendChild(svgEl("title", {}, e.submission.name + ": Cross-event CIoU " + c.toFixed(2)));
      svg.appendChild(ring);
      var d = c - t;
      svg.appendChild(svgEl("text", { x: width - right + 6, y: cy + 4, "font-size": 12 },
        (d > 0 ? "+" : d < 0 ? "\u2212" : "") + Math.abs(d).toFixed(2)));
    });
    box.replaceChildren(svg);
  }
  function drawCharts(sec, node, force) {
    var charts = node.querySelector(".charts");
    if (charts.hidden || node.hidden) { return; }
    var drawnFor = per[sec.id].picks.join("\n");
    if (!force && per[sec.id].drawn === drawnFor) { return; }   // sorting never changes them
    per[sec.id].drawn = drawnFor;
    var subs = per[sec.id].picks.map(function (s) { return ENTRY[s]; });
    var width = Math.max(280, Math.min(760, Math.floor(charts.clientWidth || 600)));
    var boxes = charts.querySelectorAll(".chart");
    if (!subs.length) {
      boxes.forEach(function (b) { b.replaceChildren(el("p", "note", "Tick \u201ccompare\u201d on rows of the table to chart them.")); });
      return;
    }
    barChart(boxes[0], subs, Math.min(width, Math.floor(boxes[0].clientWidth || width)));
    dropChart(boxes[1], subs, Math.min(width, Math.floor(boxes[1].clientWidth || width)));
  }

  // ------------------------------------------------------------------ URL state
  function writeHash() {
    var p = new URLSearchParams();
    Object.keys(DEFAULT).forEach(function (k) { if (state[k] !== DEFAULT[k]) { p.set(k, state[k]); } });
    var h = p.toString();
    if (("#" + h) === location.hash || (!h && !location.hash)) { lastHash = location.hash; return; }
    lastHash = h ? "#" + h : "";
    try { history.replaceState(null, "", h ? "#" + h : location.pathname + location.search); }
    catch (err) { location.replace("#" + h); }
  }
  function readHash() {
    var raw = location.hash.slice(1);
    state = Object.assign({}, DEFAULT);
    if (raw.indexOf("=") < 0) { return raw ? decodeURIComponent(raw) : null; }
    var p = new URLSearchParams(raw);
    Object.keys(DEFAULT).forEach(function (k) { if (p.has(k)) { state[k] = p.get(k); } });
    if (state.dir !== "ascending" && state.dir !== "descending") { state.dir = DEFAULT.dir; }
    if (state.sort !== "rank" && state.sort !== "model" && !colOf(state.sort)) { state.sort = "rank"; }
    return null;
  }
  function syncControls() {
    document.getElementById("board-select").value = state.board;
    if (document.getElementById("board-select").value !== state.board) { state.board = "all"; }
    document.getElementById("search").value = state.q;
    FILTERS.forEach(function (f) {
      var s = document.getElementById("f-" + f);
      s.value = state[f];
      if (s.value !== state[f]) { state[f] = ""; }
    });
    Object.keys(RANGES).forEach(function (k) {
      var input = document.getElementById("f-" + k);
      input.value = state[k];
      input.setAttribute("aria-invalid", String(!!state[k] && bound(k) === null));
    });
    if (Object.keys(RANGES).some(function (k) { return state[k]; })) {
      document.querySelector("details.more").open = true;
    }
  }
  function showRow(target) {
    var parts = target.split("--"), sec = null;
    DATA.sections.forEach(function (s) { if (s.id === parts[0]) { sec = s; } });
    if (!sec || (state.board !== "all" && state.board !== sec.id)) { return false; }
    var rows = visibleRows(sec), at = -1;
    rows.forEach(function (r, i) { if (r.slug === parts.slice(1).join("--")) { at = i; } });
    if (at < 0) { return false; }
    per[sec.id].page = Math.floor(at / PAGE);
    renderSection(sec);
    var tr = document.getElementById(sec.id + "--" + rows[at].slug);
    if (tr) { tr.classList.add("target"); tr.scrollIntoView({ block: "center" }); }
    return !!tr;
  }
  function restore(keep) {
    // A row link clicked on the page keeps the current view when the row is in it.
    var raw = location.hash.slice(1);
    if (keep && raw && raw.indexOf("=") < 0 && showRow(decodeURIComponent(raw))) {
      lastHash = location.hash;
      return;
    }
    var target = readHash();
    syncControls();
    DATA.sections.forEach(renderSection);
    if (target) { showRow(target); lastHash = location.hash; }
    else { writeHash(); }
  }

  // ------------------------------------------------------------------ downloads
  function csvField(v, text) {
    var s = v === null || v === undefined ? "" : String(v);
    if (text && /^[=+\-@\t\r]/.test(s)) { s = "'" + s; }   // no spreadsheet formulas
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function csv() {
    var head = ["ranking", "rank", "tied", "model", "slug", "source", "kind", "authors",
      "organisation", "training_data", "training_seed", "protocol"];
    COLS.forEach(function (c) {
      head.push(c.key);
      if (c.best === "max") { head.push(c.key + ".ci_low", c.key + ".ci_high"); }
    });
    var lines = [head.join(",")];
    DATA.sections.forEach(function (sec) {
      if (state.board !== "all" && state.board !== sec.id) { return; }
      visibleRows(sec).forEach(function (r) {
        var e = ENTRY[r.slug], m = e.submission;
        var f = [csvField(sec.id), csvField(r.rank), csvField(r.tied), csvField(m.name, true),
          csvField(r.slug), csvField(m.source), csvField(e.kind), csvField(m.authors, true),
          csvField(m.organisation, true), csvField((m.training_data || {}).name, true),
          csvField(typeof m.training_seed === "number" ? m.training_seed : null),
          csvField(m.protocol)];
        COLS.forEach(function (c) {
          f.push(csvField(e.values[c.key], c.kind === "text"));
          if (c.best === "max") {
            var ci = e.ci[c.key] || [null, null];
            f.push(csvField(ci[0]), csvField(ci[1]));
          }
        });
        lines.push(f.join(","));
      });
    });
    return lines.join("\r\n") + "\r\n";
  }
  function entriesJson() {
    return JSON.stringify(DATA.entries.map(function (e) {
      return { slug: e.slug, submission: e.submission, results: e.results };
    }), null, 2) + "\n";
  }
  function download(name, text, type) {
    var a = el("a");
    a.href = URL.createObjectURL(new Blob([text], { type: type }));
    a.download = name;
    a.hidden = true;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  // ------------------------------------------------------------------ wiring
  DATA.sections.forEach(function (sec) {
    per[sec.id] = { page: 0, open: {}, picks: sec.rows.filter(function (r) { return r.rank !== null; })
      .slice(0, PALETTE.length).map(function (r) { return r.slug; }) };
    var table = document.getElementById(sec.id).querySelector("table");
    table.querySelectorAll("thead th[data-col] button").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var th = btn.closest("th"), col = th.getAttribute("data-col");
        state.dir = state.sort === col ? (state.dir === "ascending" ? "descending" : "ascending")
          : th.getAttribute("data-first");
        state.sort = col;
        DATA.sections.forEach(function (s) { per[s.id].page = 0; });
        renderAll();
        document.getElementById(sec.id + "-status").textContent =
          "Sorted by " + th.getAttribute("data-label") + ", " + state.dir + ".";
      });
    });
  });
  function onControl(key, id, event) {
    document.getElementById(id).addEventListener(event, function (ev) {
      state[key] = ev.target.value;
      DATA.sections.forEach(function (s) { per[s.id].page = 0; });
      renderAll();
    });
  }
  onControl("board", "board-select", "change");
  onControl("q", "search", "input");
  FILTERS.forEach(function (f) { onControl(f, "f-" + f, "change"); });
  Object.keys(RANGES).forEach(function (k) {
    onControl(k, "f-" + k, "input");
    document.getElementById("f-" + k).addEventListener("input", function (ev) {
      ev.target.setAttribute("aria-invalid", String(!!state[k] && bound(k) === null));
    });
  });
  document.getElementById("dl-csv").addEventListener("click", function () {
    download("avatar-leaderboard.csv", csv(), "text/csv");
  });
  document.getElementById("dl-json").addEventListener("click", function () {
    download("avatar-leaderboard.json", entriesJson(), "application/json");
  });
  document.getElementById("dl-bib").addEventListener("click", function () {
    var pre = document.getElementById("bibtex");
    pre.textContent = DATA.bibtex;
    pre.hidden = false;
    download("avatar.bib", DATA.bibtex, "application/x-bibtex");
  });
  document.getElementById("reset").addEventListener("click", function () {
    state = Object.assign({}, DEFAULT);
    syncControls();
    renderAll();
  });
  window.addEventListener("hashchange", function () {
    if (location.hash !== lastHash) { restore(true); }
  });
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      DATA.sections.forEach(function (s) {
        var node = document.getElementById(s.id);
        drawCharts(s, node, true);
        per[s.id].laidOut = layout(node);
      });
    }, 150);
  });
  window.avatarLeaderboard = { csv: csv, json: entriesJson, bibtex: DATA.bibtex,
    state: function () { return Object.assign({}, state); } };
  restore();
}());
