// Calls to the worker's API with the monitor's bearer token, and the live stream of alerts.
//
// The token lives in this tab's sessionStorage only (never in a URL, never in localStorage):
// closing the tab or signing out forgets it. The stream is read with fetch, not EventSource,
// which cannot send the Authorization header.

import { EventStreamParser } from "./sse.js";

const TOKEN_KEY = "aidmon.console.token";
const RETRY_MS = 3000; // until the stream says otherwise (its `retry:` field)

export class ApiError extends Error {
  constructor(status, error, detail) {
    super(detail);
    this.status = status;
    this.error = error;
    this.detail = detail;
  }
}

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  save: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

let onUnauthorized = () => {};

// `callback(error)` when the API refuses the session's token (401): it was revoked or the
// worker was given other tokens.
export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

export function alertPath(alertId, ...rest) {
  return ["/alerts", encodeURIComponent(alertId), ...rest].join("/");
}

// The JSON answer of `path`; an ApiError with the API's own detail otherwise. With an
// explicit `token` (signing in) a 401 is only thrown, not treated as a lost session.
export async function call(path, { method = "GET", body, token, signal } = {}) {
  const used = token ?? session.token() ?? "";
  const headers = { Accept: "application/json", Authorization: `Bearer ${used}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method, headers, signal, cache: "no-store", credentials: "omit",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "unreachable", "the worker did not answer: is it running, and is the network up?");
  }
  const data = await response.json().catch(() => null);
  if (response.ok) return data;
  const error = new ApiError(response.status, data?.error ?? "error", describe(data?.detail, response));
  if (response.status === 401 && token === undefined) onUnauthorized(error);
  throw error;
}

function describe(detail, response) {
  if (Array.isArray(detail)) return detail.join("; ");
  if (typeof detail === "string" && detail) return detail;
  return `the worker answered ${response.status} ${response.statusText}`.trim();
}

// Follow GET /alerts/stream until the returned function is called: `onAlert(alert)` for each
// new or changed alert, `onState(state)` with "connected", "reconnected" (alerts may have
// been missed meanwhile) or "waiting" (the stream ended; it is opened again after `retry`).
export function followAlerts({ onAlert, onState }) {
  const controller = new AbortController();
  const { signal } = controller;
  let retryMs = RETRY_MS;
  let opened = false;

  async function readOnce() {
    const response = await fetch("/alerts/stream", {
      headers: { Accept: "text/event-stream", Authorization: `Bearer ${session.token() ?? ""}` },
      signal, cache: "no-store", credentials: "omit",
    });
    if (response.status === 401) {
      const data = await response.json().catch(() => null);
      onUnauthorized(new ApiError(401, "unauthorized", describe(data?.detail, response)));
      return false;
    }
    if (!response.ok || !response.body) throw new Error(`the stream answered ${response.status}`);
    onState(opened ? "reconnected" : "connected");
    opened = true;
    const parser = new EventStreamParser((frame) => {
      if (frame.event === "alert") onAlert(JSON.parse(frame.data));
    }, (ms) => { retryMs = ms; });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return true;
      parser.push(value);
    }
  }

  (async () => {
    while (!signal.aborted) {
      try {
        if (!(await readOnce())) return;
      } catch (error) {
        if (signal.aborted) return;
        console.warn("aidmon console: the live stream broke:", error.message);
      }
      onState("waiting");
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, retryMs);
        signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
      });
    }
  })();
  return () => controller.abort();
}
