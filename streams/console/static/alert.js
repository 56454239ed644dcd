// One alert's page: GET /alerts/{alert_id} with its history, its map, the evidence as a
// timeline, and the lifecycle actions allowed from its status (POST /alerts/{alert_id}/status).

import { alertPath, call } from "./api.js";
import { capitalised, el, focusHeading, timeElement, words } from "./dom.js";
import { drawMap } from "./map.js";
import { ACTIONS, NOTE_REQUIRED, TRANSITIONS } from "./vocabulary.js";

export class AlertPage {
  constructor(root, announce) {
    this.root = root;
    this.announce = announce;
    this.alert = null;
  }

  async show(alertId) {
    this.alertId = alertId;
    this.alert = null;
    this.root.replaceChildren(el("p", { class: "loading", text: "Loading the alert…" }));
    try {
      const alert = await call(alertPath(alertId));
      if (this.alertId !== alertId) return; // another alert was asked for meanwhile
      this.render(alert);
    } catch (error) {
      if (this.alertId !== alertId) return;
      this.root.replaceChildren(backLink(), el("h1", { text: "Alert not shown" }),
        el("p", { class: "error", role: "alert", text: error.message }));
    }
    focusHeading(this.root);
  }

  // An alert from the stream: if it is this one and it changed, show it again (with a notice).
  async live(alert) {
    if (!this.alert || alert.alert_id !== this.alertId || this.root.hidden || this.changing) return;
    const same = ["status", "severity", "score", "summary", "updated_at"].every((k) => alert[k] === this.alert[k])
      && alert.evidence?.length === this.alert.evidence?.length;
    if (same) return; // our own change, already shown, or a re-send
    try {
      const fresh = await call(alertPath(alert.alert_id));
      if (fresh.alert_id !== this.alertId || this.changing) return;
      const note = this.root.querySelector("#status-note")?.value ?? "";
      this.render(fresh, { note, notice: "This alert was updated while you were reading." });
      this.announce("This alert was updated.");
    } catch (error) {
      console.warn("aidmon console: the updated alert could not be loaded:", error.message);
    }
  }

  render(alert, { note = "", notice = "" } = {}) {
    const subject = alert.subject ?? {};
    // the map drawn before stays until the new one is drawn: the page does not jump
    const drawn = this.mapBox?.querySelector(".map-figure, .no-map");
    const kept = drawn && this.alert?.alert_id === alert.alert_id ? drawn : null;
    this.mapBox = el("div", { class: "map-box" }, kept ?? el("p", { class: "loading", text: "Loading the map…" }));
    this.alert = alert;
    this.root.replaceChildren(...[
      backLink(),
      el("h1", { text: capitalised(`${words(alert.typology)}: ${words(subject.kind)} ${subject.id}`) }),
      notice ? el("p", { class: "notice updated", role: "status" }, el("span", { class: "mark updated", text: "updated" }),
        " ", notice) : null,
      el("p", { class: "summary lead", text: alert.summary }),
      facts(alert),
      el("div", { class: "columns" },
        el("section", { class: "panel", "aria-labelledby": "map-title" },
          el("h2", { id: "map-title", text: "Map" }), this.mapBox),
        el("section", { class: "panel", "aria-labelledby": "evidence-title" },
          el("h2", { id: "evidence-title", text: "Evidence" }), evidence(alert.evidence ?? []))),
      el("div", { class: "columns" },
        this.statusSection(alert, note),
        el("section", { class: "panel", "aria-labelledby": "history-title" },
          el("h2", { id: "history-title", text: "History" }), history(alert.history ?? []))),
    ].filter(Boolean));
    this.loadMap(alert.alert_id);
  }

  async loadMap(alertId) {
    const box = this.mapBox;
    try {
      box.replaceChildren(drawMap(await call(alertPath(alertId, "context")), alertId));
    } catch (error) {
      box.replaceChildren(el("p", { class: "no-map", text: `No map for this alert: ${error.message}` }));
    }
  }

