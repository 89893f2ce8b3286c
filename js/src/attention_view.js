// AttentionView: one head's pattern with a text box. Hover is handled here alone; nothing is sent.
import { attentionPanel } from "./lib/attention.js";
import { h, textBox, statusLine } from "./lib/dom.js";

function render({ model, el }) {
  const text = textBox(model);
  const status = statusLine(model, ["trace", "pattern"]);
  const panel = attentionPanel(model);
  el.append(h("div", { class: "attnlab attnlab-attention-view" },
    h("div", { class: "attnlab-title" }, `${model.get("model_name")} · one head's attention`),
    text.el, status.el, panel.el));
  return () => { text.stop(); status.stop(); panel.destroy(); };
}

export default { render };
