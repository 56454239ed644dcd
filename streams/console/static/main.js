// The console's start: signing in and out, the live stream, and which view the address shows.
//
//   #/alerts[?typology=…&severity=…&status=…]   the list, filtered
//   #/alerts/{alert_id}                          one alert
//
// The address holds filters and alert ids only: the token stays in sessionStorage, and the
// subject filter (maybe a beneficiary's token) in the list's form.

import { ApiError, call, followAlerts, session, whenUnauthorized } from "./api.js";
import { AlertList } from "./list.js";
import { AlertPage } from "./alert.js";

const $ = (id) => document.getElementById(id);
const LIVE_STATES = {
  connected: "Live: following new alerts",
  reconnected: "Live: following new alerts",
  waiting: "Live: connection lost, trying again…",
};

const announcer = $("announce");
const announce = (text) => { announcer.textContent = text; };
const list = new AlertList($("list-view"), announce);
const page = new AlertPage($("alert-view"), announce);
let stopFollowing = null;

function showSignIn(message = "") {
  $("sign-in").hidden = false;
  $("nav").hidden = true;
  $("list-view").hidden = true;
  $("alert-view").hidden = true;
  $("sign-in-error").textContent = message;
  $("token").focus();
}

function enterConsole() {
  $("sign-in").hidden = true;
  $("nav").hidden = false;
  follow();
  route();
}

function follow() {
  stopFollowing?.();
  stopFollowing = followAlerts({
    onAlert: (alert) => { list.live(alert); page.live(alert); },
    onState: (state) => {
      $("live").textContent = LIVE_STATES[state];
      $("live").dataset.state = state;
      if (state === "reconnected" && list.loaded) list.load(); // what may have come meanwhile
    },
  });
}

function signOut(message = "") {
  stopFollowing?.();
  stopFollowing = null;
  session.clear();
  list.loaded = false;
  list.query = {};
  list.subject = "";
  $("list-view").replaceChildren();
  $("alert-view").replaceChildren();
  showSignIn(message);
}

// The view the address names.
function route() {
  if (!session.token()) return;
  const hash = location.hash || "#/alerts";
  if (!hash.startsWith("#/")) return; // the skip link and other in-page anchors
  const [path, search = ""] = hash.slice(1).split("?");
  const one = path.match(/^\/alerts\/([^/]+)$/);
  $("list-view").hidden = Boolean(one);
  $("alert-view").hidden = !one;
  if (one) {
    document.title = "Alert · aidmon console";
    page.show(decodeURIComponent(one[1]));
  } else {
    document.title = "Alerts · aidmon console";
    list.show(Object.fromEntries(new URLSearchParams(search)));
  }
}

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("token");
  const token = input.value.trim();
  if (!token) {
    showSignIn("Enter your token.");
    return;
  }
  const button = event.submitter;
  if (button) button.disabled = true;
  try {
    await call("/alerts?limit=1", { token }); // the token works, and holds the monitor role
    session.save(token);
    input.value = "";
    enterConsole();
  } catch (error) {
    showSignIn(error instanceof ApiError ? error.detail : error.message);
  } finally {
    if (button) button.disabled = false;
  }
});

$("sign-out").addEventListener("click", () => signOut("You are signed out."));
whenUnauthorized((error) => signOut(`Signed out: ${error.detail}`));
window.addEventListener("hashchange", route);
// A page kept in the back-forward cache would hold its stream's connection, one of the six
// a browser opens to a host: close it on leaving, open it again on coming back.
window.addEventListener("pagehide", () => { stopFollowing?.(); stopFollowing = null; });
window.addEventListener("pageshow", (event) => { if (event.persisted && session.token()) follow(); });

if (session.token()) enterConsole();
else showSignIn();
