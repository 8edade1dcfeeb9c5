/* rollouts.js - the rollouts list and creation (#rollouts) and one rollout
 * (#rollout/ID): the cohort preview (POST /v1/rollouts with dry_run), four
 * eyes (GET .../preview, POST .../approve with the preview's digest; the
 * creator cannot approve), stage bars, the failure histogram by code, the
 * actions by role, members by status in pages with retry/skip/cancel.
 * Live: the page follows GET /v1/events?rollout=ID (live.js) and refetches the
 * rollout when told it changed; while that stream is down it polls with
 * If-None-Match every PF.ro.POLL_MS, and posfleetd answers 304 (no body) while
 * nothing changed (docs/console.md, "Live"). */
"use strict";
var PF = window.PF || {};
window.PF = PF;

PF.ro = { POLL_MS: 2000, PAGE: 50, id: null, etag: "", timer: null, rec: null, mpages: [""], mindex: 0, preview: null };

PF.MEMBER_STATUSES = ["pending", "offered", "deferred", "downloading", "installing", "installed", "failed",
  "rolled_back", "timed_out", "skipped", "swapped", "revert_pending", "reverting", "reverted",
  "revert_failed", "already", "deferred_out"];
PF.FAILED = ["failed", "rolled_back", "timed_out", "revert_failed"];

PF.roDone = function (t) { return (t.installed || 0) + (t.already || 0); };
PF.roFailed = function (t) { var n = 0; for (var i = 0; i < PF.FAILED.length; i++) n += t[PF.FAILED[i]] || 0; return n; };

/* --- the list and the creation form --- */

PF.rollouts = function () {
  PF.show("rollouts");
  PF.roStop();
  var ops = PF.hasRole(["ops", "admin"]);
  PF.$("ro-create").hidden = !ops;
  PF.api("GET", "/rollouts").then(function (res) {
    if (res.status !== 200) return PF.fail(res);
    var list = (res.body.rollouts || []).slice().sort(function (a, b) { return b.id - a.id; });
    PF.dtable("ro-table", [
      { key: "ro.id", cell: function (td, r) {
        var a = document.createElement("a");
        a.href = "#rollout/" + r.id;
        a.textContent = String(r.id);
        td.appendChild(a);
      } },
      { key: "ro.name", value: function (r) { return r.name; } },
      { key: "ro.state", value: function (r) { return PF.t("rstate." + r.state); } },
      { key: "ro.bundle", value: function (r) { return PF.t("kind." + r.kind) + " " + r.version; } },
      { key: "ro.progress", value: function (r) { return PF.t("ro.done", { done: PF.roDone(r.totals || {}), members: r.members || 0 }); } },
      { key: "ro.creator", value: function (r) { return r.actor; } },
      { key: "ro.created", value: function (r) { return PF.when(r.created_ms); } }
    ], list);
  }, function () { PF.fail(null); });
  if (ops) PF.roBundles();
};

PF.roBundles = function () {
  PF.api("GET", "/bundles").then(function (res) {
    if (res.status !== 200) return;
    var sel = PF.$("rc-bundle"), keep = sel.value;
    while (sel.firstChild) sel.removeChild(sel.firstChild);
    var list = (res.body.bundles || []).slice().sort(function (a, b) { return b.uploaded_ms - a.uploaded_ms; });
    for (var i = 0; i < list.length; i++) {
      var o = document.createElement("option");
      o.value = list[i].id;
      o.textContent = PF.t("kind." + list[i].kind) + " " + list[i].version + " (" + list[i].id.substring(0, 12) + ")";
      sel.appendChild(o);
    }
    if (keep) sel.value = keep;
  });
};

PF.roList = function (s) {
  return s.split(/[,\s]+/).filter(function (x) { return x; });
};

