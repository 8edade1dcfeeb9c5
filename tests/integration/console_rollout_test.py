#!/usr/bin/env python3
"""console_rollout_test.py - the merchants, bundles, rollouts and admin pages in headless
Debian Chromium (python3-selenium) against the stack test_console_rollout.sh starts. Every
wait polls a condition with a deadline; each page's screenshot goes to --shots. Prints
"id ROLLOUT" and exits 0 when every check holds."""
import argparse
import sys

sys.dont_write_bytecode = True  # console_test is imported from the source tree

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from selenium.common.exceptions import (NoAlertPresentException, NoSuchElementException,
                                        StaleElementReferenceException)

import console_test as ct
from console_test import fail, login, rows, shown, text

NAME = "深圳市福田区老王茶餐厅"
USCC_OK = "9144030071526726XG"
USCC_BAD = "9144030071526726XA"
PAUSE_DEADLINE_S = 240


def main():
    ap = argparse.ArgumentParser()
    for a in ("url", "password", "ops", "approver", "admin", "serial", "bundle", "tampered",
              "shots", "chromium", "driver", "profile"):
        ap.add_argument("--" + a, required=True)
    args = ap.parse_args()
    ct.args_shots = args.shots
    drv = ct.browser(args.chromium, args.driver, args.profile, 1400)
    try:
        run(drv, args)
    finally:
        for entry in drv.get_log("browser"):
            print("browser: %s %s" % (entry.get("level"), entry.get("message")))
        drv.quit()


def wait(drv, what, cond, deadline=ct.DEADLINE_S):
    try:
        return WebDriverWait(drv, deadline, poll_frequency=0.2,
                             ignored_exceptions=(NoSuchElementException,
                                                 StaleElementReferenceException)).until(cond)
    except Exception:  # TimeoutException
        drv.save_screenshot(ct.args_shots + "/timeout.png")
        fail("timed out waiting for " + what)


def typed(drv, id_, value):
    el = drv.find_element(By.ID, id_)
    el.clear()
    el.send_keys(value)


def answer_prompt(drv, what, reply):
    def has_alert(d):
        try:
            return d.switch_to.alert
        except NoAlertPresentException:
            return False
    alert = wait(drv, what, has_alert)
    if reply:
        alert.send_keys(reply)
    alert.accept()


def go(drv, hash_, page):
    drv.execute_script("window.location.hash = arguments[0];", hash_)
    wait(drv, "page " + page, lambda d: shown(d, "page-" + page))


def switch_user(drv, user, password):
    drv.find_element(By.ID, "logout").click()
    wait(drv, "the login page", lambda d: shown(d, "page-login"))
    login(drv, user, password)
    wait(drv, "the dashboard of " + user, lambda d: shown(d, "page-dashboard") and user in text(d, "who"))


def cell_texts(row):
    return [td.text for td in row.find_elements(By.TAG_NAME, "td")]


