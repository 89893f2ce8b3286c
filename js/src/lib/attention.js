// The one-head panel: layer/head pickers, a heatmap or lines drawing of the pattern, hover readouts and a
// token strip. Used by AttentionView, and by HeadGrid/AblationLab for the opened head.
// Hover and zoom stay in the browser; only a layer/head change (or new text) goes to Python.
import { lut, MASKED, scaler, legend, css } from "./colors.js";
import { h, send, pending, shown, fit, listen, fmt, coalesce } from "./dom.js";
import { pattern } from "./wire.js";

const FONT = "11px system-ui, -apple-system, 'Segoe UI', sans-serif";
const MAX_SIDE = 16384;

/** Pick options 0..n-1 in a <select>. */
function picker(cls, n, value, onchange) {
  const sel = h("select", { class: cls, onchange: () => onchange(Number(sel.value)) });
  for (let i = 0; i < n; i++) sel.append(h("option", { value: String(i) }, String(i)));
  sel.value = String(value);
  return sel;
}

/** Largest token label width in px, clamped. */
function labelWidth(tokens) {
  const ctx = document.createElement("canvas").getContext("2d");
  ctx.font = FONT;
  let w = 0;
  for (const t of tokens) w = Math.max(w, ctx.measureText(shown(t)).width);
  return Math.ceil(Math.min(150, Math.max(48, w + 10)));
}

/** The k keys with the largest weight in row q. */
function topKeys(P, T, q, k = 3) {
  const row = Array.from(P.subarray(q * T, q * T + T), (w, i) => [w, i]);
  return row.sort((a, b) => b[0] - a[0]).slice(0, k);
}

/** Weights of one query row rendered as text. */
function rowSummary(P, T, tokens, q) {
  const top = topKeys(P, T, q).map(([w, i]) => `"${shown(tokens[i])}" ${fmt(w)}`);
  return `query ${q} "${shown(tokens[q])}" attends most to ${top.join(", ")}`;
}

/** Which queries attend most to key k. */
function colSummary(P, T, tokens, k) {
  const col = [];
  for (let q = 0; q < T; q++) col.push([P[q * T + k], q]);
  const top = col.sort((a, b) => b[0] - a[0]).slice(0, 3).map(([w, i]) => `"${shown(tokens[i])}" ${fmt(w)}`);
  return `key ${k} "${shown(tokens[k])}" is read most by ${top.join(", ")}`;
}

