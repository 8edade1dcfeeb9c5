/* termfilter.js - the terminals list's search: the filters GET /v1/devices
 * offers (docs/server.md), kept in the URL's fragment
 * ("#terminals?status=online&model=A920&after=PF000050&page=2") so a reload
 * or a shared link shows the same list, and the same filters for the CSV
 * export (PF.term.query()). The list itself is drawn by console.js. */
"use strict";

/* The API's filters, each a form field "tf-NAME" (select or text input). */
PF.term.FILTERS = ["status", "state", "lock", "alert", "model", "fw", "fee", "merchant",
  "merchant_name", "region", "tag"];
PF.term.filters = {};

/* The fragment's search: {filters: {name: value}, after: SERIAL or "", page: n}. */
PF.term.parse = function (hash) {
  var out = { filters: {}, after: "", page: 1 }, i = hash.indexOf("?");
  if (i < 0) return out;
  var p = new URLSearchParams(hash.slice(i + 1));
  PF.term.FILTERS.forEach(function (k) {
    var v = p.get(k);
    if (v) out.filters[k] = v;
  });
  out.after = p.get("after") || "";
  var n = parseInt(p.get("page") || "1", 10);
  out.page = out.after && n > 1 ? n : (out.after ? 2 : 1);
  return out;
};

/* The fragment for a search and a page. */
PF.term.hash = function (filters, after, page) {
  var p = new URLSearchParams();
  PF.term.FILTERS.forEach(function (k) { if (filters[k]) p.append(k, filters[k]); });
  if (after) { p.append("after", after); p.append("page", String(page)); }
  var q = p.toString();
  return "#terminals" + (q ? "?" + q : "");
};

/* The list's filters as query parameters ("&k=v..."), for the list and the CSV export. */
PF.term.query = function () {
  var p = new URLSearchParams();
  PF.term.FILTERS.forEach(function (k) { if (PF.term.filters[k]) p.append(k, PF.term.filters[k]); });
  var q = p.toString();
  return q ? "&" + q : "";
};

/* Takes the fragment's search into the form and PF.term (pages, index) before the
 * list is asked; a new search starts at its first page. */
PF.term.fromHash = function () {
  var s = PF.term.parse(window.location.hash), key = PF.term.hash(s.filters, "", 1);
  if (key !== PF.term.key) { PF.term.key = key; PF.term.pages = [""]; PF.term.index = 0; }
  PF.term.filters = s.filters;
  PF.term.FILTERS.forEach(function (k) { PF.$("tf-" + k).value = s.filters[k] || ""; });
  if (s.after) {
    var at = PF.term.pages.indexOf(s.after);
    if (at < 0) { /* a reload or a shared link: the pages before it are not known */
      PF.term.pages = [""];
      for (var i = 1; i < s.page - 1; i++) PF.term.pages.push(null);
      PF.term.pages.push(s.after);
      at = PF.term.pages.length - 1;
    }
    PF.term.index = at;
  } else {
    PF.term.index = 0;
  }
  var names = Object.keys(s.filters).map(function (k) {
    return PF.t("tfilter." + k) + " = " + s.filters[k];
  });
  PF.text("tf-summary", names.length ? PF.t("tfilter.active", { list: names.join(" · ") }) : "");
};

/* Shows a search: through the fragment, so the list follows it and the link keeps it. */
PF.term.go = function (filters, after, page) {
  var h = PF.term.hash(filters, after, page);
  if (window.location.hash === h) PF.terminals(); /* no hashchange for the same fragment */
  else window.location.hash = h;
};

PF.term.submit = function (ev) {
  ev.preventDefault();
  var f = {};
  PF.term.FILTERS.forEach(function (k) {
    var v = PF.$("tf-" + k).value.trim();
    if (v) f[k] = v;
  });
  PF.term.go(f, "", 1);
};

document.addEventListener("DOMContentLoaded", function () {
  PF.$("tf-form").addEventListener("submit", PF.term.submit);
  PF.$("tf-clear").addEventListener("click", function () { PF.term.go({}, "", 1); });
});
