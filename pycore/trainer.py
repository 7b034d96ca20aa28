"""Trainer: batches, weight decay, an update rule, and the statistics of every step."""
import copy
import dataclasses
import math
import time

import numpy as np

from .errors import PycoreError
from .optim import RATELESS, RULES
from .parallel import apply_sums, flat_grads, grad_arrays, piece_bounds, piece_rngs, using_rngs
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

    Data-parallel (parallel.py): with `pieces` > 1 the batch is cut into that many contiguous
    pieces (parallel.piece_bounds), each summed on its own and the sums added in piece order. The
    pieces in `remote` are computed elsewhere (parallel.piece_sums, with this batch's `key`) and
    handed in with add(); the others here, a part at a time. A piece gives the same numbers either
    way, so the update does not depend on which pieces were remote.
    """

    def __init__(self, trainer, x, y, pieces=1, remote=(), key=(0,)):
        if len(x) == 0 or len(y) != len(x):
            raise PycoreError(f'a batch needs as many targets as examples, got {len(x)} and {len(y)}')
        self.trainer, self.x, self.y = trainer, x, y
        self.n = len(x)
        self.bounds = piece_bounds(self.n, pieces)
        self.remote = set(remote)       # pieces computed elsewhere, until add() or take_back()
        if not self.remote <= set(range(1, len(self.bounds))):
            raise PycoreError(f'remote pieces must be among 1..{len(self.bounds) - 1}, got {sorted(self.remote)}')
        self.key = [int(v) for v in key]
        self.done = 0                 # examples whose gradients are in
        self.parts = 0                # parts trained here
        self.local = 0                # examples trained here
        self.last_pass = None         # the first example of the last pass here: the net's layers hold it at index 0
        self.stats = None             # set by the last part
        self.predictions = np.zeros(self.n, dtype=np.int64) if np.ndim(y) == 1 else None
        P = len(self.bounds)
        self._next = [lo for lo, _ in self.bounds]    # each piece's next example to train here
        self._sums = [None] * P       # each piece's sum of part size * part mean gradient (flat)
        self._losses = [0.0] * P
        self._rngs = {}               # piece -> its dropout generators (pieces > 1 only)
        self._fwd = self._bwd = 0.0

    def _local_piece(self):
        """The first piece with examples left to train here, or None."""
        for k, (_, hi) in enumerate(self.bounds):
            if k not in self.remote and self._next[k] < hi:
                return k
        return None

    @property
    def waiting(self):
        """Everything here is trained, and some remote piece has not been added yet."""
        return self.stats is None and self._local_piece() is None

    def advance(self, part=None):
        """Forward and backward over the next `part` examples (default: the rest of the piece);
        after the last part, the update (once the remote pieces are in). The part size may change
        from call to call. -> True once the update is done."""
        if self.stats is not None:
            raise PycoreError('this batch is done already')
        k = self._local_piece()
        if k is None:
            raise PycoreError('this batch waits for pieces computed elsewhere')
        tr, lo, hi = self.trainer, self._next[k], self.bounds[k][1]
        size = hi - lo if part is None else max(1, min(int(part), hi - lo))
        xb, yb = self.x[lo:lo + size], self.y[lo:lo + size]
        P = len(self.bounds)
        rngs = self._rngs.setdefault(k, piece_rngs(tr.net, self.key, k)) if P > 1 else {}
        t0 = time.perf_counter()
        with using_rngs(tr.net, rngs):
            out = tr.net.forward(xb, training=True)
            t1 = time.perf_counter()
            self._losses[k] += tr.net.backward(yb) * size
        if self.predictions is not None:
            self.predictions[lo:lo + size] = out.argmax(axis=1)
        if size < self.n:             # not the whole batch in one pass: sum the parts
            g = flat_grads(tr.net)
            g *= g.dtype.type(size)
            self._sums[k] = g if self._sums[k] is None else self._sums[k].__iadd__(g)
        self._next[k] += size
        self.last_pass = lo
        self.done += size
        self.local += size
        self.parts += 1
        self._fwd, self._bwd = self._fwd + t1 - t0, self._bwd + time.perf_counter() - t1
        return self._finish()

    def add(self, piece, sums, loss, predictions=None):
        """Remote piece `piece`'s result (parallel.piece_sums). -> True once the update is done."""
        if piece not in self.remote or self._sums[piece] is not None:
            raise PycoreError(f'piece {piece} of this batch is not awaited')
        lo, hi = self.bounds[piece]
        g = np.asarray(sums)
        total = sum(a.size for a in grad_arrays(self.trainer.net))
        if g.shape != (total,):
            raise PycoreError(f'a gradient sum of {g.shape} for a net of {total} parameters')
        self._sums[piece] = g.astype(grad_arrays(self.trainer.net)[0].dtype, copy=True)
        self._losses[piece] = float(loss)
        if self.predictions is not None:
            self.predictions[lo:hi] = np.asarray(predictions)
        self.done += hi - lo
        return self._finish()

    def share(self, skip):
        """The gradient sums of every piece but `skip`, for the worker that computed piece `skip`
        (which makes the same update with them, parallel.apply_sums): [(piece, sums)], or None
        while one of them is not in."""
        out = [(k, g) for k, g in enumerate(self._sums) if k != skip]
        return None if any(g is None for _, g in out) else out

    def take_back(self, piece):
        """Train remote piece `piece` here after all (its worker is gone); no-op once it is in."""
        if piece in self.remote and self._sums[piece] is None:
            self.remote.discard(piece)

    def _finish(self):
        if self.done < self.n:
            return False
        tr = self.trainer
        if self._sums[0] is not None:             # parts or pieces: their sum, in piece order
            decay = apply_sums(tr, self._sums, self.n)
        else:                                     # one pass over the whole batch: its grads are the mean
            decay = tr._update(self.n)
            tr.steps += 1
            tr.examples += self.n
        n, local = self.n, max(self.local, 1)
        loss = 0.0
        for v in self._losses:
            loss += v
        self.stats = {'loss': loss / n, 'l1_decay_loss': decay[0], 'l2_decay_loss': decay[1],
                      'accuracy': float((self.predictions == self.y).mean()) if self.predictions is not None else None,
                      'fwd_ms': 1000 * self._fwd / local, 'bwd_ms': 1000 * self._bwd / local, 'examples': n, 'steps': 1}
        return True
