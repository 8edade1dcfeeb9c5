/* terminal.js - one terminal's page (#terminal/SERIAL): identity, merchant,
 * versions and slot, lock state, health charts (dygraphs), diagnostics,
 * alerts, update and lifecycle history; support's actions (diagnostic,
 * lock/unlock, swap wizard, repair). The page follows GET
 * /v1/events?serial=SERIAL (live.js) and asks its routes again when told the
 * terminal changed; while that stream is down it polls them every
 * PF.td.EVERY ms. Either way each ask carries If-None-Match: an unchanged
 * answer is a 304 with no body and nothing is redrawn. Strings from terminals and people go in with
 * textContent only. */
"use strict";
var PF = window.PF || {};
window.PF = PF;

PF.td = {
  EVERY: 5000, /* ms between polls */
  DAY: 86400000,
  serial: "",
  span: 86400000, /* the charts' time range, ms */
  tags: {},  /* route (path without query) -> ETag of its last 200 */
  cache: {}, /* route -> that answer's body */
  charts: {},
  timer: null,
  polls: 0,
  notModified: 0,
  dev: null,
  life: null
};

/* Roles that may act on a terminal (the routes' least role is support). */
PF.canSupport = function () {
  return !!PF.me && ["support", "ops", "admin"].indexOf(PF.me.role) >= 0;
};

PF.when = function (ms) {
  if (ms === null || ms === undefined) return "";
  return new Date(ms).toLocaleString(PF.lang);
};

/* GET with the ETag of the last answer: {status, body, fresh}; a 304 gives
 * the kept body with fresh false. */
PF.td.get = function (path) {
  /* One entry per route, whatever its query: the health window's URL moves
   * every minute, and a tag sent for another URL just gets a 200. */
  var key = path.split("?")[0], headers = { "Accept": "application/json" };
  if (PF.td.tags[key]) headers["If-None-Match"] = PF.td.tags[key];
  PF.td.polls++;
  return fetch("/api/v1" + path, { method: "GET", credentials: "same-origin", headers: headers, cache: "no-store" })
    .then(function (r) {
      if (r.status === 304 && Object.prototype.hasOwnProperty.call(PF.td.cache, key)) {
        PF.td.notModified++;
        return { status: 200, body: PF.td.cache[key], fresh: false };
      }
      return r.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        if (r.status === 200 && r.headers.get("ETag")) {
          PF.td.tags[key] = r.headers.get("ETag");
          PF.td.cache[key] = body;
        }
        return { status: r.status, body: body, fresh: true };
      });
    });
};

PF.td.kv = function (tb, key, value) {
  var tr = document.createElement("tr"), th = document.createElement("th");
  th.textContent = PF.t(key);
  tr.appendChild(th);
  PF.cell(tr, value);
  tb.appendChild(tr);
};

PF.td.stateName = function (s) { return s ? PF.t("tdetail.st." + s) : ""; };

PF.td.renderIdent = function () {
  var d = PF.td.dev, l = PF.td.life && PF.td.life.terminal, tb = PF.clearBody("td-ident");
  if (!d) return;
  PF.td.kv(tb, "tdetail.model", d.model + (d.hw_rev ? " / " + d.hw_rev : ""));
  PF.td.kv(tb, "tdetail.registry", d.status);
  PF.td.kv(tb, "tdetail.state", l ? PF.td.stateName(l.state) : "");
  PF.td.kv(tb, "tdetail.merchant", d.merchant_id ? (PF.td.merchantName ? PF.td.merchantName + " (" + d.merchant_id + ")" : d.merchant_id) : PF.t("tdetail.unbound"));
  PF.td.kv(tb, "tdetail.firmware", d.fw_version ? PF.t("tdetail.fw_slot", { v: d.fw_version, slot: d.fw_slot }) : "");
  PF.td.kv(tb, "tdetail.fee", (d.fee_version || "") + (d.fee_pending ? " → " + d.fee_pending.version + " @ " + PF.when(d.fee_pending.effective_ms) : ""));
  PF.td.kv(tb, "tdetail.connection", (d.last_seen_ms === null ? PF.t("term.never") : PF.t(d.online ? "term.is_online" : "term.is_offline") + " · " + PF.when(d.last_seen_ms)));
  var lock = "";
  if (l) {
    lock = PF.t(l.locked ? "tdetail.locked" : "tdetail.unlocked");
    if (l.lock && !l.lock.acknowledged) lock += " · " + PF.t("tdetail.lock_pending");
  }
  PF.td.kv(tb, "tdetail.payments", lock);
  PF.td.kv(tb, "tdetail.tags", l && l.tags ? l.tags.join(", ") : "");
  if (d.battery_pct !== null) {
    PF.td.kv(tb, "tdetail.now", PF.t("tdetail.now_v", { b: d.battery_pct, s: d.signal_dbm, t: d.temp_c, p: d.paper }));
  }
  PF.$("td-lock").disabled = !!(l && l.locked);
  PF.$("td-unlock").disabled = !(l && l.locked);
};

