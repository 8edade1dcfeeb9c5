/* merchants.js - the merchants page (#merchants): search, onboarding with the
 * credit code checked as it is typed (GB 32100-2015, as the server checks it
 * in server/lifecycle/merchant.c), review (approve, reject with a reason),
 * binding terminals. Calls /v1/merchants..., /v1/devices/{serial}/bind. */
"use strict";
var PF = window.PF || {};
window.PF = PF;

PF.merch = { pages: [""], index: 0, PAGE: 50 };

/* GB 32100-2015: the 31 characters (value = index) and the weights of the first 17. */
PF.USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY";
PF.USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/* null when code is a valid unified social credit code, else {key, vars}: why not. */
PF.usccWhy = function (code) {
  if (code.length !== 18) return { key: "merch.uscc_len", vars: { n: code.length } };
  for (var i = 0; i < 18; i++) {
    if (PF.USCC_CHARS.indexOf(code.charAt(i)) < 0) return { key: "merch.uscc_char", vars: { pos: i + 1, c: code.charAt(i) } };
  }
  if (!/^[0-9]{6}$/.test(code.substring(2, 8))) return { key: "merch.uscc_region", vars: {} };
  var sum = 0;
  for (i = 0; i < 17; i++) sum += PF.USCC_CHARS.indexOf(code.charAt(i)) * PF.USCC_WEIGHTS[i];
  var want = PF.USCC_CHARS.charAt((31 - sum % 31) % 31);
  if (code.charAt(17) !== want) return { key: "merch.uscc_check", vars: { got: code.charAt(17), want: want } };
  return null;
};

PF.usccInput = function () {
  var v = PF.$("mo-uscc").value.trim().toUpperCase(), msg = PF.$("mo-uscc-why");
  if (!v) { msg.textContent = ""; msg.className = "note"; return true; }
  var why = PF.usccWhy(v);
  msg.textContent = why ? PF.t(why.key, why.vars) : PF.t("merch.uscc_ok");
  msg.className = why ? "error" : "ok";
  return !why;
};

PF.merchQuery = function () {
  var q = "/merchants?limit=" + PF.merch.PAGE, name = PF.$("ms-name").value.trim(), st = PF.$("ms-status").value;
  var after = PF.merch.pages[PF.merch.index];
  if (name) q += "&name=" + encodeURIComponent(name);
  if (st) q += "&status=" + encodeURIComponent(st);
  if (after) q += "&after=" + encodeURIComponent(after);
  return q;
};

PF.merchants = function () {
  PF.show("merchants");
  var ops = PF.hasRole(["ops", "admin"]);
  PF.$("merch-onboard").hidden = !ops;
  PF.$("merch-bind").hidden = !ops;
  var seq = PF.merch.seq = (PF.merch.seq || 0) + 1;
  PF.api("GET", PF.merchQuery()).then(function (res) {
    if (seq !== PF.merch.seq) return;
    if (res.status !== 200) return PF.fail(res);
    var cols = [
      { key: "merch.id", value: function (m) { return m.id; } },
      { key: "merch.name", value: function (m) { return m.name; } },
      { key: "merch.uscc", value: function (m) { return m.uscc; } },
      { key: "merch.mcc", value: function (m) { return m.mcc; } },
      { key: "merch.tz", value: function (m) { return m.tz; } },
      { key: "merch.status", value: function (m) { return PF.t("mstatus." + m.status); } }
    ];
    if (ops) cols.push({ key: "merch.actions", cell: PF.merchActions });
    PF.dtable("merch-table", cols, res.body.merchants || []);
    PF.merch.pages.length = PF.merch.index + 1;
    if (res.body.next) PF.merch.pages.push(res.body.next);
    PF.$("merch-next").disabled = !res.body.next;
    PF.$("merch-first").disabled = PF.merch.index === 0;
    PF.text("merch-page", PF.t("page.n", { n: PF.merch.index + 1 }));
  }, function () { PF.fail(null); });
};

