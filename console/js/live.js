/* live.js - what changed, told by posfleetd: GET /api/v1/events (server-sent
 * events, docs/server.md) names the rollout or terminal an open page shows,
 * and the page refetches it (with If-None-Match) when told. While the stream
 * is down (posfleetd restarting, a proxy cutting it, the user's stream limit
 * reached) the page falls back to polling with ETags, and stops polling when
 * the stream is back (EventSource reconnects by itself; the server's "retry"
 * says after 3 s). The session cookie goes with the stream like with any GET. */
"use strict";
var PF = window.PF || {};
window.PF = PF;

PF.live = { events: 0, opened: 0 };

/* Follows GET /api/v1/events?QUERY. changed() when the stream opens (what
 * changed while it was down) and on events: at once, then at most once per
 * gapMs however many events come (a rollout installing changes at every
 * scheduler tick: the page refetches at the pace polling would, and at once
 * after a quiet spell). down() when the stream is not (or no longer) open,
 * up() when it opens. Returns the handle for PF.live.stop(). */
PF.live.follow = function (query, gapMs, changed, down, up) {
  var h = { source: null, up: false, last: 0, timer: null };
  var fire = function () {
    h.timer = null;
    h.last = Date.now();
    changed();
  };
  var on = function () {
    PF.live.events++;
    if (h.timer) return; /* one refetch is owed already */
    var wait = h.last + gapMs - Date.now();
    if (wait <= 0) fire();
    else h.timer = window.setTimeout(fire, wait);
  };
  h.stopTimer = function () { if (h.timer) window.clearTimeout(h.timer); h.timer = null; };
  if (!window.EventSource) { down(); return h; }
  h.source = new EventSource("/api/v1/events?" + query);
  h.source.addEventListener("open", function () {
    PF.live.opened++;
    h.up = true;
    up();
    fire();
  });
  h.source.addEventListener("rollout", on);
  h.source.addEventListener("terminal", on);
  h.source.addEventListener("error", function () {
    /* CONNECTING: the browser opens it again by itself; CLOSED (refused: not
     * found, the limit): polling for as long as the page is shown. */
    if (h.up || h.source.readyState === EventSource.CLOSED || !h.tried) down();
    h.up = false;
    h.tried = true;
  });
  return h;
};

PF.live.stop = function (h) {
  if (h && h.source) h.source.close();
  if (h) { h.stopTimer(); h.source = null; h.up = false; }
};
