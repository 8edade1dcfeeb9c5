/* bundles.js - the bundles page (#bundles): the stored bundles
 * (GET /v1/bundles) and an upload (POST /v1/bundles, the file as it is):
 * posfleetd verifies it with the agent's verifier (signature, key, kind,
 * targets, digests) and answers the bundle, or the verifier's refusal
 * ("[DIGEST] payload ..."), shown as the verdict. */
"use strict";
var PF = window.PF || {};
window.PF = PF;

PF.bundleCols = function () {
  return [
    { key: "bundle.id", value: function (b) { return b.id.substring(0, 16) + "…"; } },
    { key: "bundle.kind", value: function (b) { return PF.t("kind." + b.kind); } },
    { key: "bundle.version", value: function (b) { return b.version; } },
    { key: "bundle.models", value: function (b) { return (b.models || []).join(", ") || PF.t("bundle.any"); } },
    { key: "bundle.hw_revs", value: function (b) { return (b.hw_revs || []).join(", ") || PF.t("bundle.any"); } },
    { key: "bundle.size", value: function (b) { return b.size; } },
    { key: "bundle.expires", value: function (b) { return b.expires_s ? PF.when(b.expires_s * 1000) : PF.t("bundle.never"); } },
    { key: "bundle.uploaded", value: function (b) { return PF.when(b.uploaded_ms); } }
  ];
};

PF.bundles = function () {
  PF.show("bundles");
  PF.$("bundle-upload").hidden = !PF.hasRole(["ops", "admin"]);
  PF.api("GET", "/bundles").then(function (res) {
    if (res.status !== 200) return PF.fail(res);
    var list = (res.body.bundles || []).slice().sort(function (a, b) { return b.uploaded_ms - a.uploaded_ms; });
    PF.dtable("bundle-table", PF.bundleCols(), list);
  }, function () { PF.fail(null); });
};

/* The verdict: each field of a verified bundle, or the refusal. */
PF.bundleVerdict = function (res, file) {
  var box = PF.$("bundle-verdict"), dl = PF.$("bundle-verdict-fields");
  while (dl.firstChild) dl.removeChild(dl.firstChild);
  box.hidden = false;
  var ok = res && (res.status === 201 || res.status === 200);
  box.className = ok ? "verdict ok" : "verdict refused";
  PF.text("bundle-verdict-title", ok ? PF.t(res.status === 201 ? "bundle.accepted" : "bundle.known", { file: file })
    : PF.t("bundle.refused", { file: file }));
  var add = function (key, value) {
    var dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = PF.t(key);
    dd.textContent = value === null || value === undefined ? "" : String(value);
    dl.appendChild(dt);
    dl.appendChild(dd);
  };
  if (!ok) {
    add("bundle.reason", PF.why(res));
    return;
  }
  var b = res.body;
  add("bundle.signature", PF.t("bundle.sig_ok"));
  add("bundle.id", b.id);
  add("bundle.kind", PF.t("kind." + b.kind));
  add("bundle.version", b.version);
  add("bundle.models", (b.models || []).join(", ") || PF.t("bundle.any"));
  add("bundle.hw_revs", (b.hw_revs || []).join(", ") || PF.t("bundle.any"));
  add("bundle.size", b.size);
  add("bundle.manifest", b.manifest);
  add("bundle.created", b.created_s ? PF.when(b.created_s * 1000) : "");
  add("bundle.expires", b.expires_s ? PF.when(b.expires_s * 1000) : PF.t("bundle.never"));
};

PF.bundleUpload = function (ev) {
  ev.preventDefault();
  var f = PF.$("bundle-file").files[0];
  if (!f) return;
  PF.text("bundle-verdict-title", PF.t("bundle.verifying", { file: f.name }));
  PF.$("bundle-verdict").hidden = false;
  PF.$("bundle-verdict").className = "verdict";
  var dl = PF.$("bundle-verdict-fields");
  while (dl.firstChild) dl.removeChild(dl.firstChild);
  /* The file as it is (application/octet-stream), with the session's CSRF value. */
  fetch("/api/v1/bundles", {
    method: "POST", credentials: "same-origin", cache: "no-store", body: f,
    headers: { "Accept": "application/json", "Content-Type": "application/octet-stream", "X-CSRF-Token": PF.csrf() }
  }).then(function (r) {
    return r.text().then(function (text) {
      var body = null;
      try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
      return { status: r.status, body: body };
    });
  }).then(function (res) {
    if (res.status === 401) return PF.showLogin();
    PF.bundleVerdict(res, f.name);
    PF.bundles();
  }, function () { PF.bundleVerdict(null, f.name); });
};

PF.bundleStart = function () {
  PF.$("bundle-form").addEventListener("submit", PF.bundleUpload);
};

document.addEventListener("DOMContentLoaded", PF.bundleStart);