/* Review buttons by status (the API refuses the rest with 409 anyway). */
PF.merchActions = function (td, m) {
  if (m.status === "applied") {
    PF.button(td, "merch.approve", function () { PF.merchAct(m.id, "approve", {}); }, "approve");
    PF.button(td, "merch.reject", function () {
      var reason = window.prompt(PF.t("merch.reject_reason", { name: m.name }), "");
      if (reason === null) return;
      if (!reason.trim()) { PF.text("merch-msg", PF.t("merch.reason_needed")); return; }
      PF.merchAct(m.id, "reject", { reason: reason.trim() });
    }, "reject");
  } else if (m.status === "approved") {
    PF.button(td, "merch.activate", function () { PF.merchAct(m.id, "activate", {}); }, "activate");
  }
};

PF.merchAct = function (id, action, body) {
  PF.text("merch-msg", "");
  PF.api("POST", "/merchants/" + encodeURIComponent(id) + "/" + action, body).then(function (res) {
    if (res.status !== 200) { PF.text("merch-msg", PF.t("error.generic", { msg: PF.why(res) })); return; }
    PF.text("merch-msg", PF.t("merch.done_" + action, { name: res.body.name, status: PF.t("mstatus." + res.body.status) }));
    PF.merchants();
  }, function () { PF.fail(null); });
};

PF.merchOnboard = function (ev) {
  ev.preventDefault();
  PF.text("merch-msg", "");
  if (!PF.usccInput()) { PF.$("mo-uscc").focus(); return; }
  var v = function (id) { return PF.$(id).value.trim(); };
  var body = {
    id: v("mo-id"), name: v("mo-name"), uscc: v("mo-uscc").toUpperCase(), mcc: v("mo-mcc"),
    address: v("mo-address"), contact_name: v("mo-contact"), contact_phone: v("mo-phone"),
    tz: v("mo-tz"), settlement: PF.$("mo-settlement").value
  };
  if (v("mo-region")) body.region = v("mo-region");
  var fees = v("mo-fees");
  if (fees) body.fee_plan = fees.split(/[,\s]+/).filter(function (s) { return s; });
  PF.api("POST", "/merchants", body).then(function (res) {
    if (res.status !== 201) { PF.text("merch-msg", PF.t("error.generic", { msg: PF.why(res) })); return; }
    PF.text("merch-msg", PF.t("merch.created", { name: res.body.name, id: res.body.id }));
    PF.$("merch-form").reset();
    PF.usccInput();
    PF.merchants();
  }, function () { PF.fail(null); });
};

PF.merchBind = function (ev) {
  ev.preventDefault();
  PF.text("merch-msg", "");
  var serial = PF.$("mb-serial").value.trim(), merchant = PF.$("mb-merchant").value.trim();
  PF.api("POST", "/devices/" + encodeURIComponent(serial) + "/bind", { merchant_id: merchant }).then(function (res) {
    if (res.status !== 200) { PF.text("merch-msg", PF.t("error.generic", { msg: PF.why(res) })); return; }
    PF.text("merch-msg", PF.t("merch.bound", { serial: serial, merchant: merchant }));
    PF.$("mb-serial").value = "";
  }, function () { PF.fail(null); });
};

PF.merchStart = function () {
  PF.$("mo-uscc").addEventListener("input", PF.usccInput);
  PF.$("merch-form").addEventListener("submit", PF.merchOnboard);
  PF.$("merch-bind-form").addEventListener("submit", PF.merchBind);
  PF.$("merch-search").addEventListener("submit", function (ev) {
    ev.preventDefault(); PF.merch.pages = [""]; PF.merch.index = 0; PF.merchants();
  });
  PF.$("merch-next").addEventListener("click", function () { PF.merch.index++; PF.merchants(); });
  PF.$("merch-first").addEventListener("click", function () { PF.merch.index = 0; PF.merchants(); });
};

document.addEventListener("DOMContentLoaded", PF.merchStart);
