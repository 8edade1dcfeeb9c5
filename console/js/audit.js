/* audit.js - the audit log (#audit): GET /v1/audit filtered by actor,
 * action, target and a time range (since, until), newest first, in pages
 * with the API's `before` cursor. Support and above (the route's role). */
"use strict";
var PF = window.PF || {};
window.PF = PF;

PF.au = { PAGE: 50, pages: [""], index: 0, seq: 0 };

/* The form's filters as query parameters. A datetime-local value is the
 * browser's local time: sent as ms since the epoch. */
PF.au.query = function () {
  var q = "", add = function (k, v) { if (v) q += "&" + k + "=" + encodeURIComponent(v); };
  add("actor", PF.$("audit-actor").value.trim());
  add("action", PF.$("audit-action").value.trim());
  add("target", PF.$("audit-target").value.trim());
  ["since", "until"].forEach(function (k) {
    var v = PF.$("audit-" + k).value;
    if (v) add(k, String(new Date(v).getTime()));
  });
  return q;
};

PF.au.load = function () {
  var before = PF.au.pages[PF.au.index], seq = ++PF.au.seq;
  var path = "/audit?limit=" + PF.au.PAGE + PF.au.query() + (before ? "&before=" + before : "");
  return PF.api("GET", path).then(function (res) {
    if (seq !== PF.au.seq) return;
    if (res.status !== 200) return PF.fail(res);
    PF.td.rows("audit-table", res.body.audit || [], function (a) {
      return [PF.when(a.ts_ms), a.actor, a.role, a.org, a.addr, a.action, a.target];
    });
    PF.au.pages.length = PF.au.index + 1;
    if (res.body.next !== null && res.body.next !== undefined) PF.au.pages.push(String(res.body.next));
    PF.$("audit-next").disabled = res.body.next === null || res.body.next === undefined;
    PF.$("audit-first").disabled = PF.au.index === 0;
    PF.text("audit-page", PF.t("page.n", { n: PF.au.index + 1 }));
  }, function () { PF.fail(null); });
};

PF.audit = function () {
  PF.show("audit");
  PF.au.pages = [""];
  PF.au.index = 0;
  PF.au.load();
};

document.addEventListener("DOMContentLoaded", function () {
  PF.$("audit-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    PF.au.pages = [""];
    PF.au.index = 0;
    PF.au.load();
  });
  PF.$("audit-next").addEventListener("click", function () { PF.au.index++; PF.au.load(); });
  PF.$("audit-first").addEventListener("click", function () { PF.au.index = 0; PF.au.load(); });
});
