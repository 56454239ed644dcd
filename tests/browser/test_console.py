"""The monitors' console in a real browser against a real worker: serving, signing in and out,
the alert list as the API gives it, live arrivals, and the layout on a phone."""

from __future__ import annotations

import os
import re

import httpx
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from tests.browser.console import Console, attribute, png_size
from tests.integration.stack import Stack
from tests.integration.test_api import dispatch
from tests.paths import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.kafka]

UPDATE_DOCS = os.environ.get("AIDMON_UPDATE_DOCS") == "1"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # a name, not an address: the only URL the files may hold
SANCTIONED = "Oumar Sidi Traorabe"  # listed in the shared sample's sanctions.xml
STATIC = ROOT / "streams" / "console" / "static"
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
SERVED = [("/", "text/html"),
          *[(f"/console/{f.name}", TYPES[f.suffix]) for f in sorted(STATIC.iterdir()) if f.suffix in TYPES]]

# the texts (elements with a text of their own, outside SVG) whose colour against the first
# opaque background behind them is under WCAG AA
LOW_CONTRAST = """
const rgb = c => c.match(/[\\d.]+/g).map(Number);
const lum = ([r, g, b]) => [r, g, b].map(v => v / 255).map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
  .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
const behind = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor);
  if (c.length < 4 || c[3] > 0.5) return c.slice(0, 3); } return [255, 255, 255]; };
return [...document.querySelectorAll('body *')].filter(e => !e.closest('svg') && e.offsetParent !== null
    && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())).map(e => {
  const style = getComputedStyle(e); const [a, b] = [lum(rgb(style.color)), lum(behind(e))];
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const large = parseFloat(style.fontSize) >= 24 || (parseFloat(style.fontSize) >= 18.66 && style.fontWeight >= 700);
  return [e.tagName + '.' + e.className + ': ' + e.textContent.trim().slice(0, 30), ratio, large ? 3 : 4.5];
}).filter(([, ratio, least]) => ratio < least).map(([what, ratio]) => what + ' ' + ratio.toFixed(2));
"""


@pytest.mark.parametrize(("path", "content_type"), SERVED, ids=[path for path, _ in SERVED])
def test_static_files_are_served_without_a_token(stack: Stack, path: str, content_type: str) -> None:
    """The page and each file of the console's folder need no token, say their type and no-cache,
    name no other origin, and carry a policy that lets the page load this origin's files only."""
    answer = httpx.get(f"{stack.url}{path}", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].split(";")[0] == content_type
    assert answer.headers["cache-control"] == "no-cache"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert set(re.findall(r"\w+://[^\s\"'`)]*", answer.text)) <= {SVG_NAMESPACE}, "a file loads from elsewhere"


def test_an_unknown_console_file_is_404(stack: Stack) -> None:
    """A name the console does not ship, or one that tries to leave its folder, is a JSON 404."""
    for name in ("missing.js", "..%2F__init__.py", "__init__.py"):
        answer = httpx.get(f"{stack.url}/console/{name}", timeout=10)
        assert (answer.status_code, answer.json()["error"]) == (404, "not_found"), name


@pytest.mark.parametrize(("role", "message"), [
    (None, "this token is not known to the worker"),
    ("publisher", "the publisher role may not do this; it needs monitor"),
])
def test_a_token_the_api_refuses_shows_its_message(console: Console, stack: Stack, role: str | None,
                                                   message: str) -> None:
    """Signing in with an unknown token (401) or a publisher's (403) shows the API's own detail
    and stays signed out."""
    console.sign_in(stack.tokens[role] if role else "not-a-real-token")
    assert console.wait(lambda: console.find("#sign-in-error").text, "no error shown") == message
    assert console.find("#sign-in").is_displayed() and not console.find("#list-view").is_displayed()
    assert console.run("return sessionStorage.length") == 0


def test_the_token_stays_in_session_storage_until_sign_out(console: Console, stack: Stack) -> None:
    """Signed in, the token is in sessionStorage only (not in the address, not in localStorage);
    signing out forgets it and shows the sign-in form again."""
    token = stack.tokens["monitor"]
    console.signed_in(token)
    assert token in console.run("return Object.values(sessionStorage)")
    assert console.run("return localStorage.length") == 0
    assert token not in console.driver.current_url
    console.find("#sign-out").click()
    console.wait(lambda: console.find("#sign-in").is_displayed(), "not signed out")
    assert console.run("return sessionStorage.length") == 0
    assert not console.find("#list-view").is_displayed()


def test_the_list_shows_the_alerts_the_api_lists(console: Console, stack: Stack) -> None:
    """The first page shows the API's first page in its order, and every page loaded shows every alert."""
    console.signed_in(stack.tokens["monitor"])
    first = stack.get("/alerts", limit=50).json()["alerts"]
    assert console.list_ids() == [a["alert_id"] for a in first]
    every = console.load_every_page()
    assert every == [a["alert_id"] for a in stack.all_alerts()]
    assert len(every) > 50
    console.run("window.scrollTo(0, 0)")
    data = console.screenshot("console.png", "console.png", UPDATE_DOCS)
    assert png_size(data) == (1280, 800)


def test_filters_list_what_the_api_selects(console: Console, stack: Stack) -> None:
    """Choosing a typology and a severity lists exactly the alerts the API gives for those filters."""
    console.signed_in(stack.tokens["monitor"])
    console.find("#filter-typology option[value=incident_nearby]").click()
    console.find("#filter-severity option[value=high]").click()
    console.find(".filters button[type=submit]").click()
    wanted = [a["alert_id"] for a in stack.all_alerts(typology="incident_nearby", severity="high")]
    assert wanted
    console.wait(lambda: console.list_ids() == wanted, f"the filtered list is not {wanted}")
    assert "typology=incident_nearby" in console.driver.current_url


