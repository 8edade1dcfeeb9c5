#!/usr/bin/env python3
"""console_terminal_test.py - drives the console's terminal, repairs, audit and account pages
and the terminals CSV export in headless Debian Chromium (python3-selenium) against a running
stack; test_console_terminal.sh starts it. Reuses console_test.py's helpers. Every wait polls a
condition with a deadline; each page's screenshot goes to --shots. Exit 0 when every check
holds."""
import argparse
import csv
import glob
import io
import json
import os
import sys
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import console_test as ct  # noqa: E402  (fail, wait, text, shown, login, rows)

fail, text, shown, rows = ct.fail, ct.text, ct.shown, ct.rows


def wait(drv, what, cond):
    return ct.wait(drv, what, cond)


def main():
    ap = argparse.ArgumentParser()
    for a in ("url", "user", "viewer", "password", "password2", "shop", "shots", "downloads",
              "admin-token", "chromium", "driver", "profile", "serials"):
        ap.add_argument("--" + a, required=True)
    args = ap.parse_args()
    ct.args_shots = args.shots

    opts = webdriver.ChromeOptions()
    opts.binary_location = args.chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage", "--window-size=1280,2000", "--lang=en-US",
                 "--user-data-dir=" + args.profile):
        opts.add_argument(flag)
    opts.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en",
                                           "download.default_directory": args.downloads,
                                           "download.prompt_for_download": False})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(args.driver), options=opts)
    try:
        drv.execute_cdp_cmd("Page.setDownloadBehavior",
                            {"behavior": "allow", "downloadPath": args.downloads})
        run(drv, args)
    finally:
        for entry in drv.get_log("browser"):
            print("browser: %s %s" % (entry.get("level"), entry.get("message")))
        drv.quit()


def admin_call(args, method, path, body=None):
    """The API as the test's admin, outside the browser (a change made elsewhere)."""
    with open(args.admin_token) as f:
        tok = f.read().strip()
    req = urllib.request.Request(args.url + "/api/v1" + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Authorization", "Bearer " + tok)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def cells(drv, table):
    return [[td.text for td in r.find_elements(By.TAG_NAME, "td")] for r in rows(drv, table)]


def kv(drv, label):
    """The value of a row of the terminal's identity table, by its label."""
    for r in drv.find_elements(By.CSS_SELECTOR, "#td-ident tbody tr"):
        if r.find_element(By.TAG_NAME, "th").text == label:
            return r.find_element(By.TAG_NAME, "td").text
    return None


def js(drv, script):
    return drv.execute_script(script)


def browser_post(drv, path, body):
    """A POST from the page with its session and CSRF header: the status."""
    return drv.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "PF.api('POST', arguments[0], arguments[1]).then(function (r) { done(r.status); },"
        " function () { done(-1); });", path, body)


