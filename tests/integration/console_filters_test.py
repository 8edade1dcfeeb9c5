#!/usr/bin/env python3
"""console_filters_test.py - the terminals list's search in headless Debian Chromium
(python3-selenium); test_console_filters.sh builds the world. Each filter of GET /v1/devices,
set in the page's form, must narrow the list to exactly the expected terminals, put the search
in the URL's fragment, and give a CSV export with exactly the same rows; a reload and a shared
link opened in another tab show the same list and page. Helpers come from console_test.py.
Exit 0 when every check holds."""
import argparse
import csv
import io
import urllib.parse

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

import console_test as ct
from console_test import fail, login, rows, shown, text, wait

ALL = ["FL-1", "FL-2", "FL-3", "FL-4", "FL-5", "FL-6"]
SELECTS = ("status", "state", "lock", "alert")
# (filters set in the form, the terminals the list must show)
CASES = [
    ({"status": "online"}, ["FL-1", "FL-2"]),
    ({"status": "never"}, ["FL-3", "FL-4", "FL-5", "FL-6"]),
    ({"state": "in_stock"}, ["FL-4"]),
    ({"state": "installed"}, ["FL-3", "FL-5", "FL-6"]),
    ({"lock": "locked"}, ["FL-1"]),
    ({"alert": "paper_out"}, ["FL-2"]),
    ({"model": "PX-500"}, ["FL-3", "FL-4"]),
    ({"fw": "1.1.0"}, ["FL-2"]),
    ({"fee": "2026.11.1"}, ["FL-1"]),
    ({"merchant": "MB"}, ["FL-2", "FL-6"]),
    ({"merchant_name": "茶餐厅"}, ["FL-1", "FL-3", "FL-5"]),
    ({"region": "north"}, ["FL-2", "FL-6"]),
    ({"tag": "旗舰店"}, ["FL-3", "FL-5"]),
    ({"model": "A920", "merchant": "MA"}, ["FL-1", "FL-5"]),
]


def listed(drv):
    return [r.find_element(By.TAG_NAME, "td").text for r in rows(drv, "term-table")]


def export_serials(drv):
    """The serials of the CSV the page's export button downloads (PF.csv.href())."""
    got = drv.execute_async_script(
        "var done = arguments[0], href = PF.csv.href();"
        "fetch(href, {credentials: 'same-origin'}).then(function (r) {"
        "  return r.text().then(function (t) { done([href, r.status, t]); }); },"
        "  function (e) { done([href, 0, String(e)]); });")
    href, status, body = got
    if status != 200:
        fail("export %s answered %s: %s" % (href, status, body[:200]))
    lines = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    if not lines or lines[0][0] != "serial":
        fail("export %s: no header line: %r" % (href, body[:200]))
    return href, [line[0] for line in lines[1:] if line]


def set_form(drv, filters):
    drv.find_element(By.ID, "tf-clear").click()
    wait(drv, "the list without filters", lambda d: d.current_url.endswith("#terminals") and
         listed(d) == ALL and text(d, "tf-summary") == "")
    for k, v in filters.items():
        if k in SELECTS:
            Select(drv.find_element(By.ID, "tf-" + k)).select_by_value(v)
        else:
            drv.find_element(By.ID, "tf-" + k).send_keys(v)
    drv.find_element(By.ID, "tf-submit").click()


