"""The owner pages in a real headless Chromium, on the contract's demo data (alice's three demo
locks, run by `lockcloud simulate`): sign in, see the locks, unlock one and watch its status
change, create a code and issue an offline PIN, read the activity, revoke Seam and see Seam's
token refused. A screenshot of each page goes to the test output
($LOCKCLOUD_TEST_WORKDIR/owner-pages), and to $LOCKCLOUD_SCREENSHOTS_DIR when set
(docs/screenshots/ is made that way)."""
import os
import re
import shutil
import subprocess

import pytest
import requests

from conftest import ROOT, TrackedProcess, free_port, process_death
from oauth_helpers import PASSWORD, tokens_for

LOCK_NAMES = ["Front door", "Back door", "Garage"]


@pytest.fixture
def demo_server(scratch_database, start_server, lockcloud_bin):
    """A server of its own on a database with the demo data and demo locks, and the simulator."""
    workdir = os.environ["LOCKCLOUD_TEST_WORKDIR"]
    credentials = os.path.join(workdir, "owner-pages-demo-locks.json")
    for command in (["migrate", "--migrations-dir", str(ROOT / "migrations")], ["demo", "--simulator-credentials", credentials]):
        done = subprocess.run([lockcloud_bin, *command, "--database-url", scratch_database, "--log-level", "warning"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    server = start_server(scratch_database)
    simulator = TrackedProcess(
        [lockcloud_bin, "simulate", "--gateway-url", server.url, "--credentials", credentials,
         "--control-port", str(free_port()), "--heartbeat-seconds", "0.5", "--motor-milliseconds", "200",
         "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    yield server
    death = process_death(simulator, "the lock simulator", simulator.stdout.read() if simulator.poll() is not None else "")
    simulator.terminate()
    try:
        simulator.wait(timeout=10)
    except subprocess.TimeoutExpired:
        simulator.kill()
        simulator.wait()
    assert death is None, death


@pytest.fixture
def chromium():
    from selenium import webdriver
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager reach the network
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1100,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"))
    yield driver
    driver.quit()


class Screens:
    """Saves one screenshot per page, the whole page tall."""

    def __init__(self, driver):
        self.driver = driver
        self.dirs = [os.path.join(os.environ["LOCKCLOUD_TEST_WORKDIR"], "owner-pages")]
        if os.environ.get("LOCKCLOUD_SCREENSHOTS_DIR"):
            self.dirs.append(os.environ["LOCKCLOUD_SCREENSHOTS_DIR"])
        for directory in self.dirs:
            os.makedirs(directory, exist_ok=True)

    def shoot(self, name):
        self.driver.set_window_size(1100, 400)  # measured small, so a short page gives a short picture
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1100, min(height + 150, 2400))
        path = os.path.join(self.dirs[0], f"owner-{name}.png")
        assert self.driver.save_screenshot(path)
        for directory in self.dirs[1:]:
            shutil.copy(path, os.path.join(directory, f"owner-{name}.png"))
        self.driver.set_window_size(1100, 900)


def wait_for(driver, condition, timeout=20):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(condition)


def text_of(driver, element_id):
    from selenium.webdriver.common.by import By
    return driver.find_element(By.ID, element_id).text


def test_an_owner_does_everything_in_a_browser(demo_server, chromium):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base = demo_server.url
    seam = tokens_for(base, email="alice@example.com")  # Seam connected, as after the real flow
    screens = Screens(chromium)

    chromium.get(base + "/account")
    wait_for(chromium, lambda d: d.find_element(By.ID, "sign-in"))
    screens.shoot("sign-in")
    chromium.find_element(By.ID, "email").send_keys("alice@example.com")
    chromium.find_element(By.ID, "password").send_keys(PASSWORD)
    chromium.find_element(By.ID, "sign-in").click()

    # The demo locks, all online once the simulator's first heartbeats are in.
    wait_for(chromium, lambda d: d.current_url.endswith("/account/locks"))
    for name in LOCK_NAMES:
        assert name in chromium.page_source
    def all_online(driver):
        driver.refresh()
        return driver.page_source.count("<td>online</td>") == 3
    wait_for(chromium, all_online)
    screens.shoot("locks")

    # Unlock the front door from the list; the lock page shows the action until the lock answers.
    link = chromium.find_element(By.LINK_TEXT, "Front door")
    lock_id = link.get_attribute("href").rsplit("/", 1)[1]
    if chromium.find_element(By.CSS_SELECTOR, f"#row-{lock_id} .lock-state").text == "unlocked":
        chromium.find_element(By.ID, f"lock-{lock_id}").click()
        wait_for(chromium, lambda d: "success" in text_of(d, "action-status"))
        chromium.get(base + "/account/locks")
    assert chromium.find_element(By.CSS_SELECTOR, f"#row-{lock_id} .lock-state").text == "locked"
    chromium.find_element(By.ID, f"unlock-{lock_id}").click()
    wait_for(chromium, lambda d: "/account/locks/" + lock_id in d.current_url and "Unlock" in text_of(d, "action-status"))
    wait_for(chromium, lambda d: "success" in text_of(d, "action-status") and text_of(d, "lock-state") == "unlocked")

    # An online code, then an offline PIN (one-time use, from now), read back from the page.
    chromium.find_element(By.ID, "online-name").send_keys("Cleaner")
    chromium.find_element(By.ID, "online-code").send_keys("2580")
    chromium.find_element(By.ID, "create-online").click()
    wait_for(chromium, lambda d: text_of(d, "issued-pin") == "2580")
    Select(chromium.find_element(By.ID, "offline-type")).select_by_value("one_time_use")
    chromium.find_element(By.ID, "offline-name").send_keys("Guest")
    chromium.find_element(By.ID, "issue-offline").click()
    wait_for(chromium, lambda d: re.fullmatch(r"[0-9]{6,12}", text_of(d, "issued-pin")))
    pin = text_of(chromium, "issued-pin")
    assert "Offline PIN" in text_of(chromium, "issued") and "Guest" in text_of(chromium, "issued")
    assert pin in chromium.find_element(By.ID, "codes").find_element(By.XPATH, "following::table").text
    screens.shoot("lock-and-codes")

    chromium.get(base + "/account/activity")
    wait_for(chromium, lambda d: "lock.action_completed" in d.page_source)
    Select(chromium.find_element(By.ID, "lock")).select_by_visible_text("Front door")
    chromium.find_element(By.ID, "filter").click()
    wait_for(chromium, lambda d: "lock=" + lock_id in d.current_url)
    assert "Back door" not in [cell.text for cell in chromium.find_elements(By.CSS_SELECTOR, "tbody td:nth-child(2)")]
    screens.shoot("activity")

    chromium.get(base + "/account/password")
    wait_for(chromium, lambda d: d.find_element(By.ID, "change-password"))
    screens.shoot("password")

    # Seam is connected and its token works; after Revoke the next call with it is refused.
    api = {"Authorization": "Bearer " + seam["access_token"]}
    assert requests.get(f"{base}/locks", headers=api).status_code == 200
    chromium.get(base + "/account/apps")
    wait_for(chromium, lambda d: d.find_element(By.ID, "revoke-seam"))
    assert "Seam" in text_of(chromium, "app-seam") and "locks.write" in text_of(chromium, "app-seam")
    screens.shoot("connected-apps")
    chromium.find_element(By.ID, "revoke-seam").click()
    wait_for(chromium, lambda d: d.find_element(By.ID, "revoked"))
    refused = requests.get(f"{base}/locks", headers=api)
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["WWW-Authenticate"]

    # Readable on a phone: no page is wider than a phone's screen (tables scroll in their box).
    chromium.set_window_size(390, 844)
    for path in ("/account/locks", f"/account/locks/{lock_id}", "/account/activity", "/account/apps", "/account/password"):
        chromium.get(base + path)
        wide = chromium.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 1, (path, wide)
    chromium.set_window_size(1100, 900)

    chromium.get(base + "/account/locks")
    chromium.find_element(By.ID, "sign-out").click()
    wait_for(chromium, lambda d: "You are signed out." in d.page_source)
    chromium.get(base + "/account/locks")
    wait_for(chromium, lambda d: d.current_url.endswith("/account/sign-in"))
