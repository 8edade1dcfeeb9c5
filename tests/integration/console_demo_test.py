#!/usr/bin/env python3
"""console_demo_test.py - the demo's console in headless Debian Chromium (python3-selenium):
logs in with the login the demo printed and must see the demo's rollout on the dashboard and
its six terminals PF-DEMO-0001..0006 at the head of the terminals list. test_console_demo.sh
runs the demo and starts it. Helpers come from console_test.py."""
import argparse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

import console_test as ct
from console_test import fail, login, rows, shown, text, wait

SIX = ["PF-DEMO-%04d" % i for i in range(1, 7)]


def main():
    ap = argparse.ArgumentParser()
    for a in ("url", "user", "password", "rollout", "shots", "chromium", "driver", "profile"):
        ap.add_argument("--" + a, required=True)
    args = ap.parse_args()
    ct.args_shots = args.shots
    opts = webdriver.ChromeOptions()
    opts.binary_location = args.chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage", "--window-size=1280,1100", "--lang=en-US",
                 "--ignore-certificate-errors", "--user-data-dir=" + args.profile):
        opts.add_argument(flag)
    opts.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    drv = webdriver.Chrome(service=Service(args.driver), options=opts)
    try:
        drv.get(args.url + "/")
        wait(drv, "the login page", lambda d: shown(d, "page-login"))
        login(drv, args.user, args.password)
        wait(drv, "the dashboard with the demo's fleet", lambda d: shown(d, "page-dashboard") and
             text(d, "dash-online").isdigit() and int(text(d, "dash-online")) >= 6)
        wait(drv, "the demo's rollout", lambda d: any(
            r.find_elements(By.TAG_NAME, "td")[0].text == args.rollout and
            "firmware 2.4.0" in r.text for r in rows(d, "dash-rollouts")))
        wait(drv, "the fee tables", lambda d: "2026.11.1" in text(d, "dash-fees"))
        drv.save_screenshot(args.shots + "/demo-dashboard.png")
        drv.find_element(By.ID, "nav-terminals").click()
        wait(drv, "the six terminals", lambda d: shown(d, "page-terminals") and
             [r.find_element(By.TAG_NAME, "td").text for r in rows(d, "term-table")][:6] == SIX)
        drv.save_screenshot(args.shots + "/demo-terminals.png")
    finally:
        drv.quit()
    print("console_demo_test: all checks hold")


if __name__ == "__main__":
    main()