/* The definition from the form (docs/rollouts.md's keys). */
PF.roDef = function () {
  var v = function (id) { return PF.$(id).value.trim(); };
  var d = { bundle: PF.$("rc-bundle").value, stages: [] };
  if (v("rc-name")) d.name = v("rc-name");
  var st = PF.roList(v("rc-stages"));
  for (var i = 0; i < st.length; i++) d.stages.push(/%$/.test(st[i]) ? st[i] : Number(st[i]));
  if (v("rc-soak") !== "") d.soak_s = Number(v("rc-soak"));
  if (v("rc-concurrency") !== "") d.max_concurrent = Number(v("rc-concurrency"));
  if (v("rc-window-start") && v("rc-window-end")) d.window = { start: v("rc-window-start"), end: v("rc-window-end") };
  var crit = {};
  if (v("rc-max-fail") !== "") crit.max_failure_rate = Number(v("rc-max-fail"));
  if (v("rc-min-sample") !== "") crit.min_sample = Number(v("rc-min-sample"));
  if (Object.keys(crit).length) d.criteria = crit;
  var cohort = {}, f = { models: "rc-models", merchants: "rc-merchants", serials: "rc-serials" };
  for (var k in f) if (v(f[k])) cohort[k] = PF.roList(v(f[k]));
  if (Object.keys(cohort).length) d.cohort = cohort;
  return d;
};

PF.roPreview = function () {
  PF.text("rc-msg", "");
  var d = PF.roDef();
  d.dry_run = true;
  PF.api("POST", "/rollouts", d).then(function (res) {
    if (res.status !== 200) { PF.text("rc-msg", PF.t("error.generic", { msg: PF.why(res) })); return; }
    PF.roShowPreview("rc-preview", res.body);
  }, function () { PF.fail(null); });
};

/* A preview (dry run or a stored rollout's): cohort, stages, dimensions, windows, digest. */
PF.roShowPreview = function (id, p) {
  var box = PF.$(id);
  while (box.firstChild) box.removeChild(box.firstChild);
  box.hidden = false;
  var line = function (key, vars, cls) {
    var el = document.createElement("p");
    el.textContent = PF.t(key, vars);
    if (cls) el.className = cls;
    box.appendChild(el);
    return el;
  };
  line("rc.cohort", { n: p.cohort, already: p.already || 0, not_targeted: p.not_targeted || 0 }, "cohort");
  if (p.error) line("rc.cannot", { why: p.error }, "error");
  if (p.refused) line("rc.refused", { why: p.refused }, "error");
  var t = document.createElement("table");
  t.className = "preview-stages";
  box.appendChild(t);
  PF.dtable(t.id = id + "-stages", [
    { key: "rc.stage", value: function (s) { return s.index + 1; } },
    { key: "rc.size", value: function (s) { return s.size; } },
    { key: "rc.members", value: function (s) { return s.members; } }
  ], p.stages || []);
  var by = p.by || {}, dims = ["model", "hw_rev", "region", "version", "tz"];
  for (var i = 0; i < dims.length; i++) {
    var counts = by[dims[i]] || {}, keys = Object.keys(counts).sort();
    if (!keys.length) continue;
    line("rc.by_" + dims[i], { list: keys.map(function (k) { return k + ": " + counts[k]; }).join(", ") });
  }
  var w = p.windows || [];
  for (i = 0; i < w.length; i++) {
    line(w[i].open_now ? "rc.window_open" : "rc.window_next", { tz: w[i].tz, n: w[i].terminals,
      at: w[i].next_open_ms ? PF.when(w[i].next_open_ms) : PF.t("rc.never") });
  }
  line("rc.digest", { digest: p.digest || "" }, "digest");
};

PF.roCreate = function (ev) {
  ev.preventDefault();
  PF.text("rc-msg", "");
  PF.api("POST", "/rollouts", PF.roDef()).then(function (res) {
    if (res.status !== 201) { PF.text("rc-msg", PF.t("error.generic", { msg: PF.why(res) })); return; }
    window.location.hash = "#rollout/" + res.body.id;
  }, function () { PF.fail(null); });
};

/* --- one rollout --- */

PF.roStop = function () {
  if (PF.ro.timer) window.clearTimeout(PF.ro.timer);
  PF.ro.timer = null;
  PF.live.stop(PF.ro.stream);
  PF.ro.stream = null;
  PF.ro.live = false;
};

PF.rollout = function (id) {
  PF.show("rollout");
  PF.roStop();
  if (PF.ro.id !== id) {
    PF.ro.id = id;
    PF.ro.rec = null;
    PF.ro.mpages = [""];
    PF.ro.mindex = 0;
    PF.$("rm-status").value = "";
    PF.$("ra-preview").hidden = true;
  }
  PF.ro.etag = "";
  PF.text("ra-msg", "");
  PF.roPoll();
  PF.ro.stream = PF.live.follow("rollout=" + encodeURIComponent(id), PF.ro.POLL_MS, function () {
    PF.ro.events = (PF.ro.events || 0) + 1;
    PF.roPoll();
  }, function () { /* the stream is down: poll until it is back */
    PF.ro.live = false;
    if (!PF.ro.timer) PF.ro.timer = window.setTimeout(PF.roPoll, PF.ro.POLL_MS);
  }, function () {
    PF.ro.live = true;
    if (PF.ro.timer) window.clearTimeout(PF.ro.timer);
    PF.ro.timer = null;
  });
};

