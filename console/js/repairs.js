/* repairs.js - the repairs page (#repairs, #repairs/ID): the list by state
 * (GET /v1/repairs), one repair (GET /v1/repairs/{id}) and, for support and
 * above, its next step in the repair flow: received -> diagnosed -> repaired
 * (POST /v1/repairs/{id}) and the close, returned_to_stock or scrapped
 * (POST /v1/repairs/{id}/close). The server decides what is allowed; the page
 * offers only the steps ahead of the current state. */
"use strict";
var PF = window.PF || {};
window.PF = PF;

PF.rp = { FLOW: ["open", "received", "diagnosed", "repaired"], CLOSE: ["returned_to_stock", "scrapped"], current: null };

PF.rp.stateName = function (s) { return PF.t("repairs.st." + s); };

PF.rp.list = function () {
  var state = PF.$("repairs-state").value;
  return PF.api("GET", "/repairs?limit=200&state=" + encodeURIComponent(state)).then(function (res) {
    if (res.status !== 200) return PF.fail(res);
    var tb = PF.clearBody("repairs-table"), list = res.body.repairs || [];
    for (var i = 0; i < list.length; i++) {
      var r = list[i], tr = document.createElement("tr"), a = document.createElement("a");
      a.href = "#repairs/" + r.id;
      a.textContent = String(r.id);
      PF.cell(tr, "").appendChild(a);
      var t = document.createElement("a");
      t.href = "#terminal/" + encodeURIComponent(r.serial);
      t.textContent = r.serial;
      PF.cell(tr, "").appendChild(t);
      PF.cell(tr, PF.rp.stateName(r.state));
      PF.cell(tr, r.source);
      PF.cell(tr, r.reason);
      PF.cell(tr, PF.when(r.opened_ms));
      tb.appendChild(tr);
    }
  }, function () { PF.fail(null); });
};

PF.rp.show = function (r) {
  PF.rp.current = r;
  PF.$("repair-detail").hidden = false;
  PF.text("rd-id", "#" + r.id);
  var tb = PF.clearBody("rd-kv");
  PF.td.kv(tb, "term.serial", r.serial);
  PF.td.kv(tb, "repairs.state", PF.rp.stateName(r.state));
  PF.td.kv(tb, "repairs.source", r.source);
  PF.td.kv(tb, "repairs.reason", r.reason);
  PF.td.kv(tb, "tdetail.merchant", r.merchant_id || "");
  PF.td.kv(tb, "repairs.replaced_by", r.replaced_by || "");
  PF.td.kv(tb, "repairs.faults", (r.fault_codes || []).join(", "));
  PF.td.kv(tb, "repairs.parts", (r.parts || []).join(", "));
  PF.td.kv(tb, "repairs.notes", r.notes || "");
  PF.td.kv(tb, "repairs.opened", PF.when(r.opened_ms));
  PF.td.kv(tb, "repairs.closed", PF.when(r.closed_ms));
  var sel = PF.$("rd-next");
  while (sel.firstChild) sel.removeChild(sel.firstChild);
  var at = PF.rp.FLOW.indexOf(r.state), steps = at < 0 ? [] : PF.rp.FLOW.slice(at + 1).concat(PF.rp.CLOSE);
  for (var i = 0; i < steps.length; i++) {
    var o = document.createElement("option");
    o.value = steps[i];
    o.textContent = PF.rp.stateName(steps[i]);
    sel.appendChild(o);
  }
  PF.$("rd-actions").hidden = !PF.canSupport() || steps.length === 0;
};

PF.rp.open = function (id) {
  return PF.api("GET", "/repairs/" + encodeURIComponent(id)).then(function (res) {
    if (res.status !== 200) return PF.fail(res);
    PF.rp.show(res.body);
  }, function () { PF.fail(null); });
};

PF.rp.apply = function () {
  var r = PF.rp.current, to = PF.$("rd-next").value, notes = PF.$("rd-notes").value.trim();
  if (!r || !to) return;
  var closing = PF.rp.CLOSE.indexOf(to) >= 0, body = closing ? { outcome: to } : { state: to };
  if (notes) body.notes = notes;
  PF.api("POST", "/repairs/" + r.id + (closing ? "/close" : ""), body).then(function (res) {
    if (res.status !== 200) return PF.td.say("rd-msg", res);
    PF.$("rd-notes").value = "";
    PF.text("rd-msg", PF.t("repairs.changed", { id: r.id, state: PF.rp.stateName(res.body.state) }));
    PF.rp.show(res.body);
    PF.rp.list();
  }, function () { PF.text("rd-msg", PF.t("error.network")); });
};

PF.repairs = function (id) {
  PF.show("repairs");
  PF.text("rd-msg", "");
  PF.$("repair-detail").hidden = true;
  PF.rp.list();
  if (id) PF.rp.open(id);
};

document.addEventListener("DOMContentLoaded", function () {
  PF.$("repairs-state").addEventListener("change", PF.rp.list);
  PF.$("rd-apply").addEventListener("click", PF.rp.apply);
});
