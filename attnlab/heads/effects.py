"""Effects: one number per model component, with what it measures (the result of sweeps and patching).

Per head the array is [n_layers, n_heads]; per residual-stream site it is [n_layers + 1, n_tokens]
(row ``l`` is the stream entering block ``l``; the last row is the final stream). It converts to a
numpy array, so it goes straight into charts, ``HeadGrid(scores=...)`` or numpy code.

>>> import numpy as np
>>> e = Effects(np.array([[0.1, 2.0], [-0.5, 0.0]]), what="change in loss", clean=1.5)
>>> e.top(2)
[((0, 1), 2.0), ((1, 0), -0.5)]
>>> float(np.asarray(e).sum())
1.6
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True, repr=False)
class Effects:
    """``values``: the numbers; ``what``: what they measure; ``clean``: the metric on the clean (unchanged)
    run; ``corrupted``: the metric on the corrupted run (patching only); ``tokens``: the prompt's tokens
    when rows are (layer, position) sites; ``kind``: "head" or "position"."""

    values: np.ndarray
    what: str
    clean: float
    corrupted: float | None = None
    tokens: list[str] | None = None
    kind: str = "head"

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.values.shape

    def top(self, k: int = 10, absolute: bool = True) -> list[tuple[tuple[int, int], float]]:
        """The ``k`` largest entries (by absolute value unless ``absolute=False``) as ((row, col), value)."""
        flat = np.nan_to_num(self.values, nan=-np.inf if not absolute else 0.0).ravel()
        order = np.argsort(-(np.abs(flat) if absolute else flat), kind="stable")[:k]
        return [(tuple(int(i) for i in np.unravel_index(o, self.shape)), float(self.values.ravel()[o]))
                for o in order]

    def agreement(self, other) -> float:
        """Spearman rank correlation with another array of the same shape (NaN entries are skipped).

        Use it to check an estimate against the exact numbers: ``attribution(...).agreement(sweep)``.
        """
        b = np.asarray(other, dtype=float)
        if b.shape != self.shape:
            raise ValueError(f"cannot compare shapes {self.shape} and {b.shape}.")
        a = np.asarray(self.values, dtype=float)
        ok = ~(np.isnan(a) | np.isnan(b))
        ra, rb = pd.Series(a[ok]).rank().to_numpy(), pd.Series(b[ok]).rank().to_numpy()   # ties: mean rank
        return float(np.corrcoef(ra, rb)[0, 1])

    def __repr__(self) -> str:
        label = (lambda rc: f"L{rc[0]}H{rc[1]}") if self.kind == "head" else \
            (lambda rc: f"L{rc[0]}@{rc[1]}" + (f"{self.tokens[rc[1]]!r}" if self.tokens else ""))
        top = ", ".join(f"{label(rc)} {v:+.3g}" for rc, v in self.top(5))
        ref = f"clean {self.clean:.4g}" + ("" if self.corrupted is None else f", corrupted {self.corrupted:.4g}")
        return f"<Effects {self.shape}: {self.what} ({ref}); largest: {top}>"