export function attentionPanel(model) {
  const state = { tokens: [], P: new Float32Array(0), T: 0, cell: 0, pin: null };
  const readout = h("div", { class: "attnlab-readout" }, "hover a cell or a token to read its weight");
  const area = h("div", { class: "attnlab-area" });
  const strip = h("div", { class: "attnlab-strip" });

  const layerSel = picker("attnlab-layer", model.get("n_layers"), model.get("layer"),
    (layer) => send(model, { layer }, "pattern"));
  const headSel = picker("attnlab-head", model.get("n_heads"), model.get("head"),
    (head) => send(model, { head }, "pattern"));
  const modeSel = h("select", { class: "attnlab-mode", onchange: () => send(model, { mode: modeSel.value }) },
    h("option", { value: "heatmap" }, "heatmap"), h("option", { value: "lines" }, "lines"));
  const scaleSel = h("select", { class: "attnlab-scale", onchange: () => send(model, { color_scale: scaleSel.value }) },
    h("option", { value: "linear" }, "linear colour"), h("option", { value: "sqrt" }, "sqrt colour"));
  const zoom = (f) => () => {
    const max = Math.max(1, Math.floor(MAX_SIDE / Math.max(1, state.T)));
    state.cell = f === 0 ? defaultCell(state.T) : Math.max(1, Math.min(48, max, Math.round(state.cell * f)));
    draw();
  };
  const legendSlot = h("span");
  const controls = h("div", { class: "attnlab-controls" },
    h("label", {}, "layer ", layerSel), h("label", {}, "head ", headSel), modeSel, scaleSel,
    h("span", { class: "attnlab-zoom" },
      h("button", { class: "attnlab-zoom-out", title: "zoom out", onclick: zoom(0.5) }, "−"),
      h("button", { class: "attnlab-zoom-fit", title: "fit", onclick: zoom(0) }, "fit"),
      h("button", { class: "attnlab-zoom-in", title: "zoom in", onclick: zoom(2) }, "+")),
    legendSlot);
  const el = h("div", { class: "attnlab-attention" }, controls, readout, area, strip);

  function defaultCell(T) {
    return Math.max(1, Math.min(28, Math.floor(720 / Math.max(1, T))));
  }

  function decode() {
    const tokens = model.get("tokens") || [];
    const P = pattern(model.get("pattern"), tokens.length);
    if (!P) return false; // tokens and pattern travel together
    const changedLength = tokens.length !== state.T;
    Object.assign(state, { tokens, P, T: tokens.length });
    if (changedLength || !state.cell) state.cell = defaultCell(state.T);
    if (changedLength) state.pin = null;
    return true;
  }

  function say(text, data = {}) {
    readout.textContent = text;
    for (const k of ["q", "k", "weight"]) {
      if (data[k] === undefined) delete readout.dataset[k];
      else readout.dataset[k] = String(data[k]);
    }
  }

  function describeCell(q, k) {
    const { tokens, P, T } = state;
    const w = P[q * T + k];
    const masked = model.get("is_causal") && k > q;
    say(`query ${q} "${shown(tokens[q])}" → key ${k} "${shown(tokens[k])}": ${masked ? "masked (a token cannot look ahead)" : fmt(w)}`,
      { q, k, weight: w });
  }

  // -- heatmap ------------------------------------------------------------------------------------
  function heatmap() {
    const { tokens, P, T, cell } = state;
    const causal = model.get("is_causal");
    const scale = scaler(model.get("color_scale"));
    const table = lut("attention");
    const showText = cell >= 8;
    const lw = showText ? labelWidth(tokens) : 48;
    const side = T * cell;
    const fontPx = Math.min(12, cell - 1);

    const img = new ImageData(Math.max(1, T), Math.max(1, T));
    for (let q = 0; q < T; q++) {
      for (let k = 0; k < T; k++) {
        const o = 4 * (q * T + k);
        if (causal && k > q) img.data.set(MASKED, o);
        else {
          const i = 3 * Math.min(255, Math.round(Math.max(0, scale(P[q * T + k])) * 255));
          img.data[o] = table[i]; img.data[o + 1] = table[i + 1]; img.data[o + 2] = table[i + 2];
        }
        img.data[o + 3] = 255;
      }
    }
    const main = h("canvas", { class: "attnlab-heatmap", width: Math.max(1, T), height: Math.max(1, T) });
    main.getContext("2d").putImageData(img, 0, 0);
    Object.assign(main.style, { width: `${side}px`, height: `${side}px` });

    const left = h("canvas", { class: "attnlab-qlabels" });
    const top = h("canvas", { class: "attnlab-klabels" });
    const lctx = fit(left, lw, side);
    const tctx = fit(top, side, lw);
    for (const ctx of [lctx, tctx]) {
      ctx.font = showText ? `${fontPx}px system-ui, sans-serif` : FONT;
      ctx.fillStyle = getComputedStyle(el).getPropertyValue("--attnlab-fg") || "#222";
      ctx.textBaseline = "middle";
    }
    const every = showText ? 1 : [1, 2, 5, 10, 20, 50, 100].find((s) => s * cell >= 14) || 100;
    lctx.textAlign = "right";
    for (let i = 0; i < T; i += every) {
      const text = showText ? shown(tokens[i]) : String(i);
      lctx.fillText(text, lw - 4, i * cell + cell / 2, lw - 6);
      tctx.save();
      tctx.translate(i * cell + cell / 2, lw - 4);
      tctx.rotate(-Math.PI / 2);
      tctx.fillText(text, 0, 0, lw - 6);
      tctx.restore();
    }

    const row = h("div", { class: "attnlab-band attnlab-row" });
    const col = h("div", { class: "attnlab-band attnlab-col" });
    const box = h("div", { class: "attnlab-cellbox" });
    const body = h("div", { class: "attnlab-body" }, main, row, col, box);
    const mark = (q, k) => {
      row.style.display = q === null ? "none" : "block";
      col.style.display = k === null ? "none" : "block";
      box.style.display = q === null || k === null ? "none" : "block";
      if (q !== null) Object.assign(row.style, { top: `${q * cell}px`, height: `${cell}px`, width: `${side}px` });
      if (k !== null) Object.assign(col.style, { left: `${k * cell}px`, width: `${cell}px`, height: `${side}px` });
      if (q !== null && k !== null)
        Object.assign(box.style, { top: `${q * cell}px`, left: `${k * cell}px`, width: `${cell}px`, height: `${cell}px` });
    };
    mark(null, null);
    const at = (ev, node) => {
      const r = node.getBoundingClientRect();
      return [Math.floor((ev.clientY - r.top) / cell), Math.floor((ev.clientX - r.left) / cell)];
    };
    const clamp = (i) => Math.max(0, Math.min(T - 1, i));
    body.addEventListener("mousemove", (ev) => {
      if (state.pin) return;
      const [q, k] = at(ev, body).map(clamp);
      mark(q, k);
      describeCell(q, k);
      highlightStrip(q, k);
    });
    body.addEventListener("click", (ev) => {
      const [q, k] = at(ev, body).map(clamp);
      state.pin = state.pin && state.pin[0] === q && state.pin[1] === k ? null : [q, k];
      mark(q, k);
      describeCell(q, k);
      highlightStrip(q, k);
    });
    body.addEventListener("mouseleave", () => { if (!state.pin) { mark(null, null); highlightStrip(null); } });
    left.addEventListener("mousemove", (ev) => {
      if (state.pin) return;
      const q = clamp(at(ev, left)[0]);
      mark(q, null);
      say(rowSummary(state.P, T, tokens, q), { q });
      highlightStrip(q);
    });
    top.addEventListener("mousemove", (ev) => {
      if (state.pin) return;
      const r = top.getBoundingClientRect();
      const k = clamp(Math.floor((ev.clientX - r.left) / cell));
      mark(null, k);
      say(colSummary(state.P, T, tokens, k), { k });
    });
    if (state.pin) { mark(...state.pin); describeCell(...state.pin); }

    const grid = h("div", { class: "attnlab-hgrid", style: { gridTemplateColumns: `${lw}px ${side}px`, gridTemplateRows: `${lw}px ${side}px` } },
      h("div", { class: "attnlab-corner", title: "rows: queries (the token looking); columns: keys (the token looked at)" }, "q↓ k→"), top, left, body);
    return h("div", { class: "attnlab-scroll" }, grid);
  }

  // -- lines (bertviz style) ----------------------------------------------------------------------
  function lines() {
    const { tokens, P, T } = state;
    const scale = scaler(model.get("color_scale"));
    const rowH = T <= 128 ? 18 : 13;
    const colW = Math.min(150, labelWidth(tokens) + 4);
    const W = colW * 2 + 280;
    const H = T * rowH + 8;
    const canvas = h("canvas", { class: "attnlab-lines" });
    const ctx = fit(canvas, W, H);
    const x0 = colW + 8, x1 = W - colW - 8;
    const y = (i) => 4 + i * rowH + rowH / 2;
    const paint = (focus) => {
      ctx.clearRect(0, 0, W, H);
      ctx.lineCap = "round";
      const one = (q, k, alpha) => {
        ctx.strokeStyle = `rgba(33,113,181,${alpha})`;
        ctx.lineWidth = 0.5 + 3 * alpha;
        ctx.beginPath(); ctx.moveTo(x0, y(q)); ctx.lineTo(x1, y(k)); ctx.stroke();
      };
      for (let q = 0; q < T; q++) {
        if (focus && focus.side === "q" && focus.i !== q) continue;
        for (let k = 0; k < T; k++) {
          if (focus && focus.side === "k" && focus.i !== k) continue;
          const w = P[q * T + k];
          if (w >= 0.01) one(q, k, Math.min(1, scale(w)) * (focus ? 1 : 0.7));
        }
      }
      ctx.font = FONT;
      ctx.textBaseline = "middle";
      for (let i = 0; i < T; i++) {
        let wq = null, wk = null;
        if (focus && focus.side === "q") wk = P[focus.i * T + i];
        if (focus && focus.side === "k") wq = P[i * T + focus.i];
        for (const [side, w] of [["q", wq], ["k", wk]]) {
          const isFocus = focus && focus.side === side && focus.i === i;
          const x = side === "q" ? colW : W - colW;
          const tw = Math.min(colW - 6, ctx.measureText(shown(tokens[i])).width);
          if (isFocus || (w !== null && w >= 0.01)) {
            ctx.fillStyle = isFocus ? "#ffd54f" : css("attention", Math.min(1, scale(w)));
            ctx.fillRect(side === "q" ? x - tw - 3 : x - 1, y(i) - rowH / 2 + 1, tw + 4, rowH - 2);
          }
          ctx.fillStyle = w !== null && scale(w) > 0.55 ? "#fff" : "#222";
          ctx.textAlign = side === "q" ? "right" : "left";
          ctx.fillText(shown(tokens[i]), side === "q" ? x - 1 : x + 1, y(i), colW - 6);
        }
      }
    };
    paint(null);
    canvas.addEventListener("mousemove", (ev) => {
      const r = canvas.getBoundingClientRect();
      const i = Math.max(0, Math.min(T - 1, Math.floor((ev.clientY - r.top - 4) / rowH)));
      const side = ev.clientX - r.left < W / 2 ? "q" : "k";
      paint({ side, i });
      if (side === "q") { say(rowSummary(P, T, tokens, i), { q: i }); highlightStrip(i); }
      else say(colSummary(P, T, tokens, i), { k: i });
    });
    canvas.addEventListener("mouseleave", () => { paint(null); highlightStrip(null); });
    return h("div", { class: "attnlab-scroll" },
      h("div", { class: "attnlab-lines-head", style: { width: `${W}px` } }, h("span", {}, "query (looking)"), h("span", {}, "key (looked at)")), canvas);
  }

  // -- token strip: hover a token to colour every other token by how much it attends to it -------------
  let spans = [];
  function buildStrip() {
    spans = state.tokens.map((t, i) => h("span", { class: "attnlab-tok", "data-i": String(i) }, shown(t)));
    strip.replaceChildren(h("span", { class: "attnlab-strip-title" }, "tokens:"), ...spans);
  }
  strip.addEventListener("mouseover", (ev) => {
    const i = ev.target?.dataset?.i;
    if (i === undefined || state.pin) return;
    const q = Number(i);
    highlightStrip(q);
    say(rowSummary(state.P, state.T, state.tokens, q), { q });
  });
  strip.addEventListener("mouseleave", () => { if (!state.pin) highlightStrip(null); });
  function highlightStrip(q, k = null) {
    const scale = scaler(model.get("color_scale"));
    spans.forEach((s, j) => {
      const w = q === null ? null : state.P[q * state.T + j];
      s.style.background = w === null || !(w > 0) ? "" : css("attention", Math.min(1, scale(w)));
      s.style.color = w !== null && scale(w) > 0.55 ? "#fff" : "";
      s.classList.toggle("attnlab-tok-query", j === q);
      s.classList.toggle("attnlab-tok-key", j === k);
      s.title = w === null ? "" : `weight from "${shown(state.tokens[q])}": ${fmt(w)}`;
    });
  }

  function draw() {
    area.replaceChildren(model.get("mode") === "lines" ? lines() : heatmap());
    area.classList.toggle("attnlab-stale", pending(model, "pattern") || pending(model, "trace"));
  }

  function refresh() {
    if (!decode()) return;
    layerSel.value = String(model.get("layer"));
    headSel.value = String(model.get("head"));
    modeSel.value = model.get("mode");
    scaleSel.value = model.get("color_scale");
    const sq = model.get("color_scale") === "sqrt";
    legendSlot.replaceChildren(legend("attention", "0", "1", sq ? "weight (sqrt)" : "weight"));
    buildStrip();
    draw();
    if (state.pin) { describeCell(...state.pin); highlightStrip(...state.pin); }
  }
  const stale = () => area.classList.toggle("attnlab-stale", pending(model, "pattern") || pending(model, "trace"));

  refresh();
  const stops = [
    listen(model, ["pattern", "tokens", "mode", "color_scale", "layer", "head"], coalesce(refresh)),
    listen(model, ["request", "done"], stale),
  ];
  return { el, destroy: () => stops.forEach((s) => s()) };
}
