// Small DOM helpers and the request protocol shared by every view.

/** h("div", {class: "x", onclick: f}, child, "text") -> element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "style") Object.assign(el.style, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

let counter = 0;
/**
 * Set traits and, for a change that needs a recompute, a fresh request id on its channel, in ONE message.
 * Python publishes a result with done[channel] = that id; older results are dropped or shown as stale.
 */
export function send(model, changes, channel) {
  for (const [k, v] of Object.entries(changes)) model.set(k, v);
  if (channel) {
    const id = `js-${Date.now().toString(36)}-${++counter}`;
    model.set("request", { ...(model.get("request") || {}), [channel]: id });
  }
  model.save_changes();
}

/** True while the browser waits for the result of the newest request of `channel` (any channel if omitted). */
export function pending(model, channel) {
  const req = model.get("request") || {};
  const done = model.get("done") || {};
  const chans = channel ? [channel] : Object.keys(req);
  return chans.some((c) => req[c] !== undefined && req[c] !== done[c]);
}

/** A token as shown in labels: newlines and tabs made visible. */
export function shown(token) {
  return (token || "").replace(/\n/g, "↵").replace(/\t/g, "⇥") || "∅";
}

/** Size a canvas for CSS pixels w x h on this screen; returns its 2d context in CSS pixel units. */
export function fit(canvas, w, h, maxSide = 32000) {
  const dpr = Math.max(1, Math.min(window.devicePixelRatio || 1, maxSide / Math.max(w, h, 1)));
  canvas.width = Math.max(1, Math.round(w * dpr));
  canvas.height = Math.max(1, Math.round(h * dpr));
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

/** Subscribe to trait changes; returns a function that unsubscribes. */
export function listen(model, names, fn) {
  const events = names.map((n) => `change:${n}`);
  for (const e of events) model.on(e, fn);
  return () => events.forEach((e) => model.off(e, fn));
}

/** Format a weight or probability. */
export function fmt(v, digits = 3) {
  return Number.isFinite(v) ? v.toFixed(digits) : "–";
}

/** A status line: error text from Python, or "computing…" while a request is pending. */
export function statusLine(model, channels) {
  const el = h("div", { class: "attnlab-status" });
  const update = () => {
    const err = model.get("error");
    const busy = channels.some((c) => pending(model, c));
    el.textContent = err ? err : busy ? "computing…" : "";
    el.classList.toggle("attnlab-error", !!err);
    el.classList.toggle("attnlab-busy", !err && busy);
  };
  update();
  return { el, update, stop: listen(model, ["error", "request", "done"], update) };
}

/** Wrap fn so that several trait changes arriving in one message cause a single call. */
export function coalesce(fn) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => { queued = false; fn(); });
  };
}

/** A text box bound to the "text" trait: Enter (or the button) runs the model on the new text. */
export function textBox(model) {
  const input = h("textarea", { class: "attnlab-text", rows: 2, spellcheck: false });
  input.value = model.get("text");
  const run = () => { if (input.value !== model.get("text")) send(model, { text: input.value }, "trace"); };
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); run(); }
  });
  const button = h("button", { class: "attnlab-run", onclick: run, title: "run the model on this text (Enter)" }, "Run");
  const el = h("div", { class: "attnlab-textrow" }, input, button);
  const stop = listen(model, ["text"], () => { if (document.activeElement !== input) input.value = model.get("text"); });
  return { el, stop };
}
