// The alert list: GET /alerts newest first, its filters, further pages, and live arrivals
// from the stream marked "new" or "updated" in place.

import { call } from "./api.js";
import { capitalised, el, focusHeading, timeElement, words } from "./dom.js";
import { SEVERITIES, STATUSES, TYPOLOGIES } from "./vocabulary.js";

const PAGE_SIZE = 50;
const FILTERS = ["typology", "severity", "status", "subject"];
// the filters the address (#/alerts?…) holds; not the subject, which may be a beneficiary's
// token: the browser's history would keep it
const IN_ADDRESS = ["typology", "severity", "status"];

// newest first, as the API orders them: raised_at, then alert_id
function newer(a, b) {
  const at = Date.parse(a.raised_at) - Date.parse(b.raised_at);
  return at !== 0 ? at > 0 : a.alert_id > b.alert_id;
}

export class AlertList {
  constructor(root, announce) {
    this.root = root;
    this.announce = announce;
    this.query = {};
    this.subject = "";
    this.items = new Map(); // alert_id -> <li>
    this.next = null;
    this.loaded = false;
  }

  // Show the list for the filters of the address and the subject of the form; fetched again
  // when they change.
  async show(address, { focus = true } = {}) {
    const query = { ...address, subject: this.subject };
    const changed = FILTERS.some((name) => (query[name] ?? "") !== (this.query[name] ?? ""));
    if (changed || !this.loaded) {
      this.query = Object.fromEntries(FILTERS.filter((n) => query[n]).map((n) => [n, query[n]]));
      this.render();
      await this.load();
    }
    if (focus) focusHeading(this.root);
  }

  render() {
    this.items.clear();
    this.loaded = false;
    this.list = el("ol", { class: "alerts", "aria-labelledby": "list-title" });
    this.count = el("p", { class: "count", role: "status" });
    this.more = el("button", { type: "button", class: "more", hidden: true, text: "Load more alerts" });
    this.more.addEventListener("click", () => this.load(this.next));
    this.error = el("p", { class: "error", role: "alert" });
    this.root.replaceChildren(
      el("h1", { id: "list-title", text: "Alerts" }), this.filterForm(), this.count, this.error, this.list, this.more,
    );
  }

  filterForm() {
    const select = (name, label, values) => el("p", { class: "field" },
      el("label", { for: `filter-${name}`, text: label }),
      el("select", { id: `filter-${name}`, name },
        el("option", { value: "", text: "any" }),
        values.map((v) => el("option", { value: v, selected: this.query[name] === v, text: words(v) }))));
    const form = el("form", { class: "filters", "aria-label": "Filter the alerts" },
      select("typology", "Typology", TYPOLOGIES),
      select("severity", "Severity", SEVERITIES),
      select("status", "Status", STATUSES),
      el("p", { class: "field" },
        el("label", { for: "filter-subject", text: "Subject id" }),
        el("input", { id: "filter-subject", name: "subject", type: "search", value: this.query.subject ?? "",
          autocomplete: "off", spellcheck: "false", placeholder: "e.g. SHP-000084" })),
      el("p", { class: "actions" },
        el("button", { type: "submit", text: "Apply filters" }),
        el("button", { type: "reset", class: "secondary", text: "Clear" })));
    const go = (query) => {
      const target = "#/alerts" + (query.size ? `?${query}` : "");
      if (location.hash === target) this.show(Object.fromEntries(query));
      else location.hash = target;
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const values = new FormData(form);
      const query = new URLSearchParams();
      for (const name of IN_ADDRESS) if (values.get(name)) query.set(name, values.get(name));
      this.subject = String(values.get("subject") ?? "").trim();
      go(query);
    });
    form.addEventListener("reset", () => {
      this.subject = "";
      go(new URLSearchParams());
    });
    return form;
  }

  // One page: the first, or the one after `cursor`.
  async load(cursor = null) {
    const params = new URLSearchParams({ ...this.query, limit: String(PAGE_SIZE) });
    if (cursor) params.set("cursor", cursor);
    this.more.disabled = true;
    this.error.textContent = "";
    try {
      const page = await call(`/alerts?${params}`);
      for (const alert of page.alerts) this.upsert(alert, null);
      this.next = page.next;
      this.loaded = true;
    } catch (error) {
      this.error.textContent = `The alerts could not be loaded: ${error.message}`;
    }
    this.more.disabled = false;
    this.more.hidden = !this.next;
    this.counted();
  }

  counted() {
    this.count.textContent = `${this.items.size} alert${this.items.size === 1 ? "" : "s"} shown` +
      (this.next ? "; more to load" : "");
  }

  matches(alert) {
    const q = this.query;
    return (!q.typology || alert.typology === q.typology) && (!q.severity || alert.severity === q.severity)
      && (!q.status || alert.status === q.status) && (!q.subject || alert.subject?.id === q.subject);
  }

  // An alert from the stream: added ("new") or changed in place ("updated"); dropped when it
  // no longer matches the filters.
  live(alert) {
    if (!this.loaded) return;
    const known = this.items.has(alert.alert_id);
    if (!this.matches(alert)) {
      if (known) this.items.get(alert.alert_id).remove();
      this.items.delete(alert.alert_id);
      this.counted();
      return;
    }
    const mark = known ? "updated" : "new";
    this.upsert(alert, mark);
    this.counted();
    this.announce(`${mark === "new" ? "New" : "Updated"} alert: ${words(alert.typology)}, ${alert.subject?.id}`);
  }

  upsert(alert, mark) {
    const item = this.item(alert, mark ?? this.items.get(alert.alert_id)?.dataset.mark);
    const known = this.items.get(alert.alert_id);
    if (known) {
      known.replaceWith(item);
    } else {
      const before = [...this.list.children].find((li) => newer(alert, li.alertData));
      this.list.insertBefore(item, before ?? null);
    }
    this.items.set(alert.alert_id, item);
  }

  item(alert, mark) {
    const subject = alert.subject ?? {};
    const li = el("li", { class: `alert-item${mark ? ` marked ${mark}` : ""}`, "data-alert-id": alert.alert_id,
      "data-mark": mark },
      el("p", { class: "headline" },
        el("span", { class: `badge severity-${alert.severity}`, text: alert.severity }),
        " ",
        el("a", { href: `#/alerts/${encodeURIComponent(alert.alert_id)}`, text:
          capitalised(`${words(alert.typology)}: ${words(subject.kind)} ${subject.id}`) }),
        mark ? el("span", { class: `mark ${mark}`, text: mark }) : null),
      el("p", { class: "summary", text: alert.summary }),
      el("p", { class: "meta" },
        el("span", { class: `status status-${alert.status}`, text: words(alert.status) }),
        el("span", {}, "raised ", timeElement(alert.raised_at)),
        el("span", { text: `score ${Number(alert.score).toFixed(2)}` })));
    li.alertData = alert;
    return li;
  }
}
