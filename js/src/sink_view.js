// SinkView: the share of each head's attention landing on each key position (sinks are bright columns),
// above the residual-stream norm of every token at every layer (sink tokens carry huge norms).
import { lut, css, legend } from "./lib/colors.js";
import { h, send, shown, fit, fmt, listen, coalesce, textBox, statusLine } from "./lib/dom.js";
import { float16, float32 } from "./lib/wire.js";

const LABEL = 56;

/** A value grid (rows x cols, values in [0, 1]) as a canvas with one pixel per cell, scaled up crisply by CSS. */
function cells(values, rows, cols, scale, cw, rh) {
  const table = lut(scale);
  const img = new ImageData(cols, rows);
  for (let i = 0; i < rows * cols; i++) {
    const v = values[i];
    const j = 3 * Math.min(255, Math.max(0, Math.round((Number.isFinite(v) ? v : 0) * 255)));
    img.data[4 * i] = table[j]; img.data[4 * i + 1] = table[j + 1]; img.data[4 * i + 2] = table[j + 2]; img.data[4 * i + 3] = 255;
  }
  const c = h("canvas", { class: "attnlab-cells", width: cols, height: rows });
  c.getContext("2d").putImageData(img, 0, 0);
  Object.assign(c.style, { width: `${cols * cw}px`, height: `${rows * rh}px` });
  return c;
}

function rowLabels(labels, rh, every) {
  const c = h("canvas", { class: "attnlab-rowlabels" });
  const ctx = fit(c, LABEL, labels.length * rh);
  ctx.font = "10px system-ui, sans-serif";
  ctx.fillStyle = "#444";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  labels.forEach((t, i) => { if (i % every === 0) ctx.fillText(t, LABEL - 4, i * rh + Math.max(rh, 10) / 2, LABEL - 6); });
  return c;
}

function tokenAxis(tokens, cw) {
  const c = h("canvas", { class: "attnlab-tokaxis" });
  const H = cw >= 8 ? 60 : 16;
  const ctx = fit(c, tokens.length * cw, H);
  ctx.font = "10px system-ui, sans-serif";
  ctx.fillStyle = "#333";
  ctx.textBaseline = "middle";
  if (cw >= 8) {
    ctx.textAlign = "right";
    tokens.forEach((t, i) => {
      ctx.save(); ctx.translate(i * cw + cw / 2, 4); ctx.rotate(-Math.PI / 2); ctx.fillText(shown(t), 0, 0, 56); ctx.restore();
    });
  } else {
    ctx.textAlign = "center";
    const every = [5, 10, 20, 50, 100].find((s) => s * cw >= 24) || 100;
    for (let i = 0; i < tokens.length; i += every) ctx.fillText(String(i), i * cw + cw / 2, 8);
  }
  return c;
}

