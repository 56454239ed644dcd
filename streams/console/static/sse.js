// A parser of Server-Sent Events frames (the WHATWG "event stream" format), for a stream read
// with fetch: EventSource cannot send the Authorization header the API needs.

export class EventStreamParser {
  // `onEvent({event, data, id})` is called once per dispatched event; `onRetry(ms)` per retry field.
  constructor(onEvent, onRetry = () => {}) {
    this.onEvent = onEvent;
    this.onRetry = onRetry;
    this.buffer = "";
    this.reset();
    this.lastId = "";
  }

  reset() {
    this.event = "";
    this.data = [];
  }

  // Feed decoded text as it arrives; complete lines are processed, the rest is kept.
  push(text) {
    this.buffer += text;
    // a "\r" at the end may be the first half of "\r\n": keep it for the next chunk
    const end = this.buffer.endsWith("\r") ? this.buffer.length - 1 : this.buffer.length;
    const lines = this.buffer.slice(0, end).split(/\r\n|\r|\n/);
    this.buffer = lines.pop() + this.buffer.slice(end);
    for (const line of lines) this.line(line);
  }

  line(line) {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.startsWith(":")) return; // a comment (keep-alive)
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id" && !value.includes("\0")) this.lastId = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.onRetry(Number(value));
  }

  dispatch() {
    if (this.data.length > 0) {
      this.onEvent({ event: this.event || "message", data: this.data.join("\n"), id: this.lastId });
    }
    this.reset();
  }
}