def main():
    ap = argparse.ArgumentParser()
    for a in ("url", "user", "password", "shots", "chromium", "driver", "profile"):
        ap.add_argument("--" + a, required=True)
    args = ap.parse_args()
    ct.args_shots = args.shots
    shot = lambda name: drv.save_screenshot("%s/%s.png" % (args.shots, name))

    drv = ct.browser(args.chromium, args.driver, args.profile, height=1000)
    try:
        drv.get(args.url + "/")
        wait(drv, "the login page", lambda d: shown(d, "page-login"))
        login(drv, args.user, args.password)
        wait(drv, "the dashboard", lambda d: shown(d, "page-dashboard"))
        drv.find_element(By.ID, "nav-terminals").click()
        wait(drv, "every terminal", lambda d: shown(d, "page-terminals") and listed(d) == ALL)
        href, serials = export_serials(drv)
        if serials != ALL or "?" in href:
            fail("the unfiltered export %s has %r" % (href, serials))

        # Each filter, and two together: exactly its terminals, in the fragment and the export.
        for filters, want in CASES:
            set_form(drv, filters)
            frag = "#terminals?" + urllib.parse.urlencode(filters)
            wait(drv, "%r to show %r" % (filters, want),
                 lambda d: urllib.parse.unquote(d.current_url.split("#", 1)[1]) ==
                 urllib.parse.unquote(frag[1:]).replace("+", " ") and listed(d) == want)
            href, serials = export_serials(drv)
            if serials != want:
                fail("%r: the export %s has %r, the list %r" % (filters, href, serials, want))
            for k, v in filters.items():
                if urllib.parse.parse_qs(href.split("?", 1)[1]).get(k) != [v]:
                    fail("%r: the export %s lacks %s=%s" % (filters, href, k, v))
            if not text(drv, "tf-summary"):
                fail("%r: the page does not say it is filtered" % filters)
        shot("terminals-filtered")

        # Paging a filtered list two at a time: the page is in the fragment too.
        set_form(drv, {"status": "never"})
        wait(drv, "the never-seen terminals", lambda d: listed(d) == CASES[1][1])
        drv.execute_script("PF.PAGE = 2; PF.terminals();")
        wait(drv, "page 1 of never-seen", lambda d: listed(d) == ["FL-3", "FL-4"] and
             d.find_element(By.ID, "term-next").is_enabled())
        drv.find_element(By.ID, "term-next").click()
        wait(drv, "page 2 of never-seen", lambda d: listed(d) == ["FL-5", "FL-6"] and
             "after=FL-4" in d.current_url and "status=never" in d.current_url)
        page2 = drv.current_url
        # A reload: the same search, the same page, the form filled in (PF.PAGE is back at 50,
        # so the page after FL-4 holds the rest: the same two).
        drv.refresh()
        wait(drv, "the reloaded page 2", lambda d: shown(d, "page-terminals") and
             listed(d) == ["FL-5", "FL-6"] and
             d.find_element(By.ID, "tf-status").get_attribute("value") == "never" and
             text(d, "term-page") == "Page 2")
        if drv.current_url != page2:
            fail("the reload moved to %s" % drv.current_url)
        drv.find_element(By.ID, "term-first").click()
        wait(drv, "page 1 again", lambda d: listed(d) == CASES[1][1] and
             "after=" not in d.current_url and "status=never" in d.current_url)
        shot("terminals-reloaded")

        # A shared link opened in a new tab (no session there yet): after the login, the
        # link's list, not the dashboard.
        link = args.url + "/#terminals?" + urllib.parse.urlencode({"merchant_name": "茶餐厅",
                                                                   "model": "A920"})
        drv.switch_to.new_window("tab")
        drv.get(link)
        wait(drv, "the login page of the new tab", lambda d: shown(d, "page-login"))
        login(drv, args.user, args.password)
        wait(drv, "the shared link's list", lambda d: shown(d, "page-terminals") and
             listed(d) == ["FL-1", "FL-5"] and
             d.find_element(By.ID, "tf-merchant_name").get_attribute("value") == "茶餐厅")

        # In Chinese: the form's labels from the catalogue, the same list.
        Select(drv.find_element(By.ID, "lang")).select_by_value("zh-CN")
        wait(drv, "the filters in Chinese", lambda d: "商户名称包含" in
             d.find_element(By.ID, "tf-form").text and "筛选条件" in text(d, "tf-summary") and
             listed(d) == ["FL-1", "FL-5"])
        shot("terminals-filtered-zh")

        for entry in drv.get_log("browser"):
            if "Content Security Policy" in entry.get("message", ""):
                fail("CSP violation: " + entry["message"])
    finally:
        for entry in drv.get_log("browser"):
            print("browser: %s %s" % (entry.get("level"), entry.get("message")))
        drv.quit()
    print("console_filters_test: all checks hold")


if __name__ == "__main__":
    main()
