"""Array traits that hold numpy arrays in Python and travel to the browser as compact binary buffers.

ipywidgets moves any ``memoryview`` in a widget's state as a binary buffer (no JSON), and the front end
receives it as a ``DataView``. A pattern goes as float16 (2 bytes per weight), thumbnails as uint8.

>>> import numpy as np
>>> t = Float16Array(ndim=2)
>>> wire = t.metadata["to_json"](np.eye(2, dtype=np.float32), None)
>>> wire.nbytes
8
"""
from __future__ import annotations

import numpy as np
import traitlets

from ..errors import AttnlabError


class _Array(traitlets.TraitType):
    """A numpy array of fixed ``ndim`` (finite values); subclasses choose the bytes sent to the browser."""

    info_text = "a numpy array"

    def __init__(self, ndim: int, **kwargs):
        self.ndim = ndim
        super().__init__(np.zeros((0,) * ndim, dtype=np.float32), **kwargs)
        self.tag(sync=True, to_json=self._to_json, from_json=self._from_json)

    def validate(self, obj, value):
        if value is None:
            return np.zeros((0,) * self.ndim, dtype=np.float32)
        try:
            arr = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value, dtype=np.float32)
        except (TypeError, ValueError):
            raise AttnlabError(f"{self.name} must be a numeric array, got {type(value).__name__}.") from None
        if arr.ndim != self.ndim:
            raise AttnlabError(f"{self.name} must have {self.ndim} dimensions, got shape {arr.shape}.")
        if not np.isfinite(arr).all():
            raise AttnlabError(f"{self.name} contains NaN or infinite values; pass finite numbers.")
        return arr

    def _to_json(self, value, widget):
        return memoryview(self._encode(value).tobytes())

    def _from_json(self, value, widget):
        return getattr(widget, self.name)   # computed in Python: the browser never sets it

    def _encode(self, value: np.ndarray) -> np.ndarray:
        return value.astype(np.float16)


class Float16Array(_Array):
    """Float values, sent as float16 (about 3 significant digits: ample for weights, losses and scores)."""

    def _encode(self, value):
        return np.clip(value, -65504, 65504).astype(np.float16)


class PatternArray(Float16Array):
    """A square [query, key] pattern. For a causal model the upper triangle is all zeros, so only the lower
    triangle (row by row, T*(T+1)/2 values) is sent: about 1 byte per pattern element."""

    def _to_json(self, value, widget):
        n = value.shape[0] if value.ndim == 2 else 0
        if n > 1 and getattr(widget, "is_causal", False) and not np.triu(value, 1).any():
            value = value[np.tril_indices(n)]
        return super()._to_json(value, widget)


class Float32Array(_Array):
    """Values that can exceed float16's range (hidden-state norms), sent as float32."""


    def _encode(self, value):
        return value.astype(np.float32)


class UnitUint8Array(_Array):
    """Values in [0, 1] (attention weights in thumbnails), sent as one byte each (value * 255, rounded)."""


    def _encode(self, value):
        return np.rint(np.clip(value, 0.0, 1.0) * 255).astype(np.uint8)
