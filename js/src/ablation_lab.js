// AblationLab: toggle heads, watch the next-token prediction and the per-token loss change.
// Each toggle carries a request id; results of older requests are never shown as current.
import { attentionPanel } from "./lib/attention.js";
import { headGrid } from "./lib/grid.js";
import { lossBars } from "./lib/losses.js";
import { h, send, pending, shown, fmt, listen, coalesce, textBox, statusLine } from "./lib/dom.js";
import { float16 } from "./lib/wire.js";

function predictionTable(model) {
  const before = model.get("top_before") || [], after = model.get("top_after") || [];
  const rows = [];
  for (let i = 0; i < Math.max(before.length, after.length); i++) {
    const b = before[i], a = after[i];
    rows.push(h("tr", {},
      h("td", { class: "attnlab-rank" }, `${i + 1}.`),
      h("td", { class: "attnlab-tok-before" }, b ? `"${shown(b.token)}"` : ""),
      h("td", { class: "attnlab-num" }, b ? fmt(b.p) : "", b ? h("span", { class: "attnlab-dim" }, ` → ${fmt(b.p_other)}`) : ""),
      h("td", { class: "attnlab-tok-after" }, a ? `"${shown(a.token)}"` : ""),
      h("td", { class: "attnlab-num" }, a ? fmt(a.p) : "", a ? h("span", { class: "attnlab-dim" }, ` (was ${fmt(a.p_other)})`) : "")));
  }
  return h("table", { class: "attnlab-predictions" },
    h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", { colspan: 2 }, "before (p → after)"), h("th", { colspan: 2 }, "after ablation"))),
    h("tbody", {}, rows));
}

function render({ model, el }) {
  const text = textBox(model);
  const status = statusLine(model, ["trace", "pattern", "predict"]);
  const readout = h("div", { class: "attnlab-readout attnlab-grid-readout" }, "click a head to ablate it; shift-click opens its pattern");
  const say = (s) => { readout.textContent = s; };
  const grid = headGrid(model, { ablateChannel: "predict", say });
  const panel = attentionPanel(model);
  const losses = lossBars({ say });

  const howSel = h("select", { class: "attnlab-how", onchange: () => send(model, { how: howSel.value }, "predict") },
    h("option", { value: "zero" }, "zero ablation"), h("option", { value: "mean" }, "mean ablation"));
  const reset = h("button", { class: "attnlab-reset", onclick: () => send(model, { ablate: [] }, "predict") }, "Reset");
  const codeBox = h("textarea", { class: "attnlab-code", rows: 2, readOnly: true, spellcheck: false });
  const copied = h("span", { class: "attnlab-dim" });
  const copy = h("button", {
    class: "attnlab-copy", title: "copy this ablation as Python",
    onclick: async () => {
      try { await navigator.clipboard.writeText(model.get("code")); }
      catch { codeBox.select(); document.execCommand("copy"); }
      copied.textContent = " copied";
      setTimeout(() => { copied.textContent = ""; }, 1500);
    },
  }, "Copy as Python");

  const note = h("div", { class: "attnlab-note" });
  const summary = h("div", { class: "attnlab-loss-summary" });
  const next = h("div", { class: "attnlab-next" });
  const results = h("div", { class: "attnlab-results" }, summary, next, losses.el);

  function update() {
    howSel.value = model.get("how");
    codeBox.value = model.get("code");
    const noteText = model.get("note");
    note.textContent = noteText;
    note.style.display = noteText ? "" : "none";
    results.style.display = noteText ? "none" : "";
    const stale = pending(model, "predict") || pending(model, "trace");
    results.classList.toggle("attnlab-stale", stale);
    results.dataset.stale = String(stale);
    if (noteText) return;
    const tokens = model.get("tokens");
    const lb = model.get("loss_before"), la = model.get("loss_after");
    const d = la - lb;
    summary.replaceChildren(
      h("span", {}, `mean loss ${fmt(lb)} → `), h("b", { class: "attnlab-loss-after" }, fmt(la)),
      h("span", { class: d > 0.005 ? "attnlab-worse" : d < -0.005 ? "attnlab-better" : "attnlab-dim" }, ` (${d >= 0 ? "+" : ""}${fmt(d)})`),
      stale ? h("span", { class: "attnlab-badge" }, "updating…") : "");
    next.replaceChildren(h("div", { class: "attnlab-subtitle" }, `next token after "${shown(tokens[tokens.length - 1])}"`), predictionTable(model));
    losses.draw(tokens, float16(model.get("token_loss_before")), float16(model.get("token_loss_after")));
  }

  update();
  const stops = [
    listen(model, ["top_before", "top_after", "loss_before", "loss_after", "token_loss_before", "token_loss_after",
      "tokens", "code", "how", "note", "request", "done"], coalesce(update)),
  ];
  el.append(h("div", { class: "attnlab attnlab-ablation-lab" },
    h("div", { class: "attnlab-title" }, `${model.get("model_name")} · ablation lab`),
    text.el,
    h("div", { class: "attnlab-controls" }, howSel, reset, copy, copied),
    codeBox, status.el, note,
    h("div", { class: "attnlab-split" },
      h("div", { class: "attnlab-pane" }, grid.el, readout),
      h("div", { class: "attnlab-pane" }, results)),
    h("details", { class: "attnlab-detail" }, h("summary", {}, "opened head (shift-click a head)"), panel.el)));
  // opening a head from the grid unfolds its pattern
  const unfold = listen(model, ["layer", "head"], () => { el.querySelector("details.attnlab-detail").open = true; });
  return () => { stops.forEach((s) => s()); unfold(); text.stop(); status.stop(); grid.destroy(); panel.destroy(); };
}

export default { render };
