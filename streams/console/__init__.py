"""The monitors' web console: static files of the project's own, served by the worker's web
server next to the API (ARCHITECTURE.md, HOUSE_STYLE.md rule 15).

    GET /                  static/index.html
    GET /console/{name}    static/{name}: the ES modules (*.js) and the style sheet

The files are package data (`streams.console.static`), read with importlib.resources, so a
wheel serves them too. They need no token: what they show comes from the API, which the
page calls with the monitor's bearer token (kept in the tab's sessionStorage, never in a
URL). Every answer says `Cache-Control: no-cache` (the browser revalidates, so a new
worker's files are used at once) and carries a Content-Security-Policy that lets the page
load nothing but this origin's own files: no CDN, tiles or fonts, as field offices work
offline.

    static/index.html  the page: sign-in, the alert list, an alert's page
    static/main.js     signing in and out, which view the address (#/...) shows
    static/api.js      calls to the API with the token, and the live stream (fetch + SSE)
    static/sse.js      a parser of Server-Sent Events frames
    static/list.js     the alert list: filters, pages, live arrivals
    static/alert.js    one alert: evidence, lifecycle actions, history
    static/map.js      the alert's map, drawn as SVG from GET /alerts/{alert_id}/context
    static/dom.js      small DOM and formatting helpers
    static/style.css   the style sheet
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

import faust
from aiohttp import web
from faust.web import View

__all__ = ["CONTENT_TYPES", "STATIC", "register_console"]

STATIC: Traversable = files("streams.console").joinpath("static")
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
# 'self' only: the page runs and loads this origin's files alone; API data is put in the page
# as text (never as markup), and the SVG map is drawn with DOM calls, not inline styles
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
          "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def static_files() -> dict[str, Traversable]:
    """The files the console serves, by name: those of the static folder with a known type."""
    return {item.name: item for item in STATIC.iterdir()
            if item.is_file() and _suffix(item.name) in CONTENT_TYPES}


def _suffix(name: str) -> str:
    return name[name.rfind("."):] if "." in name else ""


def _answer(item: Traversable) -> web.Response:
    headers = {**HEADERS, "Content-Type": CONTENT_TYPES[_suffix(item.name)]}
    return web.Response(body=item.read_bytes(), headers=headers)


def _not_found(name: str) -> web.Response:
    return web.json_response({"error": "not_found", "detail": f"the console has no file {name!r}"}, status=404,
                             headers={"Cache-Control": "no-cache"})


class ConsolePage(View):
    """GET /: the console's page."""

    async def get(self, request: web.Request, **kwargs: Any) -> web.Response:
        return _answer(STATIC.joinpath("index.html"))


class ConsoleFile(View):
    """GET /console/{name}: one of the console's modules or its style sheet."""

    async def get(self, request: web.Request, name: str = "", **kwargs: Any) -> web.Response:
        item = static_files().get(name)  # a name the folder holds, nothing else: no path is built from it
        return _answer(item) if item is not None else _not_found(name)


def register_console(app: faust.App) -> None:
    """Serve the console on the Faust app's web server. Call it before the worker starts:
    Faust's own index page would take `/` otherwise (the first route added for a path wins)."""
    app.page("/", name="ConsolePage")(ConsolePage)
    app.page("/console/{name}", name="ConsoleFile")(ConsoleFile)
