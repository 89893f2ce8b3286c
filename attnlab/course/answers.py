"""The shapes answers come in, for the checks: is it a number, a (layer, head) pair, ... and what to say when not."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["as_head", "as_int", "head_expected", "is_finite", "is_number"]


def is_number(x) -> bool:
    """A real number (int or float, numpy ones too), not a bool."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def is_finite(x) -> bool:
    """A number that is neither nan nor infinite."""
    return is_number(x) and math.isfinite(float(x))


def as_int(x) -> int | None:
    """``x`` as an int if it is a whole number of type int (numpy ints too, no bools); else None."""
    if isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)):
        return int(x)
    return None


def as_head(answer, shape) -> tuple[int, int] | None:
    """``answer`` as a (layer, head) pair of ints inside ``shape`` = (layers, heads); None if it is not one."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return None
    layer, head = (as_int(x) for x in answer)
    if layer is None or head is None or not (0 <= layer < shape[0] and 0 <= head < shape[1]):
        return None
    return layer, head


def head_expected(shape) -> str:
    """What to say to an answer that is not a head of a model with ``shape`` = (layers, heads)."""
    return f"answer with a (layer, head) pair of ints in 0..{shape[0] - 1}, 0..{shape[1] - 1}, e.g. (1, 0)."