/* The next poll, only while the event stream is down. */
PF.roAgain = function () {
  if (PF.ro.timer) window.clearTimeout(PF.ro.timer);
  PF.ro.timer = PF.ro.live ? null : window.setTimeout(PF.roPoll, PF.ro.POLL_MS);
};

/* One poll: the rollout if it changed (200 with its ETag), nothing if not (304). */
PF.roPoll = function () {
  var id = PF.ro.id;
  var headers = { "Accept": "application/json" };
  if (PF.ro.etag) headers["If-None-Match"] = PF.ro.etag;
  fetch("/api/v1/rollouts/" + encodeURIComponent(id), { credentials: "same-origin", cache: "no-store", headers: headers })
    .then(function (r) {
      if (r.status === 304) return { status: 304, body: null };
      var etag = r.headers.get("ETag") || "";
      return r.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        return { status: r.status, body: body, etag: etag };
      });
    }).then(function (res) {
      if (id !== PF.ro.id || window.location.hash !== "#rollout/" + id) return; /* left the page */
      PF.ro.polls = (PF.ro.polls || 0) + 1;
      if (res.status === 200) {
        PF.ro.etag = res.etag;
        PF.ro.changes = (PF.ro.changes || 0) + 1;
        PF.ro.rec = res.body;
        PF.roDraw(res.body);
        PF.roMembers();
      } else if (res.status !== 304) {
        return PF.fail(res);
      }
      PF.roAgain();
    }, function () {
      PF.fail(null);
      PF.roAgain();
    });
};

PF.bar = function (parent, parts, total) {
  var bar = document.createElement("span");
  bar.className = "bar stacked";
  for (var i = 0; i < parts.length; i++) {
    var fill = document.createElement("span");
    fill.className = parts[i].cls;
    fill.style.width = (total ? 100 * parts[i].n / total : 0) + "%";
    bar.appendChild(fill);
  }
  parent.appendChild(bar);
  return bar;
};

PF.roDraw = function (r) {
  PF.text("ra-title", PF.t("ra.title", { id: r.id, name: r.name || "" }));
  PF.text("ra-state", PF.t("rstate." + r.state));
  PF.$("ra-state").className = "state " + r.state;
  PF.text("ra-bundle", PF.t("kind." + r.kind) + " " + r.version + " (" + r.bundle.substring(0, 16) + "…)");
  PF.text("ra-creator", r.actor);
  var stop = r.pause || r.ended;
  PF.text("ra-reason", stop ? PF.t("ra.stop", { reason: stop.reason, detail: stop.detail || "", by: stop.by || "", at: PF.when(stop.at_ms) }) : "");
  PF.text("ra-waiting", r.waiting ? PF.t("ra.waiting", { why: r.waiting }) : "");
  PF.text("ra-totals", PF.t("ra.totals", { done: PF.roDone(r.totals || {}), failed: PF.roFailed(r.totals || {}), members: r.members || 0 }));

  /* stage bars: done, failed, in progress, of each stage's members */
  var sb = PF.$("ra-stages");
  while (sb.firstChild) sb.removeChild(sb.firstChild);
  var stages = r.stages || [];
  for (var i = 0; i < stages.length; i++) {
    var s = stages[i], c = s.counts || {}, row = document.createElement("div");
    row.className = "stage" + (i === r.stage ? " current" : "");
    var label = document.createElement("span");
    label.className = "label";
    label.textContent = PF.t("ra.stage", { n: i + 1, size: s.size });
    row.appendChild(label);
    var busy = (c.offered || 0) + (c.downloading || 0) + (c.installing || 0) + (c.deferred || 0);
    PF.bar(row, [{ cls: "done", n: PF.roDone(c) }, { cls: "failed", n: PF.roFailed(c) }, { cls: "busy", n: busy }], s.members);
    var txt = document.createElement("span");
    txt.className = "counts";
    txt.textContent = PF.t("ra.stage_counts", { done: PF.roDone(c), failed: PF.roFailed(c), busy: busy, members: s.members });
    row.appendChild(txt);
    sb.appendChild(row);
  }

  /* failure histogram by code */
  var f = (r.failures || []).slice().sort(function (a, b) { return b.n - a.n; }), max = 0;
  for (i = 0; i < f.length; i++) max = Math.max(max, f[i].n);
  PF.$("ra-failures-none").hidden = f.length > 0;
  PF.dtable("ra-failures", [
    { key: "ra.code", value: function (x) { return x.code || "-"; } },
    { key: "ra.fstatus", value: function (x) { return PF.t("mstat." + x.status); } },
    { key: "ra.count", value: function (x) { return x.n; } },
    { key: "ra.share", cell: function (td, x) { PF.bar(td, [{ cls: "failed", n: x.n }], max); } }
  ], f);

  PF.roButtons(r);
};

