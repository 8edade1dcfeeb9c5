/* dtable.js - tables of the merchants, bundles, rollouts and admin pages with
 * jquery-datatables (Debian's libjs-jquery-datatables). Every cell is text:
 * a column's value goes through DataTables' text renderer (escaped), and
 * cells with buttons are built with DOM calls (PF.button), never HTML. */
"use strict";
var PF = window.PF || {};
window.PF = PF;

/* cols: [{key: i18n key of the header, value: function (row) -> text,
 * cell: optional function (td, row) filling the cell with elements}].
 * Draws rows into table id (replacing what it held); opts are DataTables
 * options (paging, searching, ordering: off unless given). */
PF.dtable = function (id, cols, rows, opts) {
  var $ = window.jQuery, el = PF.$(id);
  if ($.fn.dataTable.isDataTable(el)) $(el).DataTable().destroy();
  while (el.firstChild) el.removeChild(el.firstChild);
  var columns = cols.map(function (c) {
    var col = {
      title: "",
      data: function (row) { var v = c.value ? c.value(row) : ""; return v === null || v === undefined ? "" : String(v); },
      render: $.fn.dataTable.render.text(),
      orderable: !c.cell
    };
    if (c.cell) col.createdCell = function (td, v, row) { while (td.firstChild) td.removeChild(td.firstChild); c.cell(td, row); };
    return col;
  });
  var o = { data: rows, columns: columns, paging: false, searching: false, ordering: false, info: false,
            autoWidth: false, language: { emptyTable: PF.t("dt.empty"), zeroRecords: PF.t("dt.empty"),
            search: PF.t("dt.search"), info: PF.t("dt.info"), infoEmpty: "", infoFiltered: "",
            paginate: { next: PF.t("page.next"), previous: PF.t("dt.previous"), first: PF.t("page.first"), last: PF.t("dt.last") } } };
  for (var k in opts || {}) if (Object.prototype.hasOwnProperty.call(opts, k)) o[k] = opts[k];
  var dt = $(el).DataTable(o);
  /* Headers from the catalogue, as text. */
  var ths = el.tHead ? el.tHead.rows[0].cells : [];
  for (var i = 0; i < ths.length && i < cols.length; i++) ths[i].textContent = PF.t(cols[i].key);
  return dt;
};

PF.button = function (parent, key, onclick, cls) {
  var b = document.createElement("button");
  b.type = "button";
  b.textContent = PF.t(key);
  if (cls) b.className = cls;
  b.addEventListener("click", onclick);
  parent.appendChild(b);
  return b;
};

/* A local date-time for a time in ms (0 or null: empty). */
PF.when = function (ms) {
  if (!ms) return "";
  try { return new Date(ms).toLocaleString(PF.lang); } catch (e) { return new Date(ms).toISOString(); }
};

/* The API's error message of an answer, for people. */
PF.why = function (res) {
  if (!res) return PF.t("error.network");
  return res.body && res.body.message ? res.body.message : "HTTP " + res.status;
};

PF.hasRole = function (roles) { return !!(PF.me && roles.indexOf(PF.me.role) >= 0); };