def test_a_published_event_appears_in_the_list_without_reload(console: Console, stack: Stack) -> None:
    """An event published while the list is open raises an alert that appears, marked new, with no reload."""
    console.signed_in(stack.tokens["monitor"])
    console.run("window.notReloaded = true")
    sent = stack.post("/events", "publisher", json=dispatch("browser-live-1", "SHP-BROWSER-1", SANCTIONED))
    assert sent.status_code == 202, sent.text
    item = console.wait(lambda: [li for li in console.find_all("#list-view li[data-alert-id]")
                                 if "SHP-BROWSER-1" in li.text], "the new alert did not appear", seconds=60)[0]
    assert attribute(item, "data-mark") == "new" and "NEW" in item.text.upper()
    assert console.run("return window.notReloaded") is True
    raised = stack.all_alerts(subject="SHP-BROWSER-1")
    assert attribute(item, "data-alert-id") in {a["alert_id"] for a in raised}


def test_a_status_change_elsewhere_marks_the_alert_updated(console: Console, stack: Stack) -> None:
    """A change made through the API by someone else shows in the open list as "updated", with the new status."""
    console.signed_in(stack.tokens["monitor"])
    shown = stack.get("/alerts", limit=50).json()["alerts"]  # the first page, as the console shows it
    target = next(a["alert_id"] for a in shown if a["typology"] == "overdue_shipment" and a["status"] == "open")
    changed = stack.post(f"/alerts/{target}/status", "admin", json={"status": "dismissed", "note": "duplicate"})
    assert changed.status_code == 200, changed.text
    item = f'li[data-alert-id="{target}"]'
    console.wait(lambda: attribute(console.find(item), "data-mark") == "updated", "no updated mark")
    assert "dismissed" in console.find(f"{item} .status").text


def test_a_subject_filter_stays_out_of_the_address(console: Console, stack: Stack) -> None:
    """Filtering on a subject lists that subject's alerts, and the subject (maybe a beneficiary's
    token) is not put in the address, where the browser's history would keep it."""
    [beneficiary, *_] = stack.all_alerts(typology="duplicate_collection")
    subject = beneficiary["subject"]["id"]
    console.signed_in(stack.tokens["monitor"])
    console.find("#filter-subject").send_keys(subject)
    console.find(".filters button[type=submit]").click()
    wanted = [a["alert_id"] for a in stack.all_alerts(subject=subject)]
    console.wait(lambda: console.list_ids() == wanted, f"the list is not {wanted}")
    assert subject not in console.driver.current_url


def test_the_keyboard_alone_signs_in_and_reaches_the_controls(console: Console, stack: Stack) -> None:
    """With keys only: type the token and Enter, then Tab reaches every filter and the first alert's link,
    and Enter on that link opens the alert."""
    assert console.run("return document.activeElement.id") == "token"
    ActionChains(console.driver).send_keys(stack.tokens["monitor"], Keys.ENTER).perform()
    console.wait(lambda: console.list_ids(), "not signed in")
    first = console.list_ids()[0]
    reached: list[str] = []
    for _ in range(15):
        ActionChains(console.driver).send_keys(Keys.TAB).perform()
        reached.append(console.run("""const e = document.activeElement;
            return e.id || e.closest('li[data-alert-id]')?.dataset.alertId || e.textContent.trim()"""))
        if reached[-1] == first:
            break
    assert {"filter-typology", "filter-severity", "filter-status", "filter-subject", "Apply filters",
            first} <= set(reached), reached
    ActionChains(console.driver).send_keys(Keys.ENTER).perform()
    console.wait(lambda: console.find("#alert-view").is_displayed(), "Enter did not open the alert")


def test_every_control_has_a_label(console: Console, stack: Stack) -> None:
    """Each visible input, select and textarea of the sign-in, the list and an alert's page has a
    label, and each button a name."""
    unlabelled = """return [...document.querySelectorAll('input, select, textarea, button')]
        .filter(c => c.offsetParent !== null)
        .filter(c => !(c.labels && c.labels.length) && !c.getAttribute('aria-label') && !c.textContent.trim())
        .map(c => c.outerHTML)"""
    assert console.run(unlabelled) == []
    console.signed_in(stack.tokens["monitor"])
    assert console.run(unlabelled) == []
    console.open_alert(console.list_ids()[0])
    console.wait(lambda: console.find_all("#alert-view .status-form"), "no status form")
    assert console.run(unlabelled) == []


def test_text_has_readable_contrast(console: Console, stack: Stack) -> None:
    """Every visible text of the list and of an alert's page has a contrast of at least 4.5:1 with
    what is behind it (WCAG AA; 3:1 for large text)."""
    console.signed_in(stack.tokens["monitor"])
    assert console.run(LOW_CONTRAST) == []
    console.open_alert(console.list_ids()[0])
    console.wait(lambda: console.find_all("#alert-view .map, #alert-view .no-map"), "no map shown")
    assert console.run(LOW_CONTRAST) == []


def test_the_console_fits_a_phone(console: Console, stack: Stack) -> None:
    """At 390 CSS pixels wide the list and an alert's page scroll only vertically."""
    console.open_fresh(390, 844, mobile=True)
    console.signed_in(stack.tokens["monitor"])
    assert console.run("return document.documentElement.scrollWidth") <= 390
    console.screenshot("phone-list.png")
    console.open_alert(console.list_ids()[0])
    console.wait(lambda: console.find_all("#alert-view .map, #alert-view .no-map"), "no map shown")
    assert console.run("return document.documentElement.scrollWidth") <= 390
    console.screenshot("phone-alert.png")
