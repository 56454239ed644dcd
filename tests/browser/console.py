"""The console as the browser tests see it: a thin page object over Selenium's driver that
signs in, waits for what the page shows, reads it back, and takes screenshots."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.paths import ROOT

T = TypeVar("T")
WAIT_SECONDS = 30


def attribute(element: WebElement, name: str) -> str:
    """An attribute's value ("" when the element has none)."""
    return element.get_attribute(name) or ""


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, from its IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


class Console:
    def __init__(self, driver: WebDriver, url: str, screenshots: Path) -> None:
        self.driver = driver
        self.url = url
        self.screenshots = screenshots

    def open_fresh(self, width: int, height: int, mobile: bool = False) -> None:
        """The console's page with nothing stored, on a viewport of `width` x `height` CSS pixels."""
        self.viewport(width, height, mobile)
        self.driver.get("about:blank")  # a new document, whatever the last test left
        self.driver.get(f"{self.url}/")
        self.driver.execute_script("sessionStorage.clear(); localStorage.clear();")
        self.driver.refresh()
        self.browser_log()  # forget what earlier pages logged
        self.wait(lambda: self.find("#token").is_displayed())

    def viewport(self, width: int, height: int, mobile: bool = False) -> None:
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})

    def wait(self, condition: Callable[[], T], message: str = "", seconds: float = WAIT_SECONDS) -> T:
        """The first truthy value of `condition`, polled (elements that went stale are retried)."""
        def poll(_: WebDriver) -> Any:
            try:
                return condition()
            except StaleElementReferenceException:
                return False
        result: T = WebDriverWait(self.driver, seconds).until(poll, message)
        return result

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str, within: WebElement | None = None) -> list[WebElement]:
        return (within or self.driver).find_elements(By.CSS_SELECTOR, css)

    def run(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def sign_in(self, token: str) -> None:
        field = self.find("#token")
        field.clear()
        field.send_keys(token)
        self.find("#sign-in-form button[type=submit]").click()

    def signed_in(self, token: str) -> None:
        """Signed in, the first page of alerts shown and the live stream open."""
        self.sign_in(token)
        self.wait(lambda: self.find("#list-view").is_displayed() and self.list_ids(), "no alert list")
        self.wait(lambda: "following" in self.find("#live").text, "the live stream did not open")

    def list_ids(self) -> list[str]:
        return [str(i) for i in self.run(
            "return [...document.querySelectorAll('#list-view li[data-alert-id]')].map(li => li.dataset.alertId)")]

    def load_every_page(self) -> list[str]:
        """Press "Load more alerts" until it goes; the ids listed then."""
        while True:
            more = self.find("#list-view button.more")
            if not more.is_displayed():
                return self.list_ids()
            self.wait(self.next_page(more), "no further page came")

    def next_page(self, more: WebElement) -> Callable[[], bool]:
        """Press `more`; a condition that holds once the next page is shown."""
        count = len(self.list_ids())
        more.click()
        return lambda: len(self.list_ids()) > count or not more.is_displayed()

    def open_alert(self, alert_id: str) -> None:
        self.find(f'li[data-alert-id="{alert_id}"] a').click()
        self.wait(lambda: self.find("#alert-view").is_displayed() and self.find_all("#alert-view h1"), "no alert page")

    def screenshot(self, name: str, docs_name: str | None = None, update_docs: bool = False) -> bytes:
        """A PNG of the viewport, kept as `name` in the screenshots folder (and in docs/ when asked)."""
        data: bytes = self.driver.get_screenshot_as_png()
        (self.screenshots / name).write_bytes(data)
        if docs_name and update_docs:
            (ROOT / "docs" / docs_name).write_bytes(data)
        return data

    def script_errors(self) -> list[str]:
        """Uncaught JavaScript errors the page logged since it was opened."""
        return [entry["message"] for entry in self.browser_log() if entry.get("source") == "javascript"]

    def browser_log(self) -> list[dict[str, Any]]:
        """What the browser logged since the last call (goog:loggingPrefs in conftest.py)."""
        entries: list[dict[str, Any]] = self.driver.get_log("browser")  # type: ignore[no-untyped-call]
        return entries
