"""Colour scales and PNG images made with numpy alone: the heatmaps that charts embed as pictures.

The colour stops live in ``colors.json``, which the browser bundle imports too, so a saved picture
uses exactly the colours of the live view.

>>> png(colorize(np.eye(3), "attention"))[:8]
b'\\x89PNG\\r\\n\\x1a\\n'
"""
from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path

import numpy as np

COLORS = json.loads((Path(__file__).parent / "colors.json").read_text())


def rgb(hex_color: str) -> np.ndarray:
    """'#08306b' -> uint8 [3]."""
    return np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)


def _lut(name: str) -> np.ndarray:
    """A 256-entry RGB table interpolated linearly between the stops of scale ``name``."""
    stops = np.stack([rgb(c) for c in COLORS[name]]).astype(np.float64)
    x = np.linspace(0, 1, len(stops))
    t = np.linspace(0, 1, 256)
    return np.stack([np.interp(t, x, stops[:, c]) for c in range(3)], axis=1).round().astype(np.uint8)


def colorize(values, scale: str, *, mask=None) -> np.ndarray:
    """Values in [0, 1] -> uint8 RGB [..., 3]; ``mask`` (True = not allowed) is painted grey."""
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)), 0, 1)
    out = _lut(scale)[np.rint(v * 255).astype(np.intp)]
    if mask is not None:
        out[np.asarray(mask, dtype=bool)] = rgb(COLORS["masked"])
    return out


def upscale(img: np.ndarray, factor: int) -> np.ndarray:
    """Repeat each pixel ``factor`` times in both directions (crisp cells when the picture is scaled)."""
    return np.repeat(np.repeat(img, factor, axis=0), factor, axis=1) if factor > 1 else img


def png(img: np.ndarray) -> bytes:
    """Encode uint8 RGB [H, W, 3] as a PNG file."""
    h, w, _ = img.shape
    raw = b"".join(b"\x00" + np.ascontiguousarray(img[i]).tobytes() for i in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def data_url(img: np.ndarray) -> str:
    """A ``data:image/png`` URL of ``img`` (charts embed it, so nothing is fetched)."""
    return "data:image/png;base64," + base64.b64encode(png(img)).decode("ascii")
