/* api.js - the console's one way to the API (/api/v1/...): the session cookie
 * goes by itself (HttpOnly: never seen here); unsafe methods carry the
 * session's CSRF value from the login answer in X-CSRF-Token. */
"use strict";
var PF = window.PF || {};
window.PF = PF;

PF.csrf = function () {
  try { return window.sessionStorage.getItem("pf.csrf") || ""; } catch (e) { return ""; }
};

PF.setCsrf = function (v) {
  try {
    if (v) window.sessionStorage.setItem("pf.csrf", v);
    else window.sessionStorage.removeItem("pf.csrf");
  } catch (e) { /* nothing to keep */ }
};

/* Resolves to {status, body} (body parsed JSON or null); rejects on network failure. */
PF.api = function (method, path, body) {
  var headers = { "Accept": "application/json" };
  var init = { method: method, credentials: "same-origin", headers: headers, cache: "no-store" };
  if (method !== "GET" && method !== "HEAD") {
    headers["X-CSRF-Token"] = PF.csrf();
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body || {});
  }
  return fetch("/api/v1" + path, init).then(function (r) {
    return r.text().then(function (text) {
      var parsed = null;
      try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = null; }
      return { status: r.status, body: parsed };
    });
  });
};