PF.td.rows = function (tableId, list, cells) {
  var tb = PF.clearBody(tableId);
  for (var i = 0; i < list.length; i++) {
    var tr = document.createElement("tr"), c = cells(list[i]);
    for (var j = 0; j < c.length; j++) PF.cell(tr, c[j]);
    tb.appendChild(tr);
  }
};

PF.td.renderDevice = function () {
  var d = PF.td.dev;
  PF.td.rows("td-alerts", d.alerts || [], function (a) {
    return [PF.t("alert." + a.kind), PF.when(a.opened_ms), a.detail];
  });
  PF.td.rows("td-updates", d.updates || [], function (u) {
    return [PF.when(u.ts_ms), u.kind, u.version, u.status, [u.reason, u.code, u.message].filter(Boolean).join(" · ")];
  });
};

PF.td.renderHistory = function () {
  var h = PF.td.life, ev = (h.events || []).slice().reverse(); /* newest first */
  PF.td.rows("td-history", ev, function (e) {
    var change = e.from || e.to ? PF.td.stateName(e.from) + " → " + PF.td.stateName(e.to) : "";
    return [PF.when(e.ts_ms), e.kind, change, e.actor, [e.other, e.detail].filter(Boolean).join(" · ")];
  });
};

PF.td.renderDiag = function (list) {
  PF.td.rows("td-diag", list, function (q) {
    var res = q.result ? JSON.stringify(q.result) : q.message || "";
    if (res.length > 400) res = res.slice(0, 400) + "…";
    return [PF.when(q.created_ms), q.command, PF.t("tdetail.diag." + q.status), res];
  });
};

PF.td.SERIES = [
  { id: "battery", col: 1, key: "tdetail.battery", scale: 1, range: [0, 100] },
  { id: "signal", col: 2, key: "tdetail.signal", scale: 1, range: null },
  { id: "temp", col: 3, key: "tdetail.temp", scale: 1, range: null },
  { id: "storage", col: 4, key: "tdetail.storage", scale: 1 / 1024, range: null }
];

PF.td.renderHealth = function (h) {
  var pts = h.points || [];
  PF.text("td-health-note", PF.t("tdetail.health_note", { n: h.reports, p: pts.length }));
  for (var i = 0; i < PF.td.SERIES.length; i++) {
    var s = PF.td.SERIES[i], data = [];
    for (var j = 0; j < pts.length; j++) data.push([new Date(pts[j][0]), pts[j][s.col] * s.scale]);
    var el = PF.$("td-chart-" + s.id);
    if (!data.length) {
      if (PF.td.charts[s.id]) { PF.td.charts[s.id].destroy(); delete PF.td.charts[s.id]; }
      el.textContent = PF.t("tdetail.no_data");
      continue;
    }
    var opts = { labels: [PF.t("tdetail.when"), PF.t(s.key)], height: 180, width: 420,
      dateWindow: [h.from_ms, h.to_ms], drawPoints: data.length < 60,
      highlightCallback: PF.td.hover(s.id), unhighlightCallback: PF.td.hover(s.id) };
    if (s.range) opts.valueRange = s.range;
    opts.drawCallback = PF.td.drawn(s.id);
    if (PF.td.charts[s.id]) {
      opts.file = data;
      PF.td.charts[s.id].updateOptions(opts);
    } else {
      el.textContent = "";
      PF.td.charts[s.id] = new window.Dygraph(el, data, opts);
    }
  }
};

/* Once all four charts have drawn this answer: the charts' container gets
 * data-drawn (the span drawn, ms) and the Performance API the marks
 * pf-terminal-data and, in the next animation frame, pf-terminal-painted
 * (the terminal page's figure, docs/console.md "How fast it paints"). */
PF.td.drawn = function (id) {
  return function () {
    PF.td.drawnSet[id] = true;
    for (var i = 0; i < PF.td.SERIES.length; i++) if (!PF.td.drawnSet[PF.td.SERIES[i].id]) return;
    PF.td.drawnSet = {};
    PF.$("td-charts").setAttribute("data-drawn", String(PF.td.span));
    if (!PF.td.markedOnce) { PF.td.markedOnce = true; PF.markPainted("terminal"); }
  };
};
PF.td.drawnSet = {};