  statusSection(alert, note) {
    const allowed = TRANSITIONS[alert.status] ?? [];
    const message = el("p", { id: "status-message", class: "error", role: "alert" });
    const textarea = el("textarea", { id: "status-note", name: "note", rows: 3, maxlength: 2000,
      "aria-describedby": "status-note-help status-message" });
    textarea.value = note;
    const form = el("form", { class: "status-form", "aria-labelledby": "status-title" },
      el("p", { class: "field" },
        el("label", { for: "status-note", text: "Note" }),
        el("span", { id: "status-note-help", class: "help", text: "Why: kept in the audit record. Required to confirm or dismiss." }),
        textarea),
      el("p", { class: "actions" }, allowed.map((status) => el("button", { type: "submit", name: "status",
        value: status, "data-status": status, text: ACTIONS[status] }))),
      message);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.change(event.submitter?.value, textarea, message, form);
    });
    return el("section", { class: "panel", "aria-labelledby": "status-title" },
      el("h2", { id: "status-title", text: "Status" }),
      el("p", {}, "Current status: ", el("strong", { class: `status status-${alert.status}`, id: "current-status",
        text: words(alert.status) })),
      allowed.length ? form : el("p", { text: "No change is possible from this status." }));
  }

  async change(status, textarea, message, form) {
    if (!status) return;
    const note = textarea.value.trim();
    textarea.removeAttribute("aria-invalid");
    if (NOTE_REQUIRED.includes(status) && !note) {
      textarea.setAttribute("aria-invalid", "true");
      message.textContent = `Write a note to ${ACTIONS[status].toLowerCase()} this alert: the audit record keeps why.`;
      textarea.focus();
      return;
    }
    for (const button of form.querySelectorAll("button")) button.disabled = true;
    message.textContent = "";
    this.changing = true; // the stream's echo of this change is not news
    try {
      this.render(await call(alertPath(this.alertId, "status"), { method: "POST", body: { status, note } }));
      this.announce(`The alert is now ${words(status)}.`);
      const heading = this.root.querySelector("#status-title");
      heading?.setAttribute("tabindex", "-1");
      heading?.focus();
    } catch (error) {
      for (const button of form.querySelectorAll("button")) button.disabled = false;
      message.textContent = `The change was not made: ${error.message}`;
    } finally {
      this.changing = false;
    }
  }
}

function backLink() {
  return el("p", { class: "back" }, el("a", { href: "#/alerts", text: "← All alerts" }));
}

function facts(alert) {
  const row = (term, ...value) => [el("dt", { text: term }), el("dd", {}, ...value)];
  return el("dl", { class: "facts" },
    row("Severity", el("span", { class: `badge severity-${alert.severity}`, text: alert.severity })),
    row("Score", Number(alert.score).toFixed(2)),
    row("Status", el("span", { class: `status status-${alert.status}`, text: words(alert.status) })),
    row("Subject", `${words(alert.subject?.kind)} ${alert.subject?.id}`),
    row("Raised", timeElement(alert.raised_at)),
    alert.updated_at ? row("Updated", timeElement(alert.updated_at)) : null,
    row("Alert id", el("code", { text: alert.alert_id })),
    alert.reference ? row("Reference", alert.reference) : null);
}

function evidence(items) {
  if (items.length === 0) return el("p", { text: "No evidence is attached." });
  const sorted = [...items].sort((a, b) => (a.time ?? "\uffff").localeCompare(b.time ?? "\uffff"));
  return el("ol", { class: "timeline" }, sorted.map((item) => el("li", { "data-event-id": item.event_id },
    el("p", { class: "when" }, item.time ? timeElement(item.time) : "time not given"),
    el("p", { class: "type" }, el("code", { text: item.type })),
    el("p", { class: "detail", text: item.detail }))));
}

function history(changes) {
  if (changes.length === 0) return el("p", { text: "No change yet: nobody has acted on this alert." });
  return el("ol", { class: "history" }, changes.map((change) => el("li", { "data-status": change.status },
    el("p", {}, timeElement(change.at), ` ${change.by} (${change.role}): `,
      el("strong", { text: `${words(change.previous)} → ${words(change.status)}` })),
    change.note ? el("p", { class: "note", text: change.note }) : null)));
}
