"""The browser tests' set-up: the console in Debian's headless `chromium`, driven through
`chromedriver` by Selenium, against a real broker and worker (the integration tests' `stack`:
tests/integration/stack.py, the shared sample processed, monitor and publisher tokens).

Without chromium or chromedriver the tests fail when CI is set, and skip elsewhere with a
message saying what to install (scripts/test-tools.sh installs both). Screenshots go to
$AIDMON_SCREENSHOTS, else to pytest's temporary directory; with AIDMON_UPDATE_DOCS=1 the two
the README shows are also written to docs/ (console.png, alert-map.png).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver

from tests.browser.console import Console
from tests.integration.conftest import stack
from tests.integration.stack import Stack

__all__ = ["browser", "console", "screenshots", "stack"]

DESKTOP = (1280, 800)
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def browser_programs() -> tuple[str, str]:
    """The paths of chromium and chromedriver; a failure (CI) or a skip naming what is missing."""
    found = {name: shutil.which(name) for name in ("chromium", "chromedriver")}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        message = (f"{' and '.join(missing)} not found: install Debian's chromium and chromium-driver "
                   "(apt-get install chromium chromium-driver, or scripts/test-tools.sh)")
        if "CI" in os.environ:
            pytest.fail(f"{message}; CI runs the browser tests", pytrace=False)
        pytest.skip(f"{message} (under CI this fails)")
    return found["chromium"] or "", found["chromedriver"] or ""


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """One headless chromium for the session, its viewport 1280x800 at one device pixel per CSS pixel."""
    chromium, chromedriver = browser_programs()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--no-first-run", "--disable-extensions", "--disable-background-networking",
                     "--disable-sync", "--disable-default-apps", "--hide-scrollbars", "--lang=en",
                     f"--window-size={DESKTOP[0]},{DESKTOP[1]}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    log = tmp_path_factory.mktemp("chromedriver") / "chromedriver.log"
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver, log_output=str(log)))
    try:
        driver.set_script_timeout(30)
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests write their screenshots: $AIDMON_SCREENSHOTS, else a temporary directory."""
    wanted = os.environ.get("AIDMON_SCREENSHOTS")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test item, for the `console` fixture to see a failure."""
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


@pytest.fixture
def console(request: pytest.FixtureRequest, browser: WebDriver, stack: Stack, screenshots: Path) -> Iterator[Console]:
    """The console at the stack's worker, signed out, on a desktop viewport. After the test, a
    screenshot if it failed; and no uncaught JavaScript error may have been logged."""
    page = Console(browser, stack.url, screenshots)
    page.open_fresh(*DESKTOP)
    yield page
    outcome = request.node.stash.get(REPORTS, {}).get("call")
    if outcome is not None and outcome.failed:
        page.screenshot(f"failed-{request.node.name}.png")
    errors = page.script_errors()
    assert errors == [], f"the page logged JavaScript errors: {errors}"
