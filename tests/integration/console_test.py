#!/usr/bin/env python3
"""console_test.py - drives the back office in headless Debian Chromium (python3-selenium)
against a running stack; test_console.sh starts it. Every wait polls a condition with a
deadline; each page's screenshot goes to --shots. Exit 0 when every check holds."""
import argparse
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

DEADLINE_S = 20


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    for a in ("url", "user", "password", "nasty", "shots", "chromium", "driver", "profile",
              "serials", "rollout", "rollout-name"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--online", type=int, required=True)
    ap.add_argument("--never", type=int, required=True)
    args = ap.parse_args()

    drv = browser(args.chromium, args.driver, args.profile)
    try:
        run(drv, args)
    finally:
        for entry in drv.get_log("browser"):
            print("browser: %s %s" % (entry.get("level"), entry.get("message")))
        drv.quit()


def browser(chromium, driver, profile, height=900):
    """Headless Debian Chromium in English with a fresh profile, its console log kept."""
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage", "--window-size=1280,%d" % height, "--lang=en-US",
                 "--user-data-dir=" + profile):
        opts.add_argument(flag)
    opts.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=opts)


def wait(drv, what, cond):
    try:
        # A table redrawn while read is read again at the next poll.
        return WebDriverWait(drv, DEADLINE_S, poll_frequency=0.1,
                             ignored_exceptions=(NoSuchElementException,
                                                 StaleElementReferenceException)).until(cond)
    except Exception:  # TimeoutException
        drv.save_screenshot(args_shots + "/timeout.png")
        fail("timed out waiting for " + what)


def text(drv, id_):
    return drv.find_element(By.ID, id_).text


def shown(drv, id_):
    return drv.find_element(By.ID, id_).is_displayed()


def login(drv, user, password):
    u = drv.find_element(By.ID, "login-user")
    p = drv.find_element(By.ID, "login-password")
    u.clear()
    u.send_keys(user)
    p.clear()
    p.send_keys(password)
    drv.find_element(By.ID, "login-submit").click()


def rows(drv, table):
    return drv.find_elements(By.CSS_SELECTOR, "#%s tbody tr" % table)


def run(drv, args):
    global args_shots
    args_shots = args.shots
    shot = lambda name: drv.save_screenshot("%s/%s.png" % (args.shots, name))

    drv.get(args.url + "/")
    wait(drv, "the login page in English", lambda d: shown(d, "page-login") and
         text(d, "login-submit") == "Sign in")
    shot("login")

    # A wrong password: refused, with the catalogue's message, still on the login page.
    login(drv, args.user, "not the password")
    wait(drv, "the wrong-password message",
         lambda d: text(d, "login-error") == "Wrong user or password.")
    if not shown(drv, "page-login") or shown(drv, "page-dashboard"):
        fail("a wrong password left the login page")
    shot("login-error")

    # The right one: the dashboard with this stack's terminals.
    login(drv, args.user, args.password)
    wait(drv, "the dashboard", lambda d: shown(d, "page-dashboard") and
         text(d, "dash-online") == str(args.online) and text(d, "dash-never") == str(args.never))
    wait(drv, "the firmware table", lambda d: any("1.0.0" in r.text for r in rows(d, "dash-firmware")))
    wait(drv, "the alerts table", lambda d: "paper out" in text(d, "dash-alerts"))
    # The scheduled rollout: its id, its name as text (not bold), its progress.
    wait(drv, "the active rollout", lambda d: any(
        r.find_elements(By.TAG_NAME, "td")[0].text == args.rollout and
        r.find_elements(By.TAG_NAME, "td")[1].text == args.rollout_name and
        "scheduled" in r.text and "0 of 4" in r.text for r in rows(d, "dash-rollouts")))
    if drv.find_elements(By.CSS_SELECTOR, "#dash-rollouts b"):
        fail("the rollout name became markup")
    if args.user not in text(drv, "who"):
        fail("the header does not name the user: %r" % text(drv, "who"))
    cookies = [c for c in drv.get_cookies() if c["name"] == "pf_session"]
    if not cookies or not cookies[0].get("httpOnly") or not cookies[0].get("secure") or \
            cookies[0].get("sameSite") != "Strict":
        fail("pf_session cookie is not HttpOnly, Secure, SameSite=Strict: %r" % cookies)
    if drv.execute_script("return document.cookie").find("pf_session") >= 0:
        fail("the session cookie is readable by scripts")
    shot("dashboard")

    # Chinese: every visible text from the zh-CN catalogue, and kept when switching back.
    Select(drv.find_element(By.ID, "lang")).select_by_value("zh-CN")
    wait(drv, "the dashboard in Chinese", lambda d: text(d, "nav-dashboard") == "仪表盘" and
         "在线" in d.find_element(By.ID, "page-dashboard").text and
         "缺纸" in text(d, "dash-alerts") and "0 / 4" in text(d, "dash-rollouts"))
    if drv.execute_script("return document.documentElement.lang") != "zh-CN":
        fail("html lang is not zh-CN")
    shot("dashboard-zh")
    drv.find_element(By.ID, "nav-terminals").click()
    wait(drv, "the terminals in Chinese", lambda d: shown(d, "page-terminals") and
         text(d, "term-page") == "第 1 页")
    Select(drv.find_element(By.ID, "lang")).select_by_value("en")
    wait(drv, "English again", lambda d: text(d, "term-page") == "Page 1")

    # The terminals list, two to a page here (the console's page size is set smaller).
    drv.execute_script("PF.PAGE = 2; PF.term.pages = ['']; PF.term.index = 0; PF.terminals();")
    serials = args.serials.split(",")
    wait(drv, "page 1", lambda d: [r.find_element(By.TAG_NAME, "td").text
                                   for r in rows(d, "term-table")] == serials[:2])
    shot("terminals")
    drv.find_element(By.ID, "term-next").click()
    wait(drv, "page 2", lambda d: text(d, "term-page") == "Page 2" and
         [r.find_element(By.TAG_NAME, "td").text for r in rows(d, "term-table")] == serials[2:4])

    # The merchant's name is HTML: shown as its text, no element made of it, no script ran.
    wait(drv, "the merchant name as text",
         lambda d: any(args.nasty in r.text for r in rows(d, "term-table")))
    if drv.find_elements(By.CSS_SELECTOR, "#term-table img"):
        fail("the merchant name became an <img> element")
    if drv.title == "owned":
        fail("the merchant name's script ran")
    shot("terminals-page2")

    # No violation of the CSP was reported by the page itself.
    for entry in drv.get_log("browser"):
        if "Content Security Policy" in entry.get("message", ""):
            fail("CSP violation: " + entry["message"])

    # Logout: back to the login page; the session no longer answers.
    drv.find_element(By.ID, "logout").click()
    wait(drv, "the login page after logout", lambda d: shown(d, "page-login"))
    status = drv.execute_async_script(
        "var done = arguments[0]; fetch('/api/v1/me').then(function (r) { done(r.status); });")
    if status != 401:
        fail("after logout /api/v1/me answered %r" % status)
    print("console_test: all checks hold")


if __name__ == "__main__":
    main()
