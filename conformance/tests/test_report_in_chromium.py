"""The HTML report of the LockCloud run is viewable: headless Chromium loads it and a
screenshot is saved beside it (its path is printed)."""
import os
import shutil

import pytest


def test_html_report_renders_in_headless_chromium(honest_run, workdir):
    if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
        pytest.skip("no chromium on this machine")
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    os.environ.setdefault("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1600"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"))
    try:
        driver.get("file://" + str(honest_run[3]["html"]))
        assert "Seam-compatibility conformance report" in driver.find_element(By.TAG_NAME, "h1").text
        assert len(driver.find_elements(By.CSS_SELECTOR, "tr.passed")) > 10
        shot = workdir / "conformance-report.png"
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 1000
        print(f"screenshot of the conformance report: {shot}")
    finally:
        driver.quit()
