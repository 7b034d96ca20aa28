"""Central-difference gradient checking in float64 (the spec every layer must meet)."""
import numpy as np


def rel_error(a, b):
    """Max elementwise relative error, guarded for values near zero."""
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def numeric_grad(f, x, h=1e-3):
    """d f() / d x for scalar f, perturbing x in place one element at a time.

    Uses the fourth-order central difference (-f(x+2h) + 8f(x+h) - 8f(x-h) + f(x-2h)) / 12h:
    its truncation error is O(h^4), so h can be large enough for round-off to stay far below
    the 1e-7 relative error we require, even for small gradients.
    """
    g = np.zeros_like(x)
    it = np.nditer(x, flags=['multi_index'])
    for _ in it:
        i = it.multi_index
        old = x[i]
        values = []
        for step in (2 * h, h, -h, -2 * h):
            x[i] = old + step
            values.append(f())
        x[i] = old
        g[i] = (8 * (values[1] - values[2]) + (values[3] - values[0])) / (12 * h)
    return g
