/* console.js - the back office's frame, login and terminals list; the
 * dashboard is dashboard.js.
 * Whatever a terminal sent or a person typed is put in the page with
 * textContent (PF.cell, PF.text), never as HTML. */
"use strict";
var PF = window.PF || {};
window.PF = PF;

PF.PAGE = 50; /* terminals per page */
PF.me = null;
PF.term = { pages: [""], index: 0 };

PF.$ = function (id) { return document.getElementById(id); };

PF.text = function (id, s) { PF.$(id).textContent = s; };

PF.cell = function (row, s) {
  var td = document.createElement("td");
  td.textContent = s === null || s === undefined ? "" : String(s);
  row.appendChild(td);
  return td;
};

PF.clearBody = function (tableId) {
  var tb = PF.$(tableId).tBodies[0];
  while (tb.firstChild) tb.removeChild(tb.firstChild);
  return tb;
};

PF.fail = function (res) {
  if (res && res.status === 401) { PF.showLogin(); return; }
  var msg = res && res.body && res.body.message ? res.body.message : (res ? "HTTP " + res.status : "");
  PF.text("fail", res ? PF.t("error.generic", { msg: msg }) : PF.t("error.network"));
};

PF.show = function (name) {
  var pages = document.querySelectorAll(".page");
  for (var i = 0; i < pages.length; i++) pages[i].hidden = pages[i].id !== "page-" + name;
  var logged = name !== "login";
  PF.$("nav").hidden = !logged;
  PF.$("logout").hidden = !logged;
  PF.text("fail", "");
};

PF.showLogin = function () {
  PF.me = null;
  PF.setCsrf("");
  PF.text("who", "");
  PF.show("login");
};

PF.showWho = function () {
  if (!PF.me) return;
  PF.text("who", PF.t("login.who", { name: PF.me.name, role: PF.me.role, org: PF.me.org || "" }));
};

PF.login = function (ev) {
  ev.preventDefault();
  var user = PF.$("login-user").value, password = PF.$("login-password").value;
  PF.text("login-error", "");
  PF.api("POST", "/login", { user: user, password: password }).then(function (res) {
    PF.$("login-password").value = "";
    if (res.status !== 200 || !res.body) {
      PF.text("login-error", PF.t(res.status === 429 ? "login.locked" : "login.failed"));
      return;
    }
    PF.setCsrf(res.body.csrf);
    PF.me = res.body.user;
    PF.showWho();
    /* A link opened before logging in (a shared search) is shown once logged in. */
    var want = PF.wanted || "#dashboard";
    PF.wanted = "";
    if (window.location.hash === want) PF.route();
    else window.location.hash = want;
  }, function () { PF.text("login-error", PF.t("error.network")); });
};

PF.logout = function () {
  PF.api("POST", "/logout", {}).then(function () { PF.showLogin(); }, function () { PF.showLogin(); });
};

/* Merchant names by id (the first 1000 merchants in scope): the list shows names. */
PF.merchantNames = function () {
  return PF.api("GET", "/merchants?limit=1000").then(function (res) {
    var names = {}, list = res.status === 200 && res.body ? res.body.merchants || [] : [];
    for (var i = 0; i < list.length; i++) names[list[i].id] = list[i].name;
    return names;
  });
};

PF.terminals = function () {
  PF.show("terminals");
  PF.term.fromHash(); /* the search and page the fragment names (termfilter.js) */
  var after = PF.term.pages[PF.term.index], names = {};
  var seq = PF.term.seq = (PF.term.seq || 0) + 1; /* only the newest request draws */
  var q = "/devices?limit=" + PF.PAGE + PF.term.query() + (after ? "&after=" + encodeURIComponent(after) : "");
  PF.merchantNames().then(function (n) { names = n; return PF.api("GET", q); }).then(function (res) {
    if (seq !== PF.term.seq) return;
    if (res.status !== 200) return PF.fail(res);
    var tb = PF.clearBody("term-table"), list = res.body.devices || [];
    for (var i = 0; i < list.length; i++) {
      var d = list[i], tr = document.createElement("tr");
      var link = document.createElement("a"); /* the terminal's page (terminal.js) */
      link.href = "#terminal/" + encodeURIComponent(d.serial);
      link.textContent = d.serial;
      PF.cell(tr, "").appendChild(link);
      PF.cell(tr, d.model);
      PF.cell(tr, d.merchant_id ? names[d.merchant_id] || d.merchant_id : "");
      PF.cell(tr, PF.t(d.last_seen_ms === null ? "term.never" : d.online ? "term.is_online" : "term.is_offline"));
      PF.cell(tr, d.fw_version);
      PF.cell(tr, d.fee_version);
      PF.cell(tr, (d.alerts || []).map(function (k) { return PF.t("alert." + k); }).join(", "));
      tb.appendChild(tr);
    }
    PF.term.pages.length = PF.term.index + 1;
    if (res.body.next) PF.term.pages.push(res.body.next);
    PF.$("term-next").disabled = !res.body.next;
    PF.$("term-first").disabled = PF.term.index === 0;
    PF.text("term-page", PF.t("page.n", { n: PF.term.index + 1 }));
    PF.markPainted("terminals");
  }, function () { PF.fail(null); });
};

PF.route = function () {
  if (!PF.me) return PF.showLogin();
  var h = window.location.hash;
  PF.$("nav-admin").hidden = PF.me.role !== "admin";
  if (h === "#terminals" || h.indexOf("#terminals?") === 0) return PF.terminals();
  if (h === "#merchants") return PF.merchants();
  if (h === "#bundles") return PF.bundles();
  if (h === "#rollouts") return PF.rollouts();
  if (/^#rollout\/[0-9]+$/.test(h)) return PF.rollout(h.substring(9));
  if (h === "#admin") return PF.admin();
  if (h.indexOf("#terminal/") === 0) return PF.terminal(decodeURIComponent(h.slice(10)));
  if (h === "#repairs" || h.indexOf("#repairs/") === 0) return PF.repairs(h.slice(9));
  if (h === "#audit") return PF.audit();
  if (h === "#account") return PF.account();
  return PF.dashboard();
};

PF.start = function () {
  var sel = PF.$("lang");
  PF.$("login-form").addEventListener("submit", PF.login);
  PF.$("logout").addEventListener("click", PF.logout);
  PF.$("term-next").addEventListener("click", function () {
    PF.term.go(PF.term.filters, PF.term.pages[PF.term.index + 1], PF.term.index + 2);
  });
  PF.$("term-first").addEventListener("click", function () { PF.term.go(PF.term.filters, "", 1); });
  sel.addEventListener("change", function () {
    PF.setLang(sel.value, true).then(function () { PF.showWho(); if (PF.me) PF.route(); });
  });
  window.addEventListener("hashchange", PF.route);
  PF.setLang(PF.pickLang(), false).then(function () {
    sel.value = PF.lang;
    /* A session still open in this tab (cookie and CSRF value) goes on. */
    /* The page the address names, shown after a login if one is needed. */
    PF.wanted = window.location.hash.length > 1 ? window.location.hash : "";
    if (!PF.csrf()) return PF.showLogin();
    PF.api("GET", "/me").then(function (res) {
      if (res.status !== 200) return PF.showLogin();
      PF.wanted = "";
      PF.me = res.body;
      PF.showWho();
      PF.route();
    }, function () { PF.showLogin(); });
  }, function () { PF.text("fail", "catalogue unavailable"); });
};

document.addEventListener("DOMContentLoaded", PF.start);
