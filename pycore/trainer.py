"""Trainer: batches, weight decay, an update rule, and the statistics of every step."""
import copy
import dataclasses
import math
import time

import numpy as np

from .errors import PycoreError
from .optim import RATELESS, RULES
from .schedule import SCHEDULES, rate


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
    # the learning-rate schedule (schedule.py): the rate of each update from learning_rate
    schedule: str = 'constant'
    step_size: int = 1000        # step: updates between two multiplications by gamma
    gamma: float = 0.5           # step, exponential: the factor
    total_steps: int = 10000     # cosine: updates from learning_rate down to min_rate
    min_rate: float = 0.0        # cosine: the rate it ends at
    warmup_steps: int = 0        # any schedule: updates of linear warm-up first (0: none)

    def __post_init__(self):
        if self.method not in RULES:
            raise PycoreError(f'unknown trainer method {self.method!r}; choose one of {", ".join(RULES)}')
        if self.schedule not in SCHEDULES:
            raise PycoreError(f'unknown learning-rate schedule {self.schedule!r}; choose one of {", ".join(SCHEDULES)}')
        for name, lo in (('batch_size', 1), ('step_size', 1), ('total_steps', 1), ('warmup_steps', 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise PycoreError(f'{name} must be a whole number of at least {lo}, got {v!r}')
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.type is float and (isinstance(v, bool) or not isinstance(v, (int, float))
                                      or not math.isfinite(v) or v < 0):
                raise PycoreError(f'{f.name} must be a non-negative number, got {v!r}')
        for name in ('momentum', 'ro', 'beta1', 'beta2'):
            if getattr(self, name) >= 1:
                raise PycoreError(f'{name} must be below 1, got {getattr(self, name)}')
        if not 0 < self.gamma <= 1:
            raise PycoreError(f'gamma must be above 0 and at most 1, got {self.gamma}')


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

    def rate(self):
        """The learning rate of the next update, from the options' schedule and the updates done;
        None for an update rule that takes no learning rate (adadelta)."""
        return None if self.options.method in RATELESS else rate(self.options, self.steps)

    def params(self):
        """Yield (key, layer, name) for every parameter of the net."""
        for i, layer in enumerate(self.net.layers):
            for name in layer.params:
                yield (i, name), layer, name

    def train_batch(self, x, y, part=None):
        """Train on examples x: (N, C, H, W) with targets y, one update per batch_size examples.

        part: examples per forward/backward pass (default: the whole batch); see Batch.
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
            batch = Batch(self, x[start:start + B], y[start:start + B])
            while not batch.advance(part):
                pass
            s = batch.stats
            loss, fwd, bwd = loss + s['loss'] * batch.n, fwd + s['fwd_ms'] * batch.n, bwd + s['bwd_ms'] * batch.n
            correct += (s['accuracy'] or 0.0) * batch.n
        return {'loss': loss / N, 'l1_decay_loss': s['l1_decay_loss'], 'l2_decay_loss': s['l2_decay_loss'],
                'accuracy': correct / N if np.ndim(y) == 1 else None,
                'fwd_ms': fwd / N, 'bwd_ms': bwd / N, 'examples': N, 'steps': -(-N // B)}

    def _update(self, n):
        """Apply weight decay and the update rule to every parameter; n: examples in the batch."""
        o = self.options
        if (o.schedule != 'constant' or o.warmup_steps) and o.method not in RATELESS:
            # A copy with this update's rate: the options were validated once, in set().
            o = copy.copy(o)
            object.__setattr__(o, 'learning_rate', rate(self.options, self.steps))
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


class Batch:
    """One update from the examples x: (n, C, H, W) and targets y, computed a part at a time, so
    that a caller can stop between parts (the page's worker answers a pause there).

    The parts' mean gradients, weighted by their sizes, are summed into the batch's mean gradient:
    the same update as one pass over the batch, up to float rounding. With one part it is exactly
    that pass. Weight decay and the update rule run once, after the last part.
    """

    def __init__(self, trainer, x, y):
        if len(x) == 0 or len(y) != len(x):
            raise PycoreError(f'a batch needs as many targets as examples, got {len(x)} and {len(y)}')
        self.trainer, self.x, self.y = trainer, x, y
        self.n = len(x)
        self.done = 0                 # examples whose gradients are in
        self.parts = 0                # parts trained
        self.stats = None             # set by the last part
        self.predictions = np.zeros(self.n, dtype=np.int64) if np.ndim(y) == 1 else None
        self._loss = self._fwd = self._bwd = 0.0
        self._sum = None              # (layer index, name) -> sum of part size * part mean gradient

    def advance(self, part=None):
        """Forward and backward over the next `part` examples (default: all that are left); after
        the last part, the update. The part size may change from call to call.
        -> True once the update is done."""
        if self.stats is not None:
            raise PycoreError('this batch is done already')
        tr, lo = self.trainer, self.done
        k = self.n - lo if part is None else max(1, min(int(part), self.n - lo))
        xb, yb = self.x[lo:lo + k], self.y[lo:lo + k]
        t0 = time.perf_counter()
        out = tr.net.forward(xb, training=True)
        t1 = time.perf_counter()
        self._loss += tr.net.backward(yb) * k
        if self.predictions is not None:
            self.predictions[lo:lo + k] = out.argmax(axis=1)
        self.done += k
        self.parts += 1
        if self._sum is not None or self.done < self.n:          # a batch split into parts
            first, self._sum = self._sum is None, self._sum or {}
            for key, layer, name in tr.params():
                g = layer.grads[name] * layer.grads[name].dtype.type(k)
                if first:
                    self._sum[key] = g
                else:
                    self._sum[key] += g
        if self.done < self.n:
            self._fwd, self._bwd = self._fwd + t1 - t0, self._bwd + time.perf_counter() - t1
            return False
        if self._sum is not None:
            for key, layer, name in tr.params():
                np.divide(self._sum[key], layer.grads[name].dtype.type(self.n), out=layer.grads[name])
        decay = tr._update(self.n)
        self._fwd, self._bwd = self._fwd + t1 - t0, self._bwd + time.perf_counter() - t1
        tr.steps += 1
        tr.examples += self.n
        n = self.n
        self.stats = {'loss': self._loss / n, 'l1_decay_loss': decay[0], 'l2_decay_loss': decay[1],
                      'accuracy': float((self.predictions == self.y).mean()) if self.predictions is not None else None,
                      'fwd_ms': 1000 * self._fwd / n, 'bwd_ms': 1000 * self._bwd / n, 'examples': n, 'steps': 1}
        return True
