#!/usr/bin/env python3
"""console_paint.py - first meaningful paint of the back office's pages in headless Debian
Chromium (python3-selenium), for bench_console_paint.sh. Logs in once, then loads each page
--loads times as a new document (the session cookie and the tab's CSRF value kept) and reads
the Performance API: the mark pf-PAGE-painted (set in the first animation frame after the
page's data is in the DOM: docs/console.md) and first-contentful-paint. Prints one line per
page: "PAGE MEDIAN_MS FCP_MEDIAN_MS", each load on stderr. --page LABEL=MARK=FRAGMENT adds
a page to load after those two: the terminal page's figure loads "#terminal/SERIAL?range=30"
and reads the mark pf-terminal-painted, set once dygraphs has drawn its four charts."""
import argparse
import statistics
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

DEADLINE_S = 60
READ = """
var m = performance.getEntriesByName('pf-' + arguments[0] + '-painted');
var p = performance.getEntriesByName('first-contentful-paint');
return m.length ? [m[0].startTime, p.length ? p[0].startTime : null] : null;
"""


def main():
    ap = argparse.ArgumentParser()
    for a in ("url", "user", "password", "chromium", "driver", "profile"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--loads", type=int, default=7)
    ap.add_argument("--page", action="append", default=[])
    args = ap.parse_args()
    opts = webdriver.ChromeOptions()
    opts.binary_location = args.chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=en-US",
                 "--user-data-dir=" + args.profile):
        opts.add_argument(flag)
    drv = webdriver.Chrome(service=Service(args.driver), options=opts)
    try:
        drv.get(args.url + "/")
        wait = WebDriverWait(drv, DEADLINE_S, poll_frequency=0.02)
        wait.until(lambda d: d.find_element(By.ID, "login-user").is_displayed())
        drv.find_element(By.ID, "login-user").send_keys(args.user)
        drv.find_element(By.ID, "login-password").send_keys(args.password)
        drv.find_element(By.ID, "login-submit").click()
        wait.until(lambda d: d.execute_script(READ, "dashboard"))
        pages = [(p, p, p) for p in ("dashboard", "terminals")]
        pages += [tuple(p.split("=", 2)) for p in args.page]
        for page, mark, frag in pages:
            paint, fcp = [], []
            for i in range(args.loads):
                drv.get("%s/?load=%d#%s" % (args.url, i, frag))
                got = wait.until(lambda d: d.execute_script(READ, mark))
                paint.append(got[0])
                fcp.append(got[1] or 0)
                print("%s load %d: meaningful %.1f ms, fcp %.1f ms" % (page, i, got[0], fcp[-1]),
                      file=sys.stderr)
            print("%s %.1f %.1f" % (page, statistics.median(paint), statistics.median(fcp)))
    finally:
        drv.quit()


if __name__ == "__main__":
    main()
