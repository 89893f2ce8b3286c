// HeadGrid: thumbnails of every head; the opened head is shown in full beside the grid.
import { attentionPanel } from "./lib/attention.js";
import { headGrid } from "./lib/grid.js";
import { h, textBox, statusLine } from "./lib/dom.js";

function render({ model, el }) {
  const text = textBox(model);
  const status = statusLine(model, ["trace", "pattern"]);
  const readout = h("div", { class: "attnlab-readout attnlab-grid-readout" }, "hover a head; click opens it");
  const grid = headGrid(model, { say: (s) => { readout.textContent = s; } });
  const panel = attentionPanel(model);
  el.append(h("div", { class: "attnlab attnlab-head-grid" },
    h("div", { class: "attnlab-title" }, `${model.get("model_name")} · every head (${model.get("n_layers")} layers × ${model.get("n_heads")} heads)`),
    text.el, status.el,
    h("div", { class: "attnlab-split" },
      h("div", { class: "attnlab-pane" }, grid.el, readout),
      h("div", { class: "attnlab-pane attnlab-detail" }, h("div", { class: "attnlab-subtitle" }, "opened head"), panel.el))));
  return () => { text.stop(); status.stop(); grid.destroy(); panel.destroy(); };
}

export default { render };
