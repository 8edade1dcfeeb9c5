#!/usr/bin/env python3
"""console_scope_test.py - organisation scope in the back office, in headless Debian Chromium
(python3-selenium); test_console_scope.sh builds the world and starts it. Each user logs in
and must see exactly its part of the fleet on the dashboard (counts, fee tables, the online
line, active rollouts) and in the terminals list and search, and be refused another agent's
terminal. Helpers come from console_test.py. Exit 0 when every check holds."""
import argparse
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

import console_test as ct
from console_test import fail, login, rows, shown, text, wait

ALL = ["SA-1", "SA-2", "SA-3", "SB-1", "SH-1"]
# user: what it must see. online/never: the dashboard's cards; fees: fee-table versions
# reported inside its scope; line: the online line's newest point; serials: the list;
# other: a terminal outside its scope; rollout: whether headquarters' rollout is shown.
SEES = {
    "hq.ops": dict(online=4, never=1, fees=["2026.11.1", "2026.11.2", "2026.11.3", "2026.11.4"],
                   serials=ALL, other=None, rollout=True),
    "ops.a": dict(online=2, never=1, fees=["2026.11.1", "2026.11.4"],
                  serials=["SA-1", "SA-2", "SA-3"], other="SB-1", rollout=False),
    "ops.b": dict(online=1, never=0, fees=["2026.11.2"], serials=["SB-1"], other="SA-1",
                  rollout=False),
    "shop.a": dict(online=1, never=1, fees=["2026.11.1"], serials=["SA-1", "SA-2"],
                   other="SA-3", rollout=False),
}


def api(drv, path):
    """GET /api/v1PATH with the page's session: [status, body]."""
    return drv.execute_async_script(
        "var done = arguments[1]; PF.api('GET', arguments[0]).then("
        "function (r) { done([r.status, r.body]); }, function () { done([0, null]); });", path)


def line_last(drv):
    """The newest value of the dashboard's online line as drawn (None without a chart)."""
    return drv.execute_script(
        "var g = PF.dash && PF.dash.chart; if (!g || !g.numRows()) return null;"
        "return g.getValue(g.numRows() - 1, 1);")


def check_user(drv, args, name, want):
    shot = lambda page: drv.save_screenshot("%s/%s-%s.png" % (args.shots, page, name))
    login(drv, name, args.password)
    wait(drv, name + "'s dashboard", lambda d: shown(d, "page-dashboard") and
         text(d, "dash-online") == str(want["online"]) and
         text(d, "dash-never") == str(want["never"]))
    wait(drv, name + "'s fee tables", lambda d: sorted(
        r.find_elements(By.TAG_NAME, "td")[0].text for r in rows(d, "dash-fees")) == want["fees"])
    # The line is the scope's: the page is reloaded until the newest sample has every
    # terminal of the scope online (samples are taken every second).
    def line_ok(d):
        if line_last(d) == want["online"] and d.find_elements(By.CSS_SELECTOR,
                                                               "#dash-chart canvas"):
            return True
        d.execute_script("PF.dashboard();")
        return False
    wait(drv, name + "'s online line", line_ok)
    # Every sample of the line is inside the scope: never more than its terminals online.
    st, body = api(drv, "/summary/online")
    if st != 200 or max(s[1] for s in body["samples"]) > want["online"]:
        fail("%s: the online line counts outside the scope: %r" % (name, body))
    if want["rollout"]:
        wait(drv, "the rollout for " + name, lambda d: any(
            r.find_elements(By.TAG_NAME, "td")[0].text == args.rollout
            for r in rows(d, "dash-rollouts")))
    else:
        wait(drv, "no rollout for " + name, lambda d: shown(d, "dash-rollouts-none"))
        if rows(drv, "dash-rollouts"):
            fail("%s sees headquarters' rollout" % name)
    shot("dashboard")

    # The terminals list: its terminals and no other.
    drv.find_element(By.ID, "nav-terminals").click()
    wait(drv, name + "'s terminals", lambda d: shown(d, "page-terminals") and
         [r.find_element(By.TAG_NAME, "td").text for r in rows(d, "term-table")] ==
         want["serials"])
    shot("terminals")

    # Search: every filter the console can send stays inside the scope.
    for q in ("/devices?model=PX-500", "/devices?merchant=MB", "/devices?merchant=MA2",
              "/devices?status=online", "/devices?fee=2026.11.2", "/alerts", "/merchants"):
        st, body = api(drv, q)
        if st != 200:
            fail("%s: GET %s answered %s" % (name, q, st))
        found = [d["serial"] for d in body.get("devices", []) + body.get("alerts", [])]
        if any(s not in want["serials"] for s in found):
            fail("%s: GET %s shows %r outside its scope" % (name, q, found))

    # A guessed terminal of another agent: refused (404, as if absent), not data.
    drv.execute_script("window.location.hash = '#terminal/%s';" % (want["other"] or "SA-1"))
    if want["other"]:
        st, body = api(drv, "/devices/" + want["other"])
        if st != 404 or set(body or {}) != {"error", "message"}:
            fail("%s: GET /devices/%s answered %s %r" % (name, want["other"], st, body))
        if drv.find_elements(By.ID, "page-terminal"):  # the terminal page, when present
            wait(drv, "the refusal of " + want["other"], lambda d: text(d, "fail") != "" or
                 want["other"] not in d.find_element(By.ID, "page-terminal").text)
    shot("refused")

    drv.find_element(By.ID, "logout").click()
    wait(drv, "the login page after " + name, lambda d: shown(d, "page-login"))


def main():
    ap = argparse.ArgumentParser()
    for a in ("url", "password", "shots", "chromium", "driver", "profile", "rollout"):
        ap.add_argument("--" + a, required=True)
    args = ap.parse_args()
    ct.args_shots = args.shots

    opts = webdriver.ChromeOptions()
    opts.binary_location = args.chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage", "--window-size=1280,1100", "--lang=en-US",
                 "--user-data-dir=" + args.profile):
        opts.add_argument(flag)
    opts.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(args.driver), options=opts)
    try:
        drv.get(args.url + "/")
        wait(drv, "the login page", lambda d: shown(d, "page-login"))
        for name, want in SEES.items():
            check_user(drv, args, name, want)
        for entry in drv.get_log("browser"):
            if "Content Security Policy" in entry.get("message", ""):
                fail("CSP violation: " + entry["message"])
    finally:
        for entry in drv.get_log("browser"):
            print("browser: %s %s" % (entry.get("level"), entry.get("message")))
        drv.quit()
    print("console_scope_test: all checks hold")


if __name__ == "__main__":
    main()
