// Every layer x head as a thumbnail of its pattern, framed by a score colour, sortable by that score.
// Click opens a head (layer/head -> Python); shift-click, or the "click ablates" action, toggles its ablation.
import { lut, MASKED, scaler, css, legend, COLORS } from "./colors.js";
import { h, send, fit, listen, fmt, coalesce } from "./dom.js";
import { bytes, float16 } from "./wire.js";

const S = 32;      // thumbnail size in CSS px
const STEP = 38;   // thumbnail + frame + gap
const LABEL = 34;  // width of the "L12" column
const HEADER = 16; // height of the head-number row
const MAX_W = 880;

/** Where each head sits: {pos: [[x, y] per layer*n_heads + head], width, height, labels}. */
function layout(L, H, order, scores) {
  const blockW = LABEL + H * STEP;
  const blocks = Math.max(1, Math.min(Math.ceil(L / 6), Math.floor(MAX_W / blockW)));
  const pos = new Array(L * H);
  if (order === "score" && scores.length === L * H) {
    const perRow = Math.max(H, blocks * H);
    const ids = [...Array(L * H).keys()].sort((a, b) => scores[b] - scores[a]);
    ids.forEach((id, rank) => { pos[id] = [8 + (rank % perRow) * STEP, 4 + Math.floor(rank / perRow) * (STEP + 12)]; });
    return { pos, width: 16 + perRow * STEP, height: 8 + Math.ceil((L * H) / perRow) * (STEP + 12), sorted: true, blocks, rows: 0 };
  }
  const rows = Math.ceil(L / blocks);
  for (let l = 0; l < L; l++) {
    const b = Math.floor(l / rows), r = l % rows;
    for (let hd = 0; hd < H; hd++) pos[l * H + hd] = [b * (blockW + 12) + LABEL + hd * STEP + 3, HEADER + r * STEP + 3];
  }
  return { pos, width: blocks * (blockW + 12), height: HEADER + rows * STEP + 4, sorted: false, blocks, rows, blockW };
}

