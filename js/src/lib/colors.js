// Colour scales shared with Python (attnlab/charts/colors.json), so saved pictures match the views.
import COLORS from "../../../attnlab/charts/colors.json";

export { COLORS };

function hex(c) {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
}

const tables = {};
/** 256 x RGB table for a named scale, interpolated linearly between its stops. */
export function lut(name) {
  if (tables[name]) return tables[name];
  const stops = COLORS[name].map(hex);
  const t = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * (stops.length - 1);
    const j = Math.min(Math.floor(x), stops.length - 2);
    const f = x - j;
    for (let c = 0; c < 3; c++) t[3 * i + c] = Math.round(stops[j][c] * (1 - f) + stops[j + 1][c] * f);
  }
  return (tables[name] = t);
}

/** Index 0..255 for a value in [0, 1] (NaN -> 0). */
function level(v) {
  return v > 0 ? Math.min(255, Math.round(v * 255)) : 0;
}

/** CSS colour of value v in [0, 1] on a named scale. */
export function css(name, v) {
  const t = lut(name);
  const i = 3 * level(v);
  return `rgb(${t[i]},${t[i + 1]},${t[i + 2]})`;
}

export const MASKED = hex(COLORS.masked);

/** How a weight maps to colour: "linear" or "sqrt" (shows small weights). */
export function scaler(name) {
  return name === "sqrt" ? Math.sqrt : (v) => v;
}

/** A small horizontal colour bar with its end labels. */
export function legend(name, lo, hi, title) {
  const wrap = document.createElement("span");
  wrap.className = "attnlab-legend";
  const bar = document.createElement("canvas");
  bar.width = 96;
  bar.height = 10;
  const ctx = bar.getContext("2d");
  for (let x = 0; x < 96; x++) {
    ctx.fillStyle = css(name, x / 95);
    ctx.fillRect(x, 0, 1, 10);
  }
  wrap.append(`${title} ${lo}`, bar, `${hi}`);
  return wrap;
}
