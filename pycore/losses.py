"""Loss layers. Input scores: (N, K, 1, 1) from the fc layer before them; the loss is the mean
over the batch, so gradients are per-example means too.

forward returns the layer's output (probabilities for softmax, the scores otherwise);
backward(y) stores dx for the layer below in self.dx and returns the loss.
"""
import numpy as np

from .errors import PycoreError
from .layers import Layer


class LossLayer(Layer):
    is_loss = True

    def backward(self, y):
        raise NotImplementedError

    def _labels(self, y, N):
        y = np.asarray(y)
        K = self.out_shape[0]
        if y.shape != (N,) or not np.issubdtype(y.dtype, np.integer):
            raise PycoreError(f'{self.type} loss needs {N} integer class labels, got shape {y.shape} '
                             f'of {y.dtype}')
        if N and (y.min() < 0 or y.max() >= K):
            raise PycoreError(f'{self.type} loss labels must be in 0..{K - 1}, got {y.min()}..{y.max()}')
        return y


class Softmax(LossLayer):
    """Softmax with cross-entropy loss. y: (N,) integer labels."""
    type = 'softmax'

    def forward(self, x, training=False):
        s = x.reshape(x.shape[0], -1)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        self.out = (e / e.sum(axis=1, keepdims=True)).reshape(x.shape)
        return self.out

    def backward(self, y):
        p = self.out.reshape(self.out.shape[0], -1)                    # (N, K)
        N = p.shape[0]
        y = self._labels(y, N)
        rows = np.arange(N)
        loss = -np.log(np.maximum(p[rows, y], np.finfo(p.dtype).tiny)).mean()
        dx = p.copy()
        dx[rows, y] -= 1
        dx /= N
        self.dx = dx.reshape(self.out.shape)
        return float(loss)


class SVM(LossLayer):
    """Multiclass hinge loss with margin 1, summed over the wrong classes. ConvNetJS's svm has the
    same gradient but reports 1 more, as its loop also counts the true class."""
    type = 'svm'

    def forward(self, x, training=False):
        self.out = x
        return x

    def backward(self, y):
        s = self.out.reshape(self.out.shape[0], -1)                    # (N, K)
        N = s.shape[0]
        y = self._labels(y, N)
        rows = np.arange(N)
        margins = s - s[rows, y][:, None] + 1
        margins[rows, y] = 0
        active = (margins > 0).astype(s.dtype)
        loss = (margins * active).sum() / N
        dx = active
        dx[rows, y] = -active.sum(axis=1)
        dx /= N
        self.dx = dx.reshape(self.out.shape)
        return float(loss)


class Regression(LossLayer):
    """L2 loss 0.5 * sum((x - y)^2) per example. y: (N, K) targets."""
    type = 'regression'

    def forward(self, x, training=False):
        self.out = x
        return x

    def backward(self, y):
        s = self.out.reshape(self.out.shape[0], -1)
        y = np.asarray(y, dtype=s.dtype)
        if y.shape != s.shape:
            raise PycoreError(f'regression targets must have shape {s.shape}, got {y.shape}')
        diff = s - y
        N = s.shape[0]
        self.dx = (diff / N).reshape(self.out.shape)
        return float(0.5 * (diff * diff).sum() / N)


LOSSES = {c.type: c for c in (Softmax, SVM, Regression)}
