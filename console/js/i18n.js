/* i18n.js - every text of the console from a catalogue (i18n/LANG.json).
 * The language is the one chosen before (localStorage), else the browser's
 * (navigator.languages), else English. Texts are set with textContent only. */
"use strict";
var PF = window.PF || {};
window.PF = PF;

PF.langs = ["en", "zh-CN"];
PF.catalogue = {};
PF.lang = "en";

PF.pickLang = function () {
  var saved = null;
  try { saved = window.localStorage.getItem("pf.lang"); } catch (e) { saved = null; }
  if (saved && PF.langs.indexOf(saved) >= 0) return saved;
  var wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
  for (var i = 0; i < wanted.length; i++) {
    var l = String(wanted[i]).toLowerCase();
    if (l.indexOf("zh") === 0) return "zh-CN";
    if (l.indexOf("en") === 0) return "en";
  }
  return "en";
};

/* The text of key with {name} filled from vars; the key itself when missing. */
PF.t = function (key, vars) {
  var s = Object.prototype.hasOwnProperty.call(PF.catalogue, key) ? PF.catalogue[key] : key;
  if (vars) {
    s = s.replace(/\{([a-z_]+)\}/g, function (m, name) {
      return Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : m;
    });
  }
  return s;
};

PF.applyTexts = function () {
  var els = document.querySelectorAll("[data-i18n]");
  for (var i = 0; i < els.length; i++) els[i].textContent = PF.t(els[i].getAttribute("data-i18n"));
  document.title = PF.t("app.title");
  document.documentElement.setAttribute("lang", PF.lang);
};

PF.setLang = function (lang, remember) {
  return fetch("/i18n/" + lang + ".json", { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) throw new Error("catalogue " + lang); return r.json(); })
    .then(function (cat) {
      PF.catalogue = cat;
      PF.lang = lang;
      if (remember) {
        try { window.localStorage.setItem("pf.lang", lang); } catch (e) { /* private mode */ }
      }
      PF.applyTexts();
    });
};