function render({ model, el }) {
  const text = textBox(model);
  const status = statusLine(model, ["trace"]);
  const readout = h("div", { class: "attnlab-readout" }, "hover a cell: how much of a head's attention lands on that token");
  const rowsSel = h("select", { class: "attnlab-rows", onchange: () => send(model, { rows: rowsSel.value }) },
    h("option", { value: "heads" }, "one row per head"), h("option", { value: "layers" }, "one row per layer (mean of heads)"));
  const normSel = h("select", { class: "attnlab-normlayer", onchange: () => send(model, { norm_layer: Number(normSel.value) }) });
  const body = h("div", { class: "attnlab-sinkbody" });
  const say = (s, data = {}) => {
    readout.textContent = s;
    for (const k of ["row", "key", "value"]) if (data[k] === undefined) delete readout.dataset[k]; else readout.dataset[k] = String(data[k]);
  };

  function draw() {
    const tokens = model.get("tokens");
    const T = tokens.length, L = model.get("n_layers"), H = model.get("n_heads");
    const mass = float16(model.get("mass"));
    const norms = float32(model.get("norms"));
    if (mass.length !== L * H * T || norms.length !== (L + 1) * T) return;
    const byLayer = model.get("rows") === "layers";
    rowsSel.value = model.get("rows");
    const nl = model.get("norm_layer") ?? 0;
    normSel.replaceChildren(...Array.from({ length: L + 1 }, (_, i) => h("option", { value: String(i) }, i === L ? `final (${i})` : `entering layer ${i}`)));
    normSel.value = String(nl);

    // attention mass: rows are heads (grouped by layer) or layers
    const R = byLayer ? L : L * H;
    let values = mass;
    if (byLayer) {
      values = new Float32Array(L * T);
      for (let l = 0; l < L; l++) for (let hd = 0; hd < H; hd++) for (let k = 0; k < T; k++) values[l * T + k] += mass[(l * H + hd) * T + k] / H;
    }
    const cw = Math.max(1, Math.min(16, Math.floor(760 / Math.max(1, T))));
    const rh = byLayer ? Math.max(6, Math.min(16, Math.floor(360 / L))) : Math.max(2, Math.min(8, Math.floor(540 / R)));
    const names = byLayer ? [...Array(L).keys()].map((l) => `L${l}`)
      : [...Array(R).keys()].map((i) => `L${Math.floor(i / H)}H${i % H}`);
    const every = byLayer ? Math.ceil(10 / rh) : H * Math.max(1, Math.ceil(12 / (rh * H)));
    const massCanvas = cells(values, R, T, "attention", cw, rh);
    const band = h("div", { class: "attnlab-band attnlab-col" });
    const massBox = h("div", { class: "attnlab-body" }, massCanvas, band);
    if (!byLayer) for (let l = 1; l < L; l++) massBox.append(h("div", { class: "attnlab-sep", style: { top: `${l * H * rh}px`, width: `${T * cw}px` } }));

    // norms: log scale, rows = residual stream entering each layer (+ final)
    let lo = Infinity, hi = -Infinity;
    const logs = norms.map((v) => Math.log10(Math.max(v, 1e-6)));
    for (const v of logs) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const nrh = Math.max(4, Math.min(10, Math.floor(240 / (L + 1))));
    const normCanvas = cells(logs.map((v) => (hi > lo ? (v - lo) / (hi - lo) : 1)), L + 1, T, "score", cw, nrh);
    const band2 = h("div", { class: "attnlab-band attnlab-col" });
    const rowMark = h("div", { class: "attnlab-band attnlab-row", style: { display: "block", top: `${nl * nrh}px`, height: `${nrh}px`, width: `${T * cw}px` } });
    const normBox = h("div", { class: "attnlab-body" }, normCanvas, band2, rowMark);

    // bars: norm of every token entering the chosen layer
    const bars = h("canvas", { class: "attnlab-normbars" });
    const BH = 90;
    const bctx = fit(bars, T * cw, BH);
    let bmax = 0;
    for (let k = 0; k < T; k++) bmax = Math.max(bmax, norms[nl * T + k]);
    for (let k = 0; k < T; k++) {
      const v = norms[nl * T + k], hgt = bmax > 0 ? (v / bmax) * (BH - 14) : 0;
      bctx.fillStyle = css("score", 0.35 + 0.65 * (bmax > 0 ? v / bmax : 0));
      bctx.fillRect(k * cw + (cw > 3 ? 1 : 0), BH - hgt, Math.max(1, cw - (cw > 3 ? 2 : 0)), hgt);
    }
    bctx.fillStyle = "#333"; bctx.font = "10px system-ui, sans-serif"; bctx.textBaseline = "top";
    bctx.fillText(`max ${fmt(bmax, 1)}`, 2, 0);

    const mark = (k) => {
      for (const [b, hgt] of [[band, R * rh], [band2, (L + 1) * nrh]]) {
        b.style.display = k === null ? "none" : "block";
        if (k !== null) Object.assign(b.style, { left: `${k * cw}px`, width: `${cw}px`, height: `${hgt}px` });
      }
    };
    mark(null);
    const at = (ev, node, rowH, rows) => {
      const r = node.getBoundingClientRect();
      return [Math.min(rows - 1, Math.max(0, Math.floor((ev.clientY - r.top) / rowH))), Math.min(T - 1, Math.max(0, Math.floor((ev.clientX - r.left) / cw)))];
    };
    massBox.addEventListener("mousemove", (ev) => {
      const [row, k] = at(ev, massBox, rh, R);
      mark(k);
      const v = values[row * T + k];
      say(`${names[row]} → key ${k} "${shown(tokens[k])}": ${fmt(v)} of ${byLayer ? "the layer's" : "the head's"} attention`, { row, key: k, value: v });
    });
    normBox.addEventListener("mousemove", (ev) => {
      const [row, k] = at(ev, normBox, nrh, L + 1);
      mark(k);
      say(`token ${k} "${shown(tokens[k])}" entering ${row === L ? "the final norm" : `layer ${row}`}: norm ${fmt(norms[row * T + k], 1)} (click: show this layer as bars)`, { row, key: k, value: norms[row * T + k] });
    });
    normBox.addEventListener("click", (ev) => send(model, { norm_layer: at(ev, normBox, nrh, L + 1)[0] }));
    bars.addEventListener("mousemove", (ev) => {
      const k = at(ev, bars, BH, 1)[1];
      mark(k);
      say(`token ${k} "${shown(tokens[k])}": norm ${fmt(norms[nl * T + k], 1)} entering layer ${nl}`, { key: k, value: norms[nl * T + k] });
    });
    for (const b of [massBox, normBox, bars]) b.addEventListener("mouseleave", () => mark(null));

    const normNames = [...Array(L + 1).keys()].map((l) => (l === L ? "final" : `L${l}`));
    const axisNames = byLayer ? names : names.map((n, i) => (i % H === 0 ? `L${i / H}` : ""));
    const grid = h("div", { class: "attnlab-sinkgrid", style: { gridTemplateColumns: `${LABEL}px ${T * cw}px` } },
      rowLabels(axisNames, rh, every), massBox,
      h("div", {}), tokenAxis(tokens, cw),
      rowLabels(normNames, nrh, Math.ceil(10 / nrh)), normBox,
      h("div", { class: "attnlab-axis-title" }, `norms at L${nl}`), bars);
    body.replaceChildren(
      h("div", { class: "attnlab-controls" }, rowsSel, h("label", {}, "bars show norms ", normSel),
        legend("attention", "0", "1", "share of attention"), legend("score", fmt(10 ** lo, 0), fmt(10 ** hi, 0), "norm (log)")),
      h("div", { class: "attnlab-scroll attnlab-tall" }, grid));
  }

  draw();
  const stops = [listen(model, ["mass", "norms", "tokens", "rows", "norm_layer"], coalesce(draw))];
  el.append(h("div", { class: "attnlab attnlab-sink-view" },
    h("div", { class: "attnlab-title" }, `${model.get("model_name")} · attention sinks and token norms`),
    text.el, status.el, readout, body));
  return () => { stops.forEach((s) => s()); text.stop(); status.stop(); };
}

export default { render };
