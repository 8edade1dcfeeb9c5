/* admin.js - organisations and users (#admin, admins only): the
 * organisations beneath the admin's (GET/POST /v1/orgs), their users
 * (GET/POST /v1/users), a user's role (POST /v1/users/{user}/role) and
 * disabling or enabling one (POST /v1/users/{user}/disable, /enable). The
 * API answers 403 to anyone else; the page is not even offered to them. */
"use strict";
var PF = window.PF || {};
window.PF = PF;

PF.ROLES = ["viewer", "support", "ops", "approver", "admin", "merchant"];

PF.admin = function () {
  PF.show("admin");
  if (!PF.hasRole(["admin"])) { PF.text("fail", PF.t("admin.only")); return; }
  PF.api("GET", "/orgs").then(function (res) {
    if (res.status !== 200) return PF.fail(res);
    var orgs = res.body.orgs || [], names = {};
    for (var i = 0; i < orgs.length; i++) names[orgs[i].id] = orgs[i].name;
    PF.dtable("org-table", [
      { key: "org.id", value: function (o) { return o.id; } },
      { key: "org.name", value: function (o) { return o.name; } },
      { key: "org.kind", value: function (o) { return PF.t("orgkind." + o.kind); } },
      { key: "org.parent", value: function (o) { return o.parent ? names[o.parent] || o.parent : ""; } }
    ], orgs);
    /* the organisations a new one or a new user may go under */
    ["ao-parent", "au-org"].forEach(function (id) {
      var sel = PF.$(id), keep = sel.value;
      while (sel.firstChild) sel.removeChild(sel.firstChild);
      for (var j = 0; j < orgs.length; j++) {
        var o = document.createElement("option");
        o.value = orgs[j].name;
        o.textContent = orgs[j].name;
        sel.appendChild(o);
      }
      if (keep) sel.value = keep;
    });
  }, function () { PF.fail(null); });
  PF.api("GET", "/users").then(function (res) {
    if (res.status !== 200) return PF.fail(res);
    PF.dtable("user-table", [
      { key: "user.name", value: function (u) { return u.name; } },
      { key: "user.role", value: function (u) { return PF.t("role." + u.role); } },
      { key: "user.org", value: function (u) { return u.org; } },
      { key: "user.merchant", value: function (u) { return u.merchant || ""; } },
      { key: "user.locked", value: function (u) { return u.locked_until_ms > Date.now() ? PF.when(u.locked_until_ms) : ""; } },
      { key: "user.state", value: function (u) { return u.disabled_ms ? PF.t("user.disabled", { at: PF.when(u.disabled_ms) }) : PF.t("user.enabled"); } },
      { key: "user.actions", cell: PF.adminUserActions }
    ], res.body.users || []);
  }, function () { PF.fail(null); });
};

/* A role picker and disable/enable for each user but oneself (the API refuses
 * those too); a merchant user keeps its role (the API says why otherwise). */
PF.adminUserActions = function (td, u) {
  if (PF.me && u.name === PF.me.name) return;
  if (u.role !== "merchant") {
    var sel = document.createElement("select");
    sel.className = "role";
    for (var i = 0; i < PF.ROLES.length; i++) {
      if (PF.ROLES[i] === "merchant") continue;
      var o = document.createElement("option");
      o.value = PF.ROLES[i];
      o.textContent = PF.t("role." + PF.ROLES[i]);
      sel.appendChild(o);
    }
    sel.value = u.role;
    td.appendChild(sel);
    PF.button(td, "user.set_role", function () {
      PF.adminUserAct(u.name, "role", { role: sel.value }, "user.role_changed");
    }, "set-role");
  }
  if (u.disabled_ms) PF.button(td, "user.enable", function () { PF.adminUserAct(u.name, "enable", {}, "user.enabled_msg"); }, "enable");
  else PF.button(td, "user.disable", function () {
    if (window.confirm(PF.t("user.disable_confirm", { name: u.name }))) PF.adminUserAct(u.name, "disable", {}, "user.disabled_msg");
  }, "disable");
};

PF.adminUserAct = function (name, action, body, msgKey) {
  PF.text("admin-msg", "");
  PF.api("POST", "/users/" + encodeURIComponent(name) + "/" + action, body).then(function (res) {
    if (res.status !== 200) { PF.text("admin-msg", PF.t("error.generic", { msg: PF.why(res) })); return; }
    PF.text("admin-msg", PF.t(msgKey, { name: res.body.name, role: PF.t("role." + res.body.role) }));
    PF.admin();
  }, function () { PF.fail(null); });
};

PF.adminOrg = function (ev) {
  ev.preventDefault();
  PF.text("admin-msg", "");
  var body = { name: PF.$("ao-name").value.trim(), parent: PF.$("ao-parent").value };
  PF.api("POST", "/orgs", body).then(function (res) {
    if (res.status !== 201) { PF.text("admin-msg", PF.t("error.generic", { msg: PF.why(res) })); return; }
    PF.text("admin-msg", PF.t("org.created", { name: res.body.name }));
    PF.$("ao-name").value = "";
    PF.admin();
  }, function () { PF.fail(null); });
};

PF.adminUser = function (ev) {
  ev.preventDefault();
  PF.text("admin-msg", "");
  var role = PF.$("au-role").value;
  var body = { name: PF.$("au-name").value.trim(), role: role, org: PF.$("au-org").value, password: PF.$("au-password").value };
  if (role === "merchant") body.merchant = PF.$("au-merchant").value.trim();
  PF.api("POST", "/users", body).then(function (res) {
    PF.$("au-password").value = "";
    if (res.status !== 201) { PF.text("admin-msg", PF.t("error.generic", { msg: PF.why(res) })); return; }
    PF.text("admin-msg", PF.t("user.created", { name: body.name, role: PF.t("role." + role) }));
    PF.$("au-name").value = "";
    PF.admin();
  }, function () { PF.fail(null); });
};

PF.adminStart = function () {
  var sel = PF.$("au-role");
  for (var i = 0; i < PF.ROLES.length; i++) {
    var o = document.createElement("option");
    o.value = PF.ROLES[i];
    o.setAttribute("data-i18n", "role." + PF.ROLES[i]);
    sel.appendChild(o);
  }
  var merch = function () { PF.$("au-merchant-label").hidden = sel.value !== "merchant"; };
  sel.addEventListener("change", merch);
  merch();
  PF.$("admin-org-form").addEventListener("submit", PF.adminOrg);
  PF.$("admin-user-form").addEventListener("submit", PF.adminUser);
};

document.addEventListener("DOMContentLoaded", PF.adminStart);
