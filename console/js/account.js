/* account.js - the account page (#account): change one's password
 * (POST /v1/me/password: every other session of the user ends), and API
 * tokens: create (POST /v1/tokens; the secret is shown once, here, and never
 * again), list (GET /v1/tokens) and revoke (POST /v1/tokens/{id}/revoke). */
"use strict";
var PF = window.PF || {};
window.PF = PF;

PF.ac = {};

PF.ac.tokens = function () {
  return PF.api("GET", "/tokens").then(function (res) {
    if (res.status !== 200) return PF.fail(res);
    var tb = PF.clearBody("tok-table"), list = res.body.tokens || [];
    for (var i = 0; i < list.length; i++) {
      var t = list[i], tr = document.createElement("tr");
      PF.cell(tr, t.id);
      PF.cell(tr, t.name);
      PF.cell(tr, t.user);
      PF.cell(tr, PF.when(t.created_ms));
      PF.cell(tr, PF.when(t.expires_ms));
      PF.cell(tr, PF.t(t.revoked_ms ? "account.revoked" : t.expires_ms < Date.now() ? "account.expired" : "account.active"));
      var td = PF.cell(tr, "");
      if (!t.revoked_ms) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "tok-revoke";
        b.setAttribute("data-id", String(t.id));
        b.textContent = PF.t("account.revoke");
        b.addEventListener("click", PF.ac.revoke);
        td.appendChild(b);
      }
      tb.appendChild(tr);
    }
  }, function () { PF.fail(null); });
};

PF.ac.revoke = function (ev) {
  var id = ev.currentTarget.getAttribute("data-id");
  PF.api("POST", "/tokens/" + encodeURIComponent(id) + "/revoke", {}).then(function (res) {
    if (res.status !== 200) return PF.fail(res);
    PF.ac.tokens();
  }, function () { PF.fail(null); });
};

PF.ac.create = function (ev) {
  ev.preventDefault();
  var days = parseInt(PF.$("tok-days").value, 10), body = { name: PF.$("tok-name").value.trim() };
  if (days > 0) body.expires_days = days;
  PF.api("POST", "/tokens", body).then(function (res) {
    if (res.status !== 201) return PF.fail(res);
    PF.$("tok-name").value = "";
    PF.text("tok-secret", res.body.token);
    PF.$("tok-new").hidden = false;
    PF.ac.tokens();
  }, function () { PF.fail(null); });
};

PF.ac.password = function (ev) {
  ev.preventDefault();
  var cur = PF.$("pw-current"), nw = PF.$("pw-new");
  PF.api("POST", "/me/password", { current: cur.value, new: nw.value }).then(function (res) {
    cur.value = "";
    nw.value = "";
    if (res.status === 200) PF.text("pw-msg", PF.t("account.changed"));
    else if (res.status === 403) PF.text("pw-msg", PF.t("account.wrong_current"));
    else PF.text("pw-msg", PF.t("error.generic", { msg: res.body && res.body.message ? res.body.message : "HTTP " + res.status }));
  }, function () { PF.text("pw-msg", PF.t("error.network")); });
};

PF.account = function () {
  PF.show("account");
  PF.text("pw-msg", "");
  PF.text("tok-secret", "");
  PF.$("tok-new").hidden = true;
  PF.ac.tokens();
};

document.addEventListener("DOMContentLoaded", function () {
  PF.$("pw-form").addEventListener("submit", PF.ac.password);
  PF.$("tok-form").addEventListener("submit", PF.ac.create);
});