/* The value under the pointer, as text next to the chart: dygraphs' own
 * legend writes HTML with style attributes, which the CSP refuses, so the
 * Legend plugin is left out (PF.td.start). */
PF.td.hover = function (id) {
  return function (ev, x, points) {
    var p = points && points[0];
    PF.text("td-value-" + id, p ? new Date(x).toLocaleString(PF.lang) + ": " + p.yval : "");
  };
};

/* The health window: [from, to) on whole minutes, so polls within the same
 * minute ask the same URL and get a 304 until a report arrives. At most
 * PF.td.POINTS points (the server averages): a chart is 420 px wide, so more
 * only cost the answer's size and dygraphs' drawing (30 days at 60 s are
 * 43,200 reports). */
PF.td.POINTS = 600;
PF.td.healthPath = function () {
  var span = PF.td.span, from = Math.floor((Date.now() - span) / 60000) * 60000;
  return "/devices/" + encodeURIComponent(PF.td.serial) + "/health?from=" + from + "&to=" + (from + span + 60000) +
    "&points=" + PF.td.POINTS;
};

PF.td.load = function () {
  var s = encodeURIComponent(PF.td.serial), serial = PF.td.serial;
  var gets = [PF.td.get("/devices/" + s + "?health=0"), PF.td.get("/devices/" + s + "/history?limit=200"),
    PF.td.get(PF.td.healthPath())];
  if (PF.canSupport()) gets.push(PF.td.get("/devices/" + s + "/diag?limit=10"));
  /* The charts are drawn as soon as their answer is in, whatever the rest. */
  gets[2].then(function (h) {
    if (serial === PF.td.serial && h.status === 200 && h.fresh) PF.td.renderHealth(h.body);
  }, function () {});
  return Promise.all(gets).then(function (r) {
    if (serial !== PF.td.serial) return;
    for (var i = 0; i < r.length; i++) if (r[i].status !== 200) return PF.fail(r[i]);
    var identity = r[0].fresh || r[1].fresh;
    if (r[0].fresh) { PF.td.dev = r[0].body; PF.td.renderDevice(); }
    if (r[1].fresh) { PF.td.life = r[1].body; PF.td.renderHistory(); }
    if (r[0].fresh && PF.td.dev.merchant_id && PF.td.merchantId !== PF.td.dev.merchant_id) {
      PF.td.merchantId = PF.td.dev.merchant_id;
      PF.api("GET", "/merchants/" + encodeURIComponent(PF.td.merchantId)).then(function (m) {
        PF.td.merchantName = m.status === 200 && m.body ? m.body.name : "";
        PF.td.renderIdent();
      });
    }
    if (identity) PF.td.renderIdent();
    if (r[3] && r[3].fresh) PF.td.renderDiag(r[3].body.diag || []);
    PF.text("td-live", PF.t("tdetail.live", { t: new Date().toLocaleTimeString(PF.lang) }));
  }, function () { PF.fail(null); });
};

PF.td.stop = function () {
  if (PF.td.timer) window.clearInterval(PF.td.timer);
  PF.td.timer = null;
  PF.live.stop(PF.td.stream);
  PF.td.stream = null;
};

/* Polling, while the event stream is down. */
PF.td.poll = function () {
  if (PF.td.timer) return;
  PF.td.timer = window.setInterval(function () {
    if (PF.$("page-terminal").hidden) return PF.td.stop();
    PF.td.load();
  }, PF.td.EVERY);
};

/* The ranges of the charts' buttons ("#terminal/SERIAL?range=30" opens with one). */
PF.td.RANGES = { h: 3600000, 1: 86400000, 7: 7 * 86400000, 30: 30 * 86400000 };