/* Which actions this user may take on the rollout in its state (the API decides anyway). */
PF.roButtons = function (r) {
  var box = PF.$("ra-actions"), ops = PF.hasRole(["ops", "admin"]);
  while (box.firstChild) box.removeChild(box.firstChild);
  var can = {
    pause: ["scheduled", "running", "gated"], resume: ["paused"], "continue": ["gated"],
    abort: ["scheduled", "running", "paused", "gated", "awaiting_approval"],
    rollback: ["running", "paused", "gated", "completed", "aborted"]
  };
  if (ops) {
    ["pause", "resume", "continue", "abort", "rollback"].forEach(function (a) {
      if (can[a].indexOf(r.state) >= 0) PF.button(box, "ra.act_" + a, function () { PF.roAction(a); }, "act-" + a);
    });
  }
  var ap = PF.$("ra-approval");
  ap.hidden = r.state !== "awaiting_approval";
  PF.$("ra-approve").hidden = true;
  if (r.state === "awaiting_approval") {
    var self = PF.me && PF.me.name === r.actor;
    var mayApprove = PF.hasRole(["approver"]) && !self;
    PF.text("ra-approval-note", self ? PF.t("ra.own", { creator: r.actor })
      : mayApprove ? PF.t("ra.approve_hint", { creator: r.actor }) : PF.t("ra.need_approver", { creator: r.actor }));
    PF.$("ra-approve").hidden = !mayApprove;
    PF.$("ra-preview-btn").hidden = false;
  }
};

PF.roAction = function (action) {
  var body = {};
  if (action === "pause" || action === "abort" || action === "rollback") {
    var reason = window.prompt(PF.t("ra.reason_for", { action: PF.t("ra.act_" + action) }), "");
    if (reason === null) return;
    if (reason.trim()) body.reason = reason.trim();
  }
  if (action === "rollback" && PF.ro.rec && PF.ro.rec.kind === "firmware") {
    var b = window.prompt(PF.t("ra.rollback_bundle"), "");
    if (b === null) return;
    body.bundle = b.trim();
  }
  PF.text("ra-msg", "");
  PF.api("POST", "/rollouts/" + PF.ro.id + "/" + action, body).then(function (res) {
    if (res.status !== 200) { PF.text("ra-msg", PF.t("error.generic", { msg: PF.why(res) })); return; }
    PF.text("ra-msg", PF.t("ra.acted", { action: PF.t("ra.act_" + action), state: PF.t("rstate." + res.body.state) }));
    PF.ro.rec = res.body;
    PF.roDraw(res.body);
    PF.roMembers();
  }, function () { PF.fail(null); });
};

/* Four eyes: the stored rollout's preview now, then the approval of its digest. */
PF.roShowStoredPreview = function () {
  return PF.api("GET", "/rollouts/" + PF.ro.id + "/preview").then(function (res) {
    if (res.status !== 200) { PF.text("ra-msg", PF.t("error.generic", { msg: PF.why(res) })); return null; }
    PF.roShowPreview("ra-preview", res.body);
    PF.ro.preview = res.body;
    return res.body;
  });
};

PF.roApprove = function () {
  PF.text("ra-msg", "");
  PF.roShowStoredPreview().then(function (p) {
    if (!p) return;
    return PF.api("POST", "/rollouts/" + PF.ro.id + "/approve", { digest: p.digest }).then(function (res) {
      if (res.status !== 200) { PF.text("ra-msg", PF.t("error.generic", { msg: PF.why(res) })); return; }
      PF.text("ra-msg", PF.t("ra.approved", { by: PF.me.name, creator: res.body.actor, state: PF.t("rstate." + res.body.state) }));
      PF.ro.rec = res.body;
      PF.roDraw(res.body);
    });
  }, function () { PF.fail(null); });
};

