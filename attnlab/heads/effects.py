"""Effects: one number per model component, with what it measures (the result of sweeps and patching).

Per head the array is [n_layers, n_heads]; per residual-stream site it is [n_layers + 1, n_tokens]
(row ``l`` is the stream entering block ``l``; the last row is the final stream). It converts to a
numpy array, so it goes straight into charts, ``HeadGrid(scores=...)`` or numpy code.

>>> import numpy as np
>>> e = Effects(np.array([[0.1, 2.0], [-0.5, 0.0]]), what="change in loss", clean=1.5)
>>> e.top(2)
[((0, 1), 2.0), ((1, 0), -0.5)]
>>> round(float(e.sum()), 6), e.max() == 2.0, e.what
(1.6, np.True_, 'change in loss')
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import AttnlabError


class Effects(np.ndarray):
    """A float array [layers, heads] (or [layers + 1, tokens] for residual sites) that knows what it measures.

    ``what``: what the numbers are; ``clean``: the metric on the clean (unchanged) run, None for scores;
    ``corrupted``: the metric on the corrupted run (patching only); ``tokens``: the prompt's tokens when
    rows are (layer, position) sites; ``kind``: "head" or "position". Scores and experiments both return
    it, and it is a numpy array: indexing, arithmetic and numpy functions work as on any array.
    """

    what: str
    clean: float | None
    corrupted: float | None
    tokens: list[str] | None
    kind: str
    _META = (("what", ""), ("clean", None), ("corrupted", None), ("tokens", None), ("kind", "head"))

    def __new__(cls, values, what: str = "", clean: float | None = None, corrupted: float | None = None,
                tokens: list[str] | None = None, kind: str = "head"):
        obj = np.asarray(values, dtype=float).view(cls)
        obj.what, obj.clean, obj.corrupted, obj.tokens, obj.kind = what, clean, corrupted, tokens, kind
        return obj

    def __array_finalize__(self, obj):
        for name, default in self._META:
            setattr(self, name, getattr(obj, name, default))

    def __array_wrap__(self, array, context=None, return_scalar=False):
        result = super().__array_wrap__(array, context, return_scalar)
        return result[()] if isinstance(result, np.ndarray) and result.ndim == 0 else result   # e.max(): a number

    def __reduce__(self):
        state = super().__reduce__()
        return state[0], state[1], (*state[2], {n: getattr(self, n) for n, _ in self._META})

    def __setstate__(self, state):
        *array_state, meta = state
        super().__setstate__(tuple(array_state))
        self.__dict__.update(meta)

    @property
    def values(self) -> np.ndarray:
        """The numbers as a plain numpy array."""
        return self.view(np.ndarray)

    def top(self, k: int = 10, absolute: bool = True) -> list[tuple[tuple[int, int], float]]:
        """The ``k`` largest entries (by absolute value unless ``absolute=False``) as ((row, col), value)."""
        flat = np.nan_to_num(self.values, nan=-np.inf if not absolute else 0.0).ravel()
        order = np.argsort(-(np.abs(flat) if absolute else flat), kind="stable")[:k]
        rows, cols = np.unravel_index(order, self.shape)
        return [((int(r), int(c)), float(self.values.ravel()[o])) for r, c, o in zip(rows, cols, order, strict=True)]

    def agreement(self, other) -> float:
        """Spearman rank correlation with another array of the same shape (NaN entries are skipped).

        Use it to check an estimate against the exact numbers: ``attribution(...).agreement(sweep)``.
        """
        b = np.asarray(other, dtype=float)
        if b.shape != self.shape:
            raise AttnlabError(f"agreement needs two arrays of the same shape, got {self.shape} and {b.shape}.")
        a = np.asarray(self.values, dtype=float)
        ok = ~(np.isnan(a) | np.isnan(b))
        ra, rb = pd.Series(a[ok]).rank().to_numpy(), pd.Series(b[ok]).rank().to_numpy()   # ties: mean rank
        return float(np.corrcoef(ra, rb)[0, 1])

    def __repr__(self) -> str:
        if self.ndim != 2 or self.dtype.kind != "f":
            return repr(self.values)
        label = (lambda rc: f"L{rc[0]}H{rc[1]}") if self.kind == "head" else \
            (lambda rc: f"L{rc[0]}@{rc[1]}" + (f"{self.tokens[rc[1]]!r}" if self.tokens else ""))
        top = ", ".join(f"{label(rc)} {v:+.3g}" for rc, v in self.top(5))
        ref = "" if self.clean is None else f" (clean {self.clean:.4g}" + (
            ")" if self.corrupted is None else f", corrupted {self.corrupted:.4g})")
        return f"<Effects {self.shape}: {self.what}{ref}; largest: {top}>"
