// Per-token loss before vs after an ablation: bar i is the loss of predicting token i+1.
import { COLORS } from "./colors.js";
import { h, fit, shown, fmt } from "./dom.js";

export function lossBars({ say }) {
  const canvas = h("canvas", { class: "attnlab-losses" });
  const el = h("div", { class: "attnlab-scroll attnlab-loss-scroll" }, canvas);
  let st = null;

  function draw(tokens, before, after) {
    const n = before.length;
    const bw = Math.max(4, Math.min(26, Math.floor(860 / Math.max(1, n))));
    const labels = bw >= 11;
    const plotH = 120, top = 14, labelH = labels ? 64 : 14;
    const W = 40 + n * bw + 8, H = top + plotH + labelH;
    let max = 0;
    for (let i = 0; i < n; i++) max = Math.max(max, before[i], after[i] || 0);
    max = max > 0 ? max : 1;
    const ctx = fit(canvas, W, H);
    ctx.clearRect(0, 0, W, H);
    ctx.font = "10px system-ui, sans-serif";
    ctx.fillStyle = "#666";
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const v of [0, max / 2, max]) {
      const y = top + plotH - (v / max) * plotH;
      ctx.fillText(fmt(v, 1), 34, y);
      ctx.fillStyle = "#eee"; ctx.fillRect(38, y, n * bw, 1); ctx.fillStyle = "#666";
    }
    for (let i = 0; i < n; i++) {
      const x = 40 + i * bw;
      const hb = (before[i] / max) * plotH, ha = ((after[i] ?? before[i]) / max) * plotH;
      ctx.fillStyle = "#bdbdbd";
      ctx.fillRect(x + 1, top + plotH - hb, Math.max(1, bw / 2 - 1), hb);
      ctx.fillStyle = COLORS.ablated;
      ctx.fillRect(x + bw / 2, top + plotH - ha, Math.max(1, bw / 2 - 1), ha);
      if (labels) {
        ctx.save();
        ctx.translate(x + bw / 2, top + plotH + 4);
        ctx.rotate(-Math.PI / 3);
        ctx.fillStyle = "#333";
        ctx.textAlign = "right";
        ctx.fillText(shown(tokens[i + 1]), 0, 0, 70);
        ctx.restore();
      }
    }
    ctx.fillStyle = "#333";
    ctx.textAlign = "left";
    ctx.fillText("loss per predicted token (nats): grey before, red after", 40, 6);
    st = { tokens, before, after, bw, n };
  }

  canvas.addEventListener("mousemove", (ev) => {
    if (!st) return;
    const r = canvas.getBoundingClientRect();
    const i = Math.floor((ev.clientX - r.left - 40) / st.bw);
    if (i < 0 || i >= st.n) return;
    const b = st.before[i], a = st.after[i] ?? b;
    const d = a - b;
    say(`predicting "${shown(st.tokens[i + 1])}" after "${shown(st.tokens[i])}": loss ${fmt(b)} → ${fmt(a)} (${d >= 0 ? "+" : ""}${fmt(d)})`);
  });

  return { el, draw };
}
