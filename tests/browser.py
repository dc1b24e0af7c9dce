"""Headless Chromium for the page tests, driven by selenium through Debian's chromium-driver
(`scripts/system-deps.sh --test` installs both). `browser()` skips with the reason when either
is missing; CI installs them, so there the tests run."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


def _find(names: tuple[str, ...], variable: str) -> str | None:
    return os.environ.get(variable) or next(filter(None, map(shutil.which, names)), None)


@contextmanager
def browser(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A headless Chromium (selenium WebDriver) that records console and network logs."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed "
                                    "(pip install -e '.[test]'); CI installs it")
    chromium = _find(("chromium", "chromium-browser", "google-chrome"), "CHROMIUM")
    driver_path = _find(("chromedriver",), "CHROMEDRIVER")
    if chromium is None or driver_path is None:
        pytest.skip("Chromium or chromedriver not installed (Debian: apt-get install chromium "
                    "chromium-driver, or scripts/system-deps.sh --test); CI installs them")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-extensions",
                 "--disable-component-update", "--disable-sync", f"--window-size={width},{height}",
                 "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = webdriver.ChromeService(executable_path=driver_path)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver: Any) -> list[str]:
    """Console errors, uncaught exceptions and failed loads since the last call."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def requested_urls(driver: Any) -> list[str]:
    """Every URL the page asked for since the last call (Network.requestWillBeSent events)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def open_page(driver: Any, url: str) -> None:
    """Load `url` after emptying the logs, and wait for its load event."""
    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(url)
    wait_for(driver, lambda: driver.execute_script("return document.readyState") == "complete")


def wait_for(driver: Any, condition: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"page condition not met within {timeout} s")
        time.sleep(0.05)


def file_url(path: Path) -> str:
    return path.resolve().as_uri()