export function headGrid(model, { ablateChannel = null, say = () => {} } = {}) {
  const canvas = h("canvas", { class: "attnlab-grid" });
  const orderSel = h("select", { class: "attnlab-order", onchange: () => send(model, { order: orderSel.value }) },
    h("option", { value: "layer" }, "by layer"), h("option", { value: "score" }, "sorted by score"));
  const actionSel = h("select", { class: "attnlab-action", onchange: () => send(model, { click_action: actionSel.value }) },
    h("option", { value: "open" }, "click opens a head"), h("option", { value: "ablate" }, "click ablates a head"));
  const info = h("span", { class: "attnlab-ablated" });
  const legendSlot = h("span");
  const controls = h("div", { class: "attnlab-controls" }, orderSel, actionSel, info, legendSlot);
  const el = h("div", { class: "attnlab-headgrid" }, controls, h("div", { class: "attnlab-gridwrap" }, canvas));
  let st = null;
  let hover = null;

  function decode() {
    const L = model.get("n_layers"), H = model.get("n_heads");
    const raw = bytes(model.get("thumbs"));
    const r = Math.round(Math.sqrt(raw.length / (L * H)));
    if (!r || r * r * L * H !== raw.length) return null;
    const scores = float16(model.get("scores"));
    return { L, H, r, raw, scores: scores.length === L * H ? scores : new Float32Array(0) };
  }

  /** All thumbnails painted once into an atlas canvas (L*r x H*r), redrawn only when data or colours change. */
  function atlas({ L, H, r, raw }) {
    const scale = scaler(model.get("color_scale"));
    const table = lut("attention");
    const causalMask = model.get("is_causal") && model.get("tokens").length <= r;
    const img = new ImageData(H * r, L * r);
    for (let l = 0; l < L; l++) for (let hd = 0; hd < H; hd++) {
      const base = (l * H + hd) * r * r;
      for (let q = 0; q < r; q++) for (let k = 0; k < r; k++) {
        const o = 4 * ((l * r + q) * H * r + hd * r + k);
        if (causalMask && k > q) img.data.set(MASKED, o);
        else {
          const i = 3 * Math.min(255, Math.round(scale(raw[base + q * r + k] / 255) * 255));
          img.data[o] = table[i]; img.data[o + 1] = table[i + 1]; img.data[o + 2] = table[i + 2];
        }
        img.data[o + 3] = 255;
      }
    }
    const c = document.createElement("canvas");
    c.width = H * r; c.height = L * r;
    c.getContext("2d").putImageData(img, 0, 0);
    return c;
  }

  function ablated() {
    return new Set((model.get("ablate") || []).map(([l, hd]) => `${l},${hd}`));
  }

  function scoreNorm(scores) {
    if (!scores.length) return null;
    let lo = Infinity, hi = -Infinity;
    for (const v of scores) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    return { lo, hi, f: (v) => (hi > lo ? (v - lo) / (hi - lo) : 1) };
  }

  function paint() {
    if (!st) return;
    const { L, H, r, scores, lay, sheet } = st;
    const ctx = fit(canvas, lay.width, lay.height);
    ctx.clearRect(0, 0, lay.width, lay.height);
    ctx.font = "10px system-ui, sans-serif";
    ctx.fillStyle = "#555";
    ctx.textBaseline = "middle";
    if (!lay.sorted) {
      for (let b = 0; b < lay.blocks; b++) {
        ctx.textAlign = "center";
        for (let hd = 0; hd < H; hd++) ctx.fillText(`H${hd}`, b * (lay.blockW + 12) + LABEL + hd * STEP + STEP / 2, HEADER / 2);
      }
      ctx.textAlign = "right";
      for (let l = 0; l < L; l++) {
        const [x, y] = lay.pos[l * H];
        ctx.fillText(`L${l}`, x - 6, y + S / 2);
      }
    }
    const norm = scoreNorm(scores);
    const off = ablated();
    const open = [model.get("layer"), model.get("head")];
    ctx.imageSmoothingEnabled = r > S;
    for (let l = 0; l < L; l++) for (let hd = 0; hd < H; hd++) {
      const id = l * H + hd;
      const [x, y] = lay.pos[id];
      if (norm) { ctx.fillStyle = css("score", norm.f(scores[id])); ctx.fillRect(x - 3, y - 3, S + 6, S + 6); }
      ctx.drawImage(sheet, hd * r, l * r, r, r, x, y, S, S);
      if (off.has(`${l},${hd}`)) {
        ctx.fillStyle = "rgba(255,255,255,0.55)";
        ctx.fillRect(x, y, S, S);
        ctx.strokeStyle = COLORS.ablated;
        ctx.lineWidth = 2.5;
        ctx.beginPath(); ctx.moveTo(x + 3, y + 3); ctx.lineTo(x + S - 3, y + S - 3);
        ctx.moveTo(x + S - 3, y + 3); ctx.lineTo(x + 3, y + S - 3); ctx.stroke();
        ctx.strokeRect(x - 1, y - 1, S + 2, S + 2);
      }
      if (l === open[0] && hd === open[1]) {
        ctx.strokeStyle = COLORS.selected; ctx.lineWidth = 2; ctx.strokeRect(x - 4, y - 4, S + 8, S + 8);
      }
      if (hover && hover[0] === l && hover[1] === hd) {
        ctx.strokeStyle = "#ff9800"; ctx.lineWidth = 2; ctx.strokeRect(x - 2, y - 2, S + 4, S + 4);
      }
      if (lay.sorted) {
        ctx.fillStyle = "#333"; ctx.textAlign = "center";
        ctx.fillText(`L${l}H${hd}`, x + S / 2, y + S + 8);
      }
    }
  }

  function headAt(ev) {
    if (!st) return null;
    const rect = canvas.getBoundingClientRect();
    const x = ev.clientX - rect.left, y = ev.clientY - rect.top;
    const { L, H, lay } = st;
    for (let id = 0; id < L * H; id++) {
      const [px, py] = lay.pos[id];
      if (x >= px - 3 && x < px + S + 3 && y >= py - 3 && y < py + S + 3) return [Math.floor(id / H), id % H];
    }
    return null;
  }
  // For tests and scripts: the centre of a head's thumbnail, in CSS px from the canvas's top-left corner.
  canvas.attnlabCenter = (l, hd) => {
    const [x, y] = st.lay.pos[l * st.H + hd];
    return { x: x + S / 2, y: y + S / 2 };
  };

  function describe(l, hd) {
    const off = ablated().has(`${l},${hd}`);
    const sc = st.scores.length ? ` · ${model.get("score_name")} ${fmt(st.scores[l * st.H + hd])}` : "";
    const action = model.get("click_action") === "ablate" ? "click: ablate · shift-click: open" : "click: open · shift-click: ablate";
    say(`L${l} H${hd}${sc}${off ? " · ablated" : ""} — ${action}`);
  }

  canvas.addEventListener("mousemove", (ev) => {
    const at = headAt(ev);
    if (String(at) === String(hover)) return;
    hover = at;
    paint();
    if (at) describe(...at);
  });
  canvas.addEventListener("mouseleave", () => { hover = null; paint(); });
  canvas.addEventListener("click", (ev) => {
    const at = headAt(ev);
    if (!at) return;
    const [l, hd] = at;
    const toggle = ev.shiftKey !== (model.get("click_action") === "ablate");
    if (toggle) {
      const cur = model.get("ablate") || [];
      const has = cur.some(([a, b]) => a === l && b === hd);
      const next = has ? cur.filter(([a, b]) => !(a === l && b === hd)) : [...cur, [l, hd]];
      next.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      send(model, { ablate: next }, ablateChannel);
    } else {
      send(model, { layer: l, head: hd }, "pattern");
    }
    describe(l, hd);
  });

  function refreshInfo() {
    const list = (model.get("ablate") || []).map(([l, hd]) => `L${l}H${hd}`);
    info.textContent = list.length ? `ablated (${list.length}): ${list.join(" ")}` : "no head ablated";
    actionSel.value = model.get("click_action");
  }

  function rebuild() {
    const d = decode();
    if (!d) return;
    const order = d.scores.length ? model.get("order") : "layer";
    orderSel.value = order;
    orderSel.disabled = !d.scores.length;
    const norm = scoreNorm(d.scores);
    legendSlot.replaceChildren(norm ? legend("score", fmt(norm.lo, 2), fmt(norm.hi, 2), model.get("score_name")) : "");
    st = { ...d, lay: layout(d.L, d.H, order, d.scores), sheet: atlas(d) };
    paint();
  }

  rebuild();
  refreshInfo();
  const stops = [
    listen(model, ["thumbs", "scores", "order", "color_scale", "score_name"], coalesce(rebuild)),
    listen(model, ["ablate", "layer", "head", "click_action"], coalesce(() => { refreshInfo(); paint(); })),
  ];
  return { el, destroy: () => stops.forEach((s) => s()) };
}