PF.terminal = function (serial) {
  var q = serial.indexOf("?"); /* never in a serial */
  if (q >= 0) {
    var range = new URLSearchParams(serial.slice(q + 1)).get("range");
    serial = serial.slice(0, q);
    if (Object.prototype.hasOwnProperty.call(PF.td.RANGES, range)) PF.td.span = PF.td.RANGES[range];
  }
  PF.show("terminal");
  PF.$("td-charts").removeAttribute("data-drawn");
  if (serial !== PF.td.serial) {
    for (var id in PF.td.charts) if (Object.prototype.hasOwnProperty.call(PF.td.charts, id)) PF.td.charts[id].destroy();
    PF.td.charts = {};
    PF.td.tags = {};
    PF.td.cache = {};
    PF.td.dev = PF.td.life = null;
    PF.td.merchantId = PF.td.merchantName = "";
    PF.clearBody("td-ident");
  }
  PF.td.serial = serial;
  PF.text("td-serial", serial);
  PF.text("td-action-msg", "");
  PF.$("td-actions").hidden = !PF.canSupport();
  PF.$("td-swap-wizard").hidden = true;
  PF.$("td-repair-form").hidden = true;
  PF.td.stop();
  PF.td.load();
  PF.td.stream = PF.live.follow("serial=" + encodeURIComponent(serial), 1000, function () {
    if (PF.$("page-terminal").hidden) return PF.td.stop();
    PF.td.load();
  }, PF.td.poll, function () {
    if (PF.td.timer) window.clearInterval(PF.td.timer);
    PF.td.timer = null;
  });
};

/* --- actions --- */

PF.td.say = function (id, res, okKey, vars) {
  if (res.status >= 200 && res.status < 300) PF.text(id, PF.t(okKey, vars));
  else PF.text(id, PF.t("error.generic", { msg: res.body && res.body.message ? res.body.message : "HTTP " + res.status }));
};

PF.td.post = function (path, body, msgId, okKey) {
  return PF.api("POST", "/devices/" + encodeURIComponent(PF.td.serial) + path, body).then(function (res) {
    PF.td.say(msgId, res, okKey, {});
    PF.td.load();
    return res;
  }, function () { PF.text(msgId, PF.t("error.network")); });
};

PF.td.lock = function (lock) {
  var reason = PF.$("td-lock-reason").value.trim();
  if (!reason) { PF.text("td-action-msg", PF.t("tdetail.reason_needed")); return; }
  PF.td.post(lock ? "/lock" : "/unlock", { reason: reason }, "td-action-msg", lock ? "tdetail.lock_sent" : "tdetail.unlock_sent");
};

PF.td.diag = function () {
  PF.td.post("/diag", { command: PF.$("td-diag-cmd").value }, "td-action-msg", "tdetail.diag_sent");
};

/* The swap wizard: 1 the replacement and a reason; 2 what moves, read from
 * both terminals' records; 3 the confirmation sends the swap. */
PF.swap = { plan: null };

PF.swap.open = function () {
  PF.$("td-swap-wizard").hidden = false;
  PF.$("swap-step1").hidden = false;
  PF.$("swap-step2").hidden = true;
  PF.text("swap-msg", "");
};

PF.swap.next = function () {
  var nw = PF.$("swap-new").value.trim(), reason = PF.$("swap-reason").value.trim();
  if (!nw || !reason) { PF.text("swap-msg", PF.t("swap.need")); return; }
  Promise.all([PF.api("GET", "/devices/" + encodeURIComponent(PF.td.serial) + "/lifecycle"),
    PF.api("GET", "/devices/" + encodeURIComponent(nw) + "/lifecycle")]).then(function (r) {
    if (r[1].status !== 200) return PF.td.say("swap-msg", r[1]);
    if (r[0].status !== 200) return PF.td.say("swap-msg", r[0]);
    var o = r[0].body, n = r[1].body, tb = PF.clearBody("swap-plan");
    var line = function (key, a, b) {
      var tr = document.createElement("tr"), th = document.createElement("th");
      th.textContent = PF.t(key);
      tr.appendChild(th);
      PF.cell(tr, a);
      PF.cell(tr, b);
      tb.appendChild(tr);
    };
    var none = PF.t("swap.none"), list = function (a) { return a && a.length ? a.join(", ") : none; };
    line("swap.terminal", o.serial + " (" + o.model + ")", n.serial + " (" + n.model + ")");
    line("tdetail.state", PF.td.stateName(o.state) + " → " + PF.td.stateName("in_repair"),
      PF.td.stateName(n.state) + " → " + PF.td.stateName("installed"));
    line("tdetail.merchant", (o.merchant_id || none) + " → " + none, (n.merchant_id || none) + " → " + (o.merchant_id || none));
    line("swap.fee_plan", list(o.fee_plan) + " → " + none, list(n.fee_plan) + " → " + list(o.fee_plan));
    line("swap.tz", (o.tz || none) + " → " + none, (n.tz || none) + " → " + (o.tz || none));
    line("tdetail.tags", list(o.tags), list(n.tags) + " → " + list(o.tags));
    line("swap.repair", PF.t(o.repair_id ? "swap.repair_join" : "swap.repair_opens", { id: o.repair_id || "" }), "");
    PF.text("swap-msg", n.state !== "in_stock" ? PF.t("swap.not_in_stock", { s: n.serial, state: PF.td.stateName(n.state) }) : "");
    PF.swap.plan = { new: nw, reason: reason };
    PF.$("swap-step1").hidden = true;
    PF.$("swap-step2").hidden = false;
  }, function () { PF.text("swap-msg", PF.t("error.network")); });
};

