// Binary traits arrive from ipywidgets as DataView (buffers, never JSON lists). Decode them here.

/** Bytes of a synced binary trait (DataView, ArrayBuffer or typed array) as a Uint8Array. */
export function bytes(value) {
  if (!value) return new Uint8Array(0);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return new Uint8Array(0);
}

let F16 = null;
function f16Table() {
  if (F16) return F16;
  F16 = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) F16[h] = sign * 2 ** -14 * (frac / 1024);
    else if (exp === 31) F16[h] = frac ? NaN : sign * Infinity;
    else F16[h] = sign * 2 ** (exp - 15) * (1 + frac / 1024);
  }
  return F16;
}

/** float16 little-endian bytes -> Float32Array. */
export function float16(value) {
  const b = bytes(value);
  const n = b.length >> 1;
  const table = f16Table();
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = table[b[2 * i] | (b[2 * i + 1] << 8)];
  return out;
}

/** float32 little-endian bytes -> Float32Array (copied, so alignment never matters). */
export function float32(value) {
  const b = bytes(value);
  const out = new Float32Array(b.length >> 2);
  new Uint8Array(out.buffer).set(b.subarray(0, out.length * 4));
  return out;
}

/** A square pattern [T, T]: sent whole, or as its lower triangle row by row (causal models). */
export function pattern(value, T) {
  const v = float16(value);
  if (v.length === T * T) return v;
  if (v.length !== (T * (T + 1)) / 2) return null;
  const out = new Float32Array(T * T);
  for (let q = 0, i = 0; q < T; q++) { out.set(v.subarray(i, i + q + 1), q * T); i += q + 1; }
  return out;
}
