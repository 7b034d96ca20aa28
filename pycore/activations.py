"""Elementwise activation layers. Shape-preserving: (N, C, H, W) -> (N, C, H, W).

Written with np.where, which under Pyodide's NumPy is several times faster than np.maximum or
np.clip on arrays of this size.
"""
import numpy as np

from .layers import Layer


class ReLU(Layer):
    type = 'relu'

    def forward(self, x, training=False):
        self.out = np.where(x > 0, x, x.dtype.type(0))
        return self.out

    def backward(self, dout):
        self.dout = dout
        return np.where(self.out > 0, dout, dout.dtype.type(0))


class LeakyReLU(Layer):
    """x for x > 0, alpha * x otherwise."""
    type = 'lrelu'

    def __init__(self, in_shape, out_shape, info=None, *, alpha=0.01):
        super().__init__(in_shape, out_shape, info)
        self.alpha = alpha

    def forward(self, x, training=False):
        self._pos = x > 0
        self.out = np.where(self._pos, x, x * x.dtype.type(self.alpha))
        return self.out

    def backward(self, dout):
        self.dout = dout
        return np.where(self._pos, dout, dout * dout.dtype.type(self.alpha))


class ELU(Layer):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    type = 'elu'

    def __init__(self, in_shape, out_shape, info=None, *, alpha=1.0):
        super().__init__(in_shape, out_shape, info)
        self.alpha = alpha

    def forward(self, x, training=False):
        self._pos = x > 0
        neg = np.where(self._pos, x.dtype.type(0), x)   # keeps exp from overflowing on large x
        self._neg_exp = np.exp(neg)
        self.out = np.where(self._pos, x, x.dtype.type(self.alpha) * (self._neg_exp - 1))
        return self.out

    def backward(self, dout):
        self.dout = dout
        return np.where(self._pos, dout, dout * (dout.dtype.type(self.alpha) * self._neg_exp))


class SELU(Layer):
    """scale * ELU(x) with alpha and scale fixed so activations self-normalize (Klambauer et al. 2017)."""
    type = 'selu'
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946

    def forward(self, x, training=False):
        self._pos = x > 0                                # (N, C, H, W)
        neg = np.where(self._pos, x.dtype.type(0), x)   # keeps exp from overflowing on large x
        self._neg_exp = np.exp(neg)
        scale, alpha = x.dtype.type(self.scale), x.dtype.type(self.alpha)
        self.out = scale * np.where(self._pos, x, alpha * (self._neg_exp - 1))
        return self.out

    def backward(self, dout):
        self.dout = dout
        scale, alpha = dout.dtype.type(self.scale), dout.dtype.type(self.alpha)
        return scale * np.where(self._pos, dout, dout * (alpha * self._neg_exp))


class Sigmoid(Layer):
    type = 'sigmoid'

    def forward(self, x, training=False):
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout):
        self.dout = dout
        return dout * self.out * (1 - self.out)


class Tanh(Layer):
    type = 'tanh'

    def forward(self, x, training=False):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        self.dout = dout
        return dout * (1 - self.out * self.out)


class Softplus(Layer):
    """log(1 + exp(x)), computed without overflow."""
    type = 'softplus'

    def forward(self, x, training=False):
        self._x = x
        self.out = np.logaddexp(x.dtype.type(0), x)
        return self.out

    def backward(self, dout):
        self.dout = dout
        return dout * sigmoid(self._x)


def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


ACTIVATIONS = {c.type: c for c in (ReLU, LeakyReLU, ELU, SELU, Sigmoid, Tanh, Softplus)}
