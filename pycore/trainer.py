"""Trainer: batches, weight decay, an update rule, and the statistics of every step."""
import dataclasses
import math
import time

import numpy as np

from .errors import PycoreError
from .optim import RULES


@dataclasses.dataclass(frozen=True)
class TrainerOptions:
    """Defaults are those of ConvNetJS's current source (the npm 0.3.0 build uses eps 1e-6)."""
    method: str = 'sgd'
    learning_rate: float = 0.01
    momentum: float = 0.9
    batch_size: int = 1
    l1_decay: float = 0.0
    l2_decay: float = 0.0
    ro: float = 0.95
    eps: float = 1e-8
    beta1: float = 0.9
    beta2: float = 0.999

    def __post_init__(self):
        if self.method not in RULES:
            raise PycoreError(f'unknown trainer method {self.method!r}; choose one of {", ".join(RULES)}')
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise PycoreError(f'batch_size must be a whole number of at least 1, got {self.batch_size!r}')
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.type is float and (isinstance(v, bool) or not isinstance(v, (int, float))
                                      or not math.isfinite(v) or v < 0):
                raise PycoreError(f'{f.name} must be a non-negative number, got {v!r}')
        for name in ('momentum', 'ro', 'beta1', 'beta2'):
            if getattr(self, name) >= 1:
                raise PycoreError(f'{name} must be below 1, got {getattr(self, name)}')


class Trainer:
    """Trains `net` with one update per batch of `batch_size` examples.

    Weight decay follows ConvNetJS: the decay gradient (l2_decay * l2_decay_mul * w, and l1 likewise)
    is added to the summed batch gradient before dividing by the batch size, weights only, never
    biases. The decay losses reported are l2_decay * sum(l2_decay_mul * w^2) / 2 and
    l1_decay * sum(l1_decay_mul * |w|), their true values at that step.
    """

    def __init__(self, net, **options):
        self.net = net
        self.state = {}      # (layer index, param name) -> the update rule's buffers
        self.steps = 0       # parameter updates done
        self.examples = 0    # training examples seen
        self.options = TrainerOptions()
        self.set(**options)  # PycoreError, not TypeError, for an unknown option

    def set(self, **changes):
        """Change hyper-parameters between steps; buffers and counters are kept, except that a
        different update rule starts with fresh buffers (sgd's 'gsum' is a velocity, adagrad's a
        sum of squares)."""
        old = self.options
        try:
            self.options = dataclasses.replace(old, **changes)
        except TypeError as e:
            raise PycoreError(f'unknown trainer option: {e}') from None
        if RULES[self.options.method] is not RULES[old.method]:
            self.state = {}

    def params(self):
        """Yield (key, layer, name) for every parameter of the net."""
        for i, layer in enumerate(self.net.layers):
            for name in layer.params:
                yield (i, name), layer, name

    def train_batch(self, x, y):
        """Train on examples x: (N, C, H, W) with targets y, one update per batch_size examples.

        Returns the statistics averaged over the examples: loss (classification), l1_decay_loss,
        l2_decay_loss (at the last update), accuracy (of the predictions made before each update),
        fwd_ms / bwd_ms (per example), examples and steps.
        """
        N = len(x)
        if N == 0 or len(y) != N:
            raise PycoreError(f'train_batch needs as many targets as examples, got {N} and {len(y)}')
        B = self.options.batch_size
        loss = correct = fwd = bwd = 0.0
        for start in range(0, N, B):
            xb, yb = x[start:start + B], y[start:start + B]
            n = len(xb)
            t0 = time.perf_counter()
            out = self.net.forward(xb, training=True)
            t1 = time.perf_counter()
            loss += self.net.backward(yb) * n
            decay = self._update(n)
            t2 = time.perf_counter()
            fwd, bwd = fwd + t1 - t0, bwd + t2 - t1
            if np.ndim(yb) == 1:
                correct += float((out.argmax(axis=1) == yb).sum())
            self.steps += 1
            self.examples += n
        return {'loss': loss / N, 'l1_decay_loss': decay[0], 'l2_decay_loss': decay[1],
                'accuracy': correct / N if np.ndim(y) == 1 else None,
                'fwd_ms': 1000 * fwd / N, 'bwd_ms': 1000 * bwd / N, 'examples': N,
                'steps': -(-N // B)}

    def _update(self, n):
        """Apply weight decay and the update rule to every parameter; n: examples in the batch."""
        o = self.options
        rule = RULES[o.method]
        l1_loss = l2_loss = 0.0
        for key, layer, name in self.params():
            p, g = layer.params[name], layer.grads[name]
            l1_mul, l2_mul = layer.decay_mul.get(name, (0.0, 0.0))
            l1, l2 = o.l1_decay * l1_mul, o.l2_decay * l2_mul
            if l1 or l2:
                l2_loss += l2 * float(np.dot(p.ravel(), p.ravel())) / 2
                l1_loss += l1 * float(np.abs(p).sum())
                g = g + (l2 * p + l1 * np.sign(p)) / n
            rule(p, g, self.state.setdefault(key, {}), o)
        return l1_loss, l2_loss