def run(drv, args):
    shot = lambda name: drv.save_screenshot("%s/%s.png" % (args.shots, name))
    drv.get(args.url + "/")
    wait(drv, "the login page", lambda d: shown(d, "page-login") and text(d, "login-submit") == "Sign in")
    login(drv, args.ops, args.password)
    wait(drv, "the dashboard", lambda d: shown(d, "page-dashboard"))
    if drv.find_element(By.ID, "nav-admin").is_displayed():
        fail("an ops user is offered the admin page")

    # --- merchants: onboarding with the credit code checked as typed ---
    drv.find_element(By.ID, "nav-merchants").click()
    wait(drv, "the merchants page", lambda d: shown(d, "page-merchants") and shown(d, "merch-form"))
    typed(drv, "mo-id", "M-CN-1")
    typed(drv, "mo-name", NAME)
    typed(drv, "mo-uscc", USCC_BAD[:10])
    wait(drv, "the length refusal", lambda d: "10 characters" in text(d, "mo-uscc-why"))
    typed(drv, "mo-uscc", USCC_BAD)
    wait(drv, "the check-character refusal", lambda d: "must be \u201cG\u201d" in text(d, "mo-uscc-why"))
    typed(drv, "mo-mcc", "5812")
    typed(drv, "mo-address", "深圳市福田区华强北路1号")
    typed(drv, "mo-contact", "王芳")
    typed(drv, "mo-phone", "13800000000")
    typed(drv, "mo-fees", "fee-1")
    shot("merchants-uscc-wrong")
    drv.find_element(By.ID, "mo-submit").click()  # refused in the page: nothing sent
    if "applied" in text(drv, "merch-msg"):
        fail("a wrong credit code was sent")
    typed(drv, "mo-uscc", USCC_OK)
    wait(drv, "the right check character", lambda d: text(d, "mo-uscc-why") == "The check character is right.")
    drv.find_element(By.ID, "mo-submit").click()
    wait(drv, "the application", lambda d: "waits for review" in text(d, "merch-msg"))
    find_row = lambda d: [r for r in rows(d, "merch-table") if NAME in r.text]
    wait(drv, "the merchant in the list, applied", lambda d: find_row(d) and "applied" in find_row(d)[0].text)
    find_row(drv)[0].find_element(By.CSS_SELECTOR, "button.approve").click()
    wait(drv, "approved", lambda d: find_row(d) and "approved" in cell_texts(find_row(d)[0])[5])
    find_row(drv)[0].find_element(By.CSS_SELECTOR, "button.activate").click()
    wait(drv, "active", lambda d: find_row(d) and "active" in cell_texts(find_row(d)[0])[5])
    typed(drv, "mb-serial", args.serial)
    typed(drv, "mb-merchant", "M-CN-1")
    drv.find_element(By.ID, "mb-submit").click()
    wait(drv, "the binding", lambda d: text(d, "merch-msg") == "%s is bound to M-CN-1." % args.serial)
    shot("merchants")

    # --- bundles: the verifier's verdict, and its refusal ---
    drv.find_element(By.ID, "nav-bundles").click()
    wait(drv, "the bundles page", lambda d: shown(d, "page-bundles") and shown(d, "bundle-form"))
    drv.find_element(By.ID, "bundle-file").send_keys(args.bundle)
    drv.find_element(By.ID, "bundle-submit").click()
    wait(drv, "the verdict", lambda d: "verified and stored" in text(d, "bundle-verdict-title") and
         "2.0.0" in text(d, "bundle-verdict-fields") and "PX-500" in text(d, "bundle-verdict-fields"))
    wait(drv, "the bundle in the list", lambda d: any("2.0.0" in r.text for r in rows(d, "bundle-table")))
    shot("bundles-verdict")
    drv.find_element(By.ID, "bundle-file").send_keys(args.tampered)
    drv.find_element(By.ID, "bundle-submit").click()
    wait(drv, "the refusal", lambda d: "refused by the verifier" in text(d, "bundle-verdict-title") and
         text(d, "bundle-verdict-fields").find("[") >= 0)
    print("refusal: " + text(drv, "bundle-verdict-fields"))
    shot("bundles-refused")

    # --- rollouts: preview, create (four eyes on firmware) ---
    drv.find_element(By.ID, "nav-rollouts").click()
    wait(drv, "the rollouts page", lambda d: shown(d, "page-rollouts") and shown(d, "rc-form") and
         len(Select(d.find_element(By.ID, "rc-bundle")).options) == 1)
    typed(drv, "rc-name", "固件 2.0 分批")
    typed(drv, "rc-stages", "10, 100%")
    typed(drv, "rc-soak", "1")
    typed(drv, "rc-window-start", "00:00")
    typed(drv, "rc-window-end", "24:00")
    typed(drv, "rc-min-sample", "4")
    typed(drv, "rc-concurrency", "2")
    drv.find_element(By.ID, "rc-preview-btn").click()
    wait(drv, "the preview", lambda d: "20 terminals in the cohort" in text(d, "rc-preview") and
         "Plan digest: " in text(d, "rc-preview") and "PX-500: 20" in text(d, "rc-preview"))
    srows = rows(drv, "rc-preview-stages")
    if [cell_texts(r) for r in srows] != [["1", "10", "10"], ["2", "100%", "10"]]:
        fail("preview stages: %r" % [cell_texts(r) for r in srows])
    shot("rollouts-preview")
    drv.find_element(By.ID, "rc-submit").click()
    wait(drv, "the new rollout's page", lambda d: shown(d, "page-rollout") and
         text(d, "ra-state") == "awaiting approval")
    ro = drv.execute_script("return PF.ro.id;")
    print("id %s" % ro)
    # Its creator cannot approve it: no button, and why.
    wait(drv, "the creator's note", lambda d: "another user with the approver role" in text(d, "ra-approval-note"))
    if drv.find_element(By.ID, "ra-approve").is_displayed():
        fail("the creator is offered the approval")
    if text(drv, "ra-creator") != args.ops:
        fail("creator shown: %r" % text(drv, "ra-creator"))
    shot("rollout-own")

    # --- the approver ---
    switch_user(drv, args.approver, args.password)
    go(drv, "#rollout/%s" % ro, "rollout")
    wait(drv, "the approval offered", lambda d: d.find_element(By.ID, "ra-approve").is_displayed() and
         "Created by %s" % args.ops in text(d, "ra-approval-note"))
    if drv.find_elements(By.CSS_SELECTOR, "#ra-actions button"):
        fail("an approver is offered ops actions")
    drv.find_element(By.ID, "ra-preview-btn").click()
    wait(drv, "the stored preview", lambda d: "20 terminals in the cohort" in text(d, "ra-preview"))
    shot("rollout-awaiting")
    drv.execute_script("window.pfNoReload = 'kept';")
    drv.find_element(By.ID, "ra-approve").click()
    wait(drv, "the approval", lambda d: "Approved by %s (created by %s)" % (args.approver, args.ops)
         in text(d, "ra-msg"))
    # Live: the page follows the rollout, without a reload, until it pauses itself.
    wait(drv, "the rollout to pause itself", lambda d: text(d, "ra-state") == "paused" and
         any("rolled back" in r.text for r in rows(d, "ra-failures")), PAUSE_DEADLINE_S)
    if drv.execute_script("return window.pfNoReload;") != "kept":
        fail("the page was reloaded")
    # It was followed through the event stream (GET /v1/events), not by polling: the page
    # refetched on events and has no poll timer while the stream is open.
    counts = lambda d: d.execute_script(
        "return [PF.ro.polls || 0, PF.ro.changes || 0, PF.ro.events || 0, !!PF.ro.live,"
        " PF.ro.timer === null];")
    wait(drv, "the rollout followed by its event stream",
         lambda d: counts(d)[2] >= 2 and counts(d)[3] and counts(d)[4])
    polls, changes, events, _, _ = counts(drv)
    print("polls %s changes %s events %s" % (polls, changes, events))
    if "rollback_rate" not in text(drv, "ra-reason"):
        fail("pause reason: %r" % text(drv, "ra-reason"))
    if not drv.find_elements(By.CSS_SELECTOR, "#ra-stages .stage .bar span.failed"):
        fail("no failed part in the stage bars")
    shot("rollout-paused")
    Select(drv.find_element(By.ID, "lang")).select_by_value("zh-CN")
    wait(drv, "the rollout in Chinese", lambda d: text(d, "ra-state") == "已暂停" and
         "失败原因分布" in d.find_element(By.ID, "page-rollout").text)
    shot("rollout-paused-zh")
    Select(drv.find_element(By.ID, "lang")).select_by_value("en")
    wait(drv, "English again", lambda d: text(d, "ra-state") == "paused")

    # --- ops: a pending member of the paused stage skipped, with a reason ---
    switch_user(drv, args.ops, args.password)
    go(drv, "#rollout/%s" % ro, "rollout")
    wait(drv, "the ops actions", lambda d: d.find_elements(By.CSS_SELECTOR, "#ra-actions button.act-resume"))
    Select(drv.find_element(By.ID, "rm-status")).select_by_value("pending")
    wait(drv, "pending members", lambda d: rows(d, "rm-table") and
         all("pending" in r.text for r in rows(d, "rm-table")))
    # one of the paused stage 1 (stage 2's are planned, not opened: nothing to skip yet)
    row = [r for r in rows(drv, "rm-table") if cell_texts(r)[1] == "1"][0]
    first = cell_texts(row)[0]
    row.find_element(By.CSS_SELECTOR, "button.m-skip").click()
    answer_prompt(drv, "the reason prompt", "merchant closed for renovation")
    wait(drv, "the skip", lambda d: text(d, "ra-msg") == "%s is now skipped." % first)

    # --- admin: an organisation and a user ---
    switch_user(drv, args.admin, args.password)
    wait(drv, "the admin link", lambda d: d.find_element(By.ID, "nav-admin").is_displayed())
    drv.find_element(By.ID, "nav-admin").click()
    wait(drv, "the admin page", lambda d: shown(d, "page-admin") and
         any("headquarters" in r.text for r in rows(d, "org-table")))
    typed(drv, "ao-name", "agent-shenzhen")
    drv.find_element(By.ID, "ao-submit").click()
    wait(drv, "the organisation", lambda d: any("agent-shenzhen" in r.text for r in rows(d, "org-table")))
    typed(drv, "au-name", "agent.chen")
    Select(drv.find_element(By.ID, "au-role")).select_by_value("ops")
    wait(drv, "the new org offered", lambda d: any(o.text == "agent-shenzhen" for o in
                                                Select(d.find_element(By.ID, "au-org")).options))
    Select(drv.find_element(By.ID, "au-org")).select_by_visible_text("agent-shenzhen")
    typed(drv, "au-password", "another long password")
    drv.find_element(By.ID, "au-submit").click()
    wait(drv, "the user", lambda d: any("agent.chen" in r.text and "agent-shenzhen" in r.text
                                        for r in rows(d, "user-table")))
    # Its role changed, then disabled (after a confirmation).
    urow = lambda d: [r for r in rows(d, "user-table") if "agent.chen" in r.text]
    Select(urow(drv)[0].find_element(By.CSS_SELECTOR, "select.role")).select_by_value("support")
    urow(drv)[0].find_element(By.CSS_SELECTOR, "button.set-role").click()
    wait(drv, "the new role", lambda d: text(d, "admin-msg") == "agent.chen is now support." and
         urow(d) and "support" in cell_texts(urow(d)[0])[1])
    urow(drv)[0].find_element(By.CSS_SELECTOR, "button.disable").click()
    answer_prompt(drv, "the confirmation", "")
    wait(drv, "disabled", lambda d: text(d, "admin-msg") == "agent.chen is disabled." and
         urow(d) and "disabled since" in urow(d)[0].text)
    if [r for r in rows(drv, "user-table") if args.admin in r.text][0].find_elements(By.TAG_NAME, "button"):
        fail("the admin is offered to change or disable itself")
    shot("admin")

    for entry in drv.get_log("browser"):
        if "Content Security Policy" in entry.get("message", ""):
            fail("CSP violation: " + entry["message"])
    print("console_rollout_test: all checks hold")


if __name__ == "__main__":
    main()