def run(drv, args):
    shot = lambda name: drv.save_screenshot("%s/%s.png" % (args.shots, name))
    serials = args.serials.split(",")

    drv.get(args.url + "/")
    wait(drv, "the login page", lambda d: shown(d, "page-login"))
    ct.login(drv, args.user, args.password)
    wait(drv, "the dashboard", lambda d: shown(d, "page-dashboard"))

    # --- the terminal page, opened from the list ---
    drv.find_element(By.ID, "nav-terminals").click()
    wait(drv, "the list", lambda d: any(c and c[0] == "CT-1" for c in cells(d, "term-table")))
    drv.find_element(By.LINK_TEXT, "CT-1").click()
    wait(drv, "the terminal page", lambda d: shown(d, "page-terminal") and
         text(d, "td-serial") == "CT-1" and kv(d, "Firmware") == "1.0.0 (slot a)")
    if not drv.current_url.endswith("#terminal/CT-1"):
        fail("the link led to %s" % drv.current_url)
    wait(drv, "the identity", lambda d: kv(d, "Lifecycle state") == "active" and
         args.shop in (kv(d, "Merchant") or "") and kv(d, "Payments") == "enabled" and
         kv(d, "Model / hardware") == "PX-500 / r2" and "online" in (kv(d, "Connection") or ""))
    # Four charts drawn by dygraphs from the agent's reports (the last hour: one point a report).
    drv.find_element(By.ID, "td-range-h").click()
    for s in ("battery", "signal", "temp", "storage"):
        wait(drv, "the %s chart" % s, lambda d: js(
            d, "var c = PF.td.charts['%s']; return !!c && c.numRows() >= 3;" % s) and
            d.find_elements(By.CSS_SELECTOR, "#td-chart-%s canvas" % s))
    # The newest point follows the agent's battery (80 %) as the page polls.
    wait(drv, "the battery chart at 80 %", lambda d: js(
        d, "var c = PF.td.charts.battery; return c.getValue(c.numRows() - 1, 1);") == 80)
    wait(drv, "the history", lambda d: any(c[1] == "activate" for c in cells(d, "td-history")))
    wait(drv, "the alerts", lambda d: any(c[0] == "paper out" for c in cells(d, "td-alerts")))
    if drv.find_elements(By.CSS_SELECTOR, "#td-ident a, #td-ident img"):
        fail("the merchant's name became markup")
    shot("terminal")

    # A link to a range: "#terminal/SERIAL?range=30" opens on 30 days; the page marks when
    # dygraphs has drawn all four charts (what bench_console_paint.sh times).
    js(drv, "window.location.hash = '#terminal/CT-1?range=30';")
    wait(drv, "the 30-day charts drawn", lambda d: d.find_element(By.ID, "td-charts")
         .get_attribute("data-drawn") == str(30 * 86400000) and
         js(d, "return performance.getEntriesByName('pf-terminal-painted').length") == 1 and
         text(d, "td-serial") == "CT-1")
    js(drv, "window.location.hash = '#terminal/CT-1';")
    drv.find_element(By.ID, "td-range-h").click()

    # Live: polls get 304 while nothing changes; a change made elsewhere shows without a reload.
    js(drv, "PF.td.EVERY = 1000; PF.terminal('CT-1'); window.pfMark = 1;")
    wait(drv, "a poll answered 304", lambda d: js(d, "return PF.td.notModified") > 0)
    if admin_call(args, "POST", "/devices/CT-1/tags", {"tags": ["旗舰店"]}) != 200:
        fail("tagging CT-1 from outside")
    wait(drv, "the new tag on the page", lambda d: kv(d, "Tags") == "旗舰店")
    if js(drv, "return window.pfMark") != 1:
        fail("the page was reloaded")

    # A diagnostic and its result.
    Select(drv.find_element(By.ID, "td-diag-cmd")).select_by_value("selftest")
    drv.find_element(By.ID, "td-diag-run").click()
    wait(drv, "the diagnostic's result", lambda d: any(
        c[1] == "selftest" and c[2] == "ok" and '"passed"' in c[3] for c in cells(d, "td-diag")))
    shot("terminal-diag")

    # Lock and unlock payments, with a reason; the terminal confirms each.
    drv.find_element(By.ID, "td-lock").click()
    wait(drv, "a reason asked for", lambda d: text(d, "td-action-msg") == "Give a reason first.")
    drv.find_element(By.ID, "td-lock-reason").send_keys("商户报失")
    drv.find_element(By.ID, "td-lock").click()
    wait(drv, "locked", lambda d: (kv(d, "Payments") or "").startswith("locked"))
    wait(drv, "the lock confirmed", lambda d: kv(d, "Payments") == "locked")
    wait(drv, "the lock in the history", lambda d: any(
        c[1] == "lock" and c[3] == args.user and "商户报失" in c[4] for c in cells(d, "td-history")))
    if not drv.find_element(By.ID, "td-lock").get_attribute("disabled"):
        fail("lock still offered on a locked terminal")
    r = drv.find_element(By.ID, "td-lock-reason")
    r.clear()
    r.send_keys("已找回")
    drv.find_element(By.ID, "td-unlock").click()
    wait(drv, "unlocked and confirmed", lambda d: kv(d, "Payments") == "enabled" and any(
        c[1] == "unlocked" for c in cells(d, "td-history")))

    # Chinese.
    Select(drv.find_element(By.ID, "lang")).select_by_value("zh-CN")
    wait(drv, "the page in Chinese", lambda d: kv(d, "收款") == "正常" and
         kv(d, "生命周期状态") == "使用中")
    shot("terminal-zh")
    Select(drv.find_element(By.ID, "lang")).select_by_value("en")
    wait(drv, "English again", lambda d: kv(d, "Payments") == "enabled")

    # The swap wizard: what moves, then the confirmation.
    drv.find_element(By.ID, "td-swap").click()
    wait(drv, "the wizard", lambda d: shown(d, "td-swap-wizard") and shown(d, "swap-step1"))
    drv.find_element(By.ID, "swap-next").click()
    wait(drv, "the wizard asks", lambda d: "replacement" in text(d, "swap-msg"))
    drv.find_element(By.ID, "swap-new").send_keys("CT-2")
    drv.find_element(By.ID, "swap-reason").send_keys("屏幕碎裂")
    drv.find_element(By.ID, "swap-next").click()
    wait(drv, "what moves", lambda d: shown(d, "swap-step2") and len(rows(d, "swap-plan")) >= 6)
    plan = {r.find_element(By.TAG_NAME, "th").text: [td.text for td in r.find_elements(By.TAG_NAME, "td")]
            for r in rows(drv, "swap-plan")}
    if plan["Terminal"] != ["CT-1 (PX-500)", "CT-2 (PX-500)"]:
        fail("swap plan terminals: %r" % plan)
    if plan["Merchant"] != ["M-CT → none", "none → M-CT"]:
        fail("swap plan merchant: %r" % plan["Merchant"])
    if plan["Lifecycle state"] != ["active → in repair", "in stock → installed"]:
        fail("swap plan states: %r" % plan["Lifecycle state"])
    if plan["Tags"] != ["旗舰店", "none → 旗舰店"] or plan["Fee plan"] != ["fee-1 → none", "none → fee-1"]:
        fail("swap plan tags, fee plan: %r" % plan)
    shot("swap-wizard")
    drv.find_element(By.ID, "swap-confirm").click()
    wait(drv, "the swap done", lambda d: text(d, "swap-msg").startswith("Swapped CT-1 for CT-2; repair "))
    wait(drv, "CT-1 in repair", lambda d: kv(d, "Lifecycle state") == "in repair")

    # A repair opened for a terminal in stock.
    drv.get(args.url + "/#terminal/CT-3")
    wait(drv, "CT-3's page", lambda d: text(d, "td-serial") == "CT-3" and
         kv(d, "Lifecycle state") == "in stock")
    drv.find_element(By.ID, "td-repair").click()
    drv.find_element(By.ID, "repair-reason").send_keys("打印机卡纸")
    drv.find_element(By.ID, "repair-submit").click()
    wait(drv, "the repair opened", lambda d: text(d, "td-action-msg").startswith("Repair ") and
         kv(d, "Lifecycle state") == "in repair")

    # --- repairs: the list, one repair, its next step ---
    drv.find_element(By.ID, "nav-repairs").click()
    wait(drv, "the open repairs", lambda d: sorted(c[1] for c in cells(d, "repairs-table")) ==
         ["CT-1", "CT-3"])
    ct3 = [r for r in rows(drv, "repairs-table") if r.find_elements(By.TAG_NAME, "td")[1].text == "CT-3"][0]
    ct3.find_element(By.TAG_NAME, "a").click()
    wait(drv, "the repair", lambda d: shown(d, "repair-detail") and "打印机卡纸" in text(d, "rd-kv"))
    Select(drv.find_element(By.ID, "rd-next")).select_by_value("received")
    drv.find_element(By.ID, "rd-notes").send_keys("已收到")
    drv.find_element(By.ID, "rd-apply").click()
    wait(drv, "received", lambda d: "is now received at the workshop" in text(d, "rd-msg") and
         "已收到" in text(d, "rd-kv"))
    opts = [o.get_attribute("value") for o in Select(drv.find_element(By.ID, "rd-next")).options]
    if opts != ["diagnosed", "repaired", "returned_to_stock", "scrapped"]:
        fail("next steps after received: %r" % opts)
    shot("repairs")

    # --- audit: filters and paging ---
    drv.find_element(By.ID, "nav-audit").click()
    wait(drv, "the audit log", lambda d: len(rows(d, "audit-table")) > 3)
    drv.find_element(By.ID, "audit-action").send_keys("terminal.lock")
    drv.find_element(By.ID, "audit-search").click()
    wait(drv, "the lock row", lambda d: [(c[1], c[5], c[6]) for c in cells(d, "audit-table")] ==
         [(args.user, "terminal.lock", "CT-1")])
    drv.find_element(By.ID, "audit-action").clear()
    drv.find_element(By.ID, "audit-actor").send_keys(args.user)
    js(drv, "PF.au.PAGE = 2;")
    drv.find_element(By.ID, "audit-search").click()
    wait(drv, "page 1 of li.na's rows", lambda d: len(rows(d, "audit-table")) == 2 and
         all(c[1] == args.user for c in cells(d, "audit-table")) and
         d.find_element(By.ID, "audit-next").is_enabled())
    first = cells(drv, "audit-table")
    drv.find_element(By.ID, "audit-next").click()
    wait(drv, "page 2", lambda d: text(d, "audit-page") == "Page 2" and
         len(rows(d, "audit-table")) >= 1 and cells(d, "audit-table") != first)
    shot("audit")

    # --- account: API tokens (created, shown once, revoked), password ---
    drv.find_element(By.ID, "nav-account").click()
    wait(drv, "the account page", lambda d: shown(d, "page-account"))
    drv.find_element(By.ID, "tok-name").send_keys("ci-token")
    drv.find_element(By.ID, "tok-create").click()
    wait(drv, "the new token shown once", lambda d: shown(d, "tok-new") and
         len(text(d, "tok-secret")) > 20)
    secret = text(drv, "tok-secret")
    wait(drv, "the token listed", lambda d: any(c[1] == "ci-token" and c[5] == "active"
                                                for c in cells(d, "tok-table")))
    if secret in drv.find_element(By.ID, "tok-table").text:
        fail("the token's secret is in the list")
    shot("account")
    row = [r for r in rows(drv, "tok-table") if r.find_elements(By.TAG_NAME, "td")[1].text == "ci-token"][0]
    row.find_element(By.CLASS_NAME, "tok-revoke").click()
    wait(drv, "the token revoked", lambda d: any(c[1] == "ci-token" and c[5] == "revoked"
                                                 for c in cells(d, "tok-table")))
    drv.find_element(By.ID, "pw-current").send_keys("not the password")
    drv.find_element(By.ID, "pw-new").send_keys(args.password2)
    drv.find_element(By.ID, "pw-submit").click()
    wait(drv, "a wrong current password refused",
         lambda d: text(d, "pw-msg") == "The current password is wrong.")
    drv.find_element(By.ID, "pw-current").send_keys(args.password)
    drv.find_element(By.ID, "pw-new").send_keys(args.password2)
    drv.find_element(By.ID, "pw-submit").click()
    wait(drv, "the password changed", lambda d: text(d, "pw-msg").startswith("Password changed"))

    # --- the terminals list as CSV: every page, in the file ---
    drv.find_element(By.ID, "nav-terminals").click()
    wait(drv, "the list", lambda d: shown(d, "page-terminals") and rows(d, "term-table"))
    drv.find_element(By.ID, "term-export").click()
    wait(drv, "the export started", lambda d: text(d, "term-export-status").startswith("Export started"))
    # Chromium writes NAME.crdownload and renames it to the name when the stream ended.
    wait(drv, "the file", lambda d: glob.glob(args.downloads + "/terminals*.csv"))
    path = glob.glob(args.downloads + "/terminals*.csv")[0]
    with open(path, encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(io.StringIO(f.read())))
    if table[0][:3] != ["serial", "model", "hw_rev"] or [r[0] for r in table[1:]] != serials:
        fail("CSV rows: %r" % table)
    byserial = {r[0]: dict(zip(table[0], r)) for r in table[1:]}
    if byserial["CT-2"]["merchant_name"] != "'" + args.shop:
        fail("the formula-like merchant name is not defused: %r" % byserial["CT-2"]["merchant_name"])
    if byserial["CT-2"]["state"] != "installed" or byserial["CT-1"]["state"] != "in_repair":
        fail("CSV states: %r" % byserial)
    shot("terminals-export")

    for entry in drv.get_log("browser"):
        if "Content Security Policy" in entry.get("message", ""):
            fail("CSP violation: " + entry["message"])

    # --- a viewer: no actions, and the API refuses them anyway ---
    drv.find_element(By.ID, "logout").click()
    wait(drv, "logged out", lambda d: shown(d, "page-login"))
    ct.login(drv, args.viewer, args.password)
    wait(drv, "the viewer's dashboard", lambda d: shown(d, "page-dashboard"))
    drv.get(args.url + "/#terminal/CT-2")
    wait(drv, "CT-2 for the viewer", lambda d: text(d, "td-serial") == "CT-2" and
         kv(d, "Lifecycle state") == "installed")
    if shown(drv, "td-actions") or any(b.is_displayed() for b in drv.find_elements(
            By.CSS_SELECTOR, "#td-lock, #td-unlock, #td-swap, #td-repair, #td-diag-run")):
        fail("a viewer sees action buttons")
    shot("terminal-viewer")
    for path, body in (("/devices/CT-2/lock", {"reason": "x"}), ("/devices/CT-2/diag", {"command": "selftest"}),
                       ("/devices/CT-2/swap", {"new": "CT-4", "reason": "x"})):
        st = browser_post(drv, path, body)
        if st != 403:
            fail("a viewer's POST %s answered %r, want 403" % (path, st))
    print("console_terminal_test: all checks hold")


if __name__ == "__main__":
    main()