/* --- members by status, paged with the API's cursor --- */

PF.roMembers = function () {
  var st = PF.$("rm-status").value, after = PF.ro.mpages[PF.ro.mindex];
  var q = "/rollouts/" + PF.ro.id + "/members?limit=" + PF.ro.PAGE + (st ? "&status=" + encodeURIComponent(st) : "") +
    (after ? "&after=" + encodeURIComponent(after) : "");
  var seq = PF.ro.mseq = (PF.ro.mseq || 0) + 1, ops = PF.hasRole(["ops", "admin"]);
  PF.api("GET", q).then(function (res) {
    if (seq !== PF.ro.mseq) return;
    if (res.status !== 200) return PF.fail(res);
    var cols = [
      { key: "rm.serial", value: function (m) { return m.serial; } },
      { key: "rm.stage", value: function (m) { return m.stage + 1; } },
      { key: "rm.status", value: function (m) { return PF.t("mstat." + m.status); } },
      { key: "rm.code", value: function (m) { return m.code || ""; } },
      { key: "rm.attempts", value: function (m) { return m.attempts; } },
      { key: "rm.since", value: function (m) { return PF.when(m.since_ms); } }
    ];
    if (ops) cols.push({ key: "rm.actions", cell: PF.roMemberButtons });
    PF.dtable("rm-table", cols, res.body.members || []);
    PF.ro.mpages.length = PF.ro.mindex + 1;
    if (res.body.next) PF.ro.mpages.push(res.body.next);
    PF.$("rm-next").disabled = !res.body.next;
    PF.$("rm-first").disabled = PF.ro.mindex === 0;
    PF.text("rm-page", PF.t("page.n", { n: PF.ro.mindex + 1 }));
  }, function () { PF.fail(null); });
};

PF.roMemberButtons = function (td, m) {
  ["retry", "skip", "cancel"].forEach(function (a) {
    PF.button(td, "rm.act_" + a, function () {
      var reason = window.prompt(PF.t("rm.reason_for", { action: PF.t("rm.act_" + a), serial: m.serial }), "");
      if (reason === null) return;
      if (!reason.trim()) { PF.text("ra-msg", PF.t("rm.reason_needed")); return; }
      PF.api("POST", "/rollouts/" + PF.ro.id + "/members/" + encodeURIComponent(m.serial), { action: a, reason: reason.trim() })
        .then(function (res) {
          if (res.status !== 200) { PF.text("ra-msg", PF.t("error.generic", { msg: PF.why(res) })); return; }
          PF.text("ra-msg", PF.t("rm.acted", { serial: m.serial, status: PF.t("mstat." + res.body.status) }));
          PF.roMembers();
        }, function () { PF.fail(null); });
    }, "m-" + a);
  });
};

PF.roStart = function () {
  var sel = PF.$("rm-status");
  for (var i = 0; i < PF.MEMBER_STATUSES.length; i++) {
    var o = document.createElement("option");
    o.value = PF.MEMBER_STATUSES[i];
    o.setAttribute("data-i18n", "mstat." + PF.MEMBER_STATUSES[i]);
    sel.appendChild(o);
  }
  sel.addEventListener("change", function () { PF.ro.mpages = [""]; PF.ro.mindex = 0; PF.roMembers(); });
  PF.$("rm-next").addEventListener("click", function () { PF.ro.mindex++; PF.roMembers(); });
  PF.$("rm-first").addEventListener("click", function () { PF.ro.mindex = 0; PF.roMembers(); });
  PF.$("rc-form").addEventListener("submit", PF.roCreate);
  PF.$("rc-preview-btn").addEventListener("click", PF.roPreview);
  PF.$("ra-approve").addEventListener("click", PF.roApprove);
  PF.$("ra-preview-btn").addEventListener("click", function () { PF.roShowStoredPreview(); });
  window.addEventListener("hashchange", function () {
    if (window.location.hash.indexOf("#rollout/") !== 0) PF.roStop();
  });
};

document.addEventListener("DOMContentLoaded", PF.roStart);
