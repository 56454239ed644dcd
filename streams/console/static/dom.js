// Small helpers to build the page: elements from data (as text, never as markup) and times.

const SVG_NS = "http://www.w3.org/2000/svg";

// An HTML element: `attributes` set as attributes (a boolean true as present, false/null as
// absent, "text" as its text), `children` appended (strings as text nodes).
export function el(tag, attributes = {}, ...children) {
  return fill(document.createElement(tag), attributes, children);
}

// An SVG element, the same way.
export function svg(tag, attributes = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attributes, children);
}

function fill(node, attributes, children) {
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = String(value);
    else if (value === true) node.setAttribute(name, "");
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
  }
  return node;
}

// A time of the API (RFC 3339, UTC) as "2012-07-02 02:23 UTC"; the text itself if it is not one.
export function formatTime(text) {
  if (!text) return "";
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) return String(text);
  return time.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

// An element <time> showing `text` formatted, with the machine-readable value.
export function timeElement(text) {
  return el("time", { datetime: text, text: formatTime(text) });
}

// "route_deviation" as "route deviation".
export function words(identifier) {
  return String(identifier ?? "").replaceAll("_", " ");
}

// "route deviation: …" as "Route deviation: …".
export function capitalised(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : "";
}

// Put the keyboard focus on a view's heading, so a screen reader announces the new view.
export function focusHeading(root) {
  const heading = root.querySelector("h1, h2");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}