PF.swap.confirm = function () {
  var p = PF.swap.plan;
  if (!p) return;
  PF.api("POST", "/devices/" + encodeURIComponent(PF.td.serial) + "/swap", p).then(function (res) {
    if (res.status !== 200) return PF.td.say("swap-msg", res);
    PF.swap.plan = null;
    PF.$("swap-step2").hidden = true;
    PF.$("swap-step1").hidden = false;
    PF.text("swap-msg", PF.t("swap.done", { old: res.body.old.serial, new: res.body.new.serial, id: res.body.repair.id }));
    PF.td.load();
  }, function () { PF.text("swap-msg", PF.t("error.network")); });
};

PF.td.repairOpen = function () {
  var reason = PF.$("repair-reason").value.trim();
  if (!reason) { PF.text("td-action-msg", PF.t("tdetail.reason_needed")); return; }
  PF.api("POST", "/devices/" + encodeURIComponent(PF.td.serial) + "/repair", { reason: reason }).then(function (res) {
    PF.td.say("td-action-msg", res, "tdetail.repair_opened", { id: res.body ? res.body.id : "" });
    if (res.status === 201) PF.$("td-repair-form").hidden = true;
    PF.td.load();
  }, function () { PF.text("td-action-msg", PF.t("error.network")); });
};

PF.td.start = function () {
  if (window.Dygraph && window.Dygraph.Plugins) {
    window.Dygraph.PLUGINS = window.Dygraph.PLUGINS.filter(function (p) { return p !== window.Dygraph.Plugins.Legend; });
  }
  window.addEventListener("hashchange", function () { /* left the page: no stream, no polls */
    if (window.location.hash.indexOf("#terminal/") !== 0) PF.td.stop();
  });
  PF.$("td-lock").addEventListener("click", function () { PF.td.lock(true); });
  PF.$("td-unlock").addEventListener("click", function () { PF.td.lock(false); });
  PF.$("td-diag-run").addEventListener("click", PF.td.diag);
  PF.$("td-swap").addEventListener("click", PF.swap.open);
  PF.$("swap-next").addEventListener("click", PF.swap.next);
  PF.$("swap-back").addEventListener("click", PF.swap.open);
  PF.$("swap-confirm").addEventListener("click", PF.swap.confirm);
  PF.$("swap-cancel").addEventListener("click", function () { PF.$("td-swap-wizard").hidden = true; });
  PF.$("td-repair").addEventListener("click", function () { PF.$("td-repair-form").hidden = false; });
  PF.$("repair-cancel").addEventListener("click", function () { PF.$("td-repair-form").hidden = true; });
  PF.$("repair-submit").addEventListener("click", PF.td.repairOpen);
  [["h", 3600000], ["1", PF.td.DAY], ["7", 7 * PF.td.DAY], ["30", 30 * PF.td.DAY]].forEach(function (r) {
    PF.$("td-range-" + r[0]).addEventListener("click", function () { PF.td.span = r[1]; PF.td.load(); });
  });
};

document.addEventListener("DOMContentLoaded", PF.td.start);

/* --- CSV export of the terminals list ---
 * The list's current search (PF.term.query(): its filters) as
 * GET /api/v1/devices/export, which posfleetd streams page by page while the
 * browser writes the file (docs/server.md): the page holds none of it. The
 * session cookie goes with the download like with any GET. */
PF.csv = {};

/* The export's URL: the list's filters, not its page. */
PF.csv.href = function () {
  var q = PF.term.query ? PF.term.query() : "";
  return "/api/v1/devices/export" + (q ? "?" + q.slice(1) : "");
};

PF.csv.run = function () {
  var a = document.createElement("a");
  a.href = PF.csv.href();
  a.download = "terminals-" + new Date().toISOString().slice(0, 10) + ".csv";
  document.body.appendChild(a);
  a.click();
  document.body.removeChild(a);
  PF.text("term-export-status", PF.t("term.export_started"));
};

document.addEventListener("DOMContentLoaded", function () {
  PF.$("term-export").addEventListener("click", PF.csv.run);
});
