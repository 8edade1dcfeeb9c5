/* dashboard.js - the dashboard page: terminals online/offline/never seen,
 * open alerts by kind, firmware and fee-table versions (GET /v1/summary,
 * counted by posfleetd over every terminal in the user's scope), online
 * terminals over the last 24 h (GET /v1/summary/online, drawn with dygraphs)
 * and active rollouts (and those ended in the last 24 h) with their progress
 * (GET /v1/rollouts).
 * When the summary's counts are in the page, the mark "pf-dashboard-data"
 * is set and, at the next frame, "pf-dashboard-painted" (docs/console.md,
 * docs/benchmarks.md). */
"use strict";
var PF = window.PF || {};
window.PF = PF;

PF.dash = { chart: null };

/* label: how a key is named (alert kinds from the catalogue), else the key itself. */
PF.countRows = function (tableId, counts, label) {
  var tb = PF.clearBody(tableId);
  var keys = Object.keys(counts).sort();
  for (var i = 0; i < keys.length; i++) {
    var tr = document.createElement("tr");
    PF.cell(tr, keys[i] === "" ? PF.t("dash.none") : label ? label(keys[i]) : keys[i]);
    PF.cell(tr, counts[keys[i]]);
    tb.appendChild(tr);
  }
};

PF.ACTIVE = ["awaiting_approval", "scheduled", "running", "paused", "gated", "rolling_back"];

PF.markPainted = function (name) {
  if (!window.performance || !performance.mark) return;
  performance.mark("pf-" + name + "-data");
  window.requestAnimationFrame(function () { performance.mark("pf-" + name + "-painted"); });
};

/* The summary's fee tables: active ones, then pending ones by effective date. */
PF.dashFees = function (fees) {
  var tb = PF.clearBody("dash-fees");
  for (var i = 0; i < fees.length; i++) {
    var f = fees[i], tr = document.createElement("tr");
    PF.cell(tr, f.version);
    PF.cell(tr, f.state === "pending" ?
      PF.t("dash.fee_pending", { when: new Date(f.effective_ms).toLocaleString(PF.lang) }) :
      PF.t("dash.fee_active"));
    PF.cell(tr, f.terminals);
    tb.appendChild(tr);
  }
  PF.$("dash-fees-none").hidden = fees.length > 0;
};

PF.dashOnline = function (body) {
  var data = (body.samples || []).map(function (s) { return [new Date(s[0]), s[1]]; });
  var note = PF.$("dash-chart-note"), box = PF.$("dash-chart");
  if (!data.length) {
    if (PF.dash.chart) { PF.dash.chart.destroy(); PF.dash.chart = null; }
    box.hidden = true;
    note.textContent = body.interval_s ?
      PF.t("dash.chart_empty", { min: Math.max(1, Math.round(body.interval_s / 60)) }) :
      PF.t("dash.chart_off");
    return;
  }
  box.hidden = false;
  note.textContent = "";
  var opts = {
    labels: [PF.t("dash.chart_time"), PF.t("dash.chart_online")],
    includeZero: true,
    drawPoints: data.length < 50,
    dateWindow: [Date.now() - 24 * 3600 * 1000, Date.now()]
  };
  if (typeof window.Dygraph !== "function") { note.textContent = PF.t("dash.chart_lib"); return; }
  /* Without dygraphs' legend plugin: it measures text with a style attribute,
   * which the console's CSP (style-src 'self') refuses. */
  window.Dygraph.PLUGINS = window.Dygraph.PLUGINS.filter(function (p) {
    return p !== window.Dygraph.Plugins.Legend;
  });
  if (PF.dash.chart) PF.dash.chart.updateOptions(Object.assign({ file: data }, opts));
  else PF.dash.chart = new window.Dygraph(box, data, opts);
};

PF.dashboard = function () {
  PF.show("dashboard");
  PF.api("GET", "/summary").then(function (res) {
    if (res.status !== 200) return PF.fail(res);
    var s = res.body;
    PF.text("dash-online", s.online);
    PF.text("dash-offline", s.offline);
    PF.text("dash-never", s.never_seen);
    PF.countRows("dash-alerts", s.alerts || {}, function (k) { return PF.t("alert." + k); });
    PF.countRows("dash-firmware", s.firmware || {});
    PF.dashFees(s.fee_tables || []);
    PF.markPainted("dashboard");
  }, function () { PF.fail(null); });
  PF.api("GET", "/summary/online").then(function (res) {
    if (res.status !== 200) return PF.fail(res);
    PF.dashOnline(res.body);
  }, function () { PF.fail(null); });
  PF.api("GET", "/rollouts").then(function (res) {
    if (res.status !== 200) return PF.fail(res);
    var tb = PF.clearBody("dash-rollouts"), list = res.body.rollouts || [], shown = 0;
    for (var i = 0; i < list.length; i++) {
      var r = list[i];
      /* Active ones, and those that ended in the last 24 h (how the last one went). */
      if (PF.ACTIVE.indexOf(r.state) < 0 && !(r.updated_ms > Date.now() - 24 * 3600 * 1000)) continue;
      var t = r.totals || {}, done = (t.installed || 0) + (t.already || 0);
      var tr = document.createElement("tr");
      PF.cell(tr, r.id);
      PF.cell(tr, r.name);
      PF.cell(tr, r.state);
      var td = PF.cell(tr, PF.t("ro.done", { done: done, members: r.members || 0 }) + " ");
      var bar = document.createElement("span"), fill = document.createElement("span");
      bar.className = "bar";
      fill.style.width = (r.members ? Math.round(100 * done / r.members) : 0) + "%";
      bar.appendChild(fill);
      td.appendChild(bar);
      tb.appendChild(tr);
      shown++;
    }
    PF.$("dash-rollouts-none").hidden = shown > 0;
  }, function () { PF.fail(null); });
};
