"""The one module between the page's worker and pycore: holds a training session and turns its
results into plain values (dicts, numbers, flat float32 arrays) the worker can post to the page."""
import collections
import time

import numpy as np

import pycore
from pycore.data import random_crops, to_float, validation_split

IMAGE = 28
CROP = 24


class Window:
    """Moving average of the last `size` 0/1 outcomes."""

    def __init__(self, size):
        self.size = size
        self.values = collections.deque(maxlen=size)
        self.total = 0

    def add(self, outcomes):
        for v in outcomes.tolist():
            if len(self.values) == self.size:
                self.total -= self.values[0]
            self.values.append(v)
            self.total += v

    def mean(self):
        return self.total / len(self.values) if self.values else None


class Split:
    """A growing set of examples: images (capacity, 28, 28) uint8 and labels, filled by chunks."""

    def __init__(self, capacity):
        self.images = np.zeros((capacity, IMAGE, IMAGE), dtype=np.uint8)
        self.labels = np.zeros(capacity, dtype=np.uint8)
        self.count = 0

    def add(self, raw, count):
        """raw: `count` label bytes then count*784 image bytes."""
        data = np.frombuffer(raw, dtype=np.uint8)
        if data.size != count * (1 + IMAGE * IMAGE):
            raise pycore.PycoreError(f'a data chunk has {data.size} bytes, expected {count * (1 + IMAGE * IMAGE)}')
        end = self.count + count
        if end > len(self.labels):
            raise pycore.PycoreError(f'more examples arrived than the manifest announced ({end} > {len(self.labels)})')
        self.labels[self.count:end] = data[:count]
        self.images[self.count:end] = data[count:].reshape(count, IMAGE, IMAGE)
        self.count = end


class Session:
    """One training run: the net, its trainer, the data loaded so far and the running statistics."""

    TRAIN_WINDOW = 2000
    VALIDATION_WINDOW = 500
    TEST_WINDOW = 500
    EVAL_RATIO = 5            # evaluate one validation and one test image per this many trained

    def __init__(self, train_count, test_count, spec=None, trainer=None, seed=0, validation_fraction=1 / 12):
        self.net = pycore.Net.from_spec(spec or pycore.CONVNETJS_MNIST, seed=seed)
        self.trainer = pycore.Trainer(self.net, **(trainer or pycore.CONVNETJS_TRAINER))
        self.rng = np.random.default_rng(seed)
        self.train = Split(train_count)
        self.test = Split(test_count)
        self.is_validation = validation_split(train_count, validation_fraction, seed)
        self.train_acc = Window(self.TRAIN_WINDOW)
        self.val_acc = Window(self.VALIDATION_WINDOW)
        self.test_acc = Window(self.TEST_WINDOW)
        # Held-out images are drawn at random: in file order MNIST's test set is easy first, hard last.
        self.eval_rng = np.random.default_rng(seed + 1)
        self.last = {}
        self.pending_eval = 0

    def add_chunk(self, kind, raw, count):
        if hasattr(raw, 'to_bytes'):      # a JS Uint8Array arriving from the worker
            raw = raw.to_bytes()
        (self.train if kind == 'train' else self.test).add(raw, count)

    def describe_js(self):
        return export(self.describe())

    def step(self, budget_ms, want_snapshot=False):
        """train_for, exported for the worker (undefined there while no data has arrived)."""
        return export(self.train_for(budget_ms, bool(want_snapshot)))

    def describe(self):
        """The layers for the page: type, output shape (C, H, W), formulas and parameter counts."""
        return [{'type': d['type'], 'shape': list(d['out_shape']), 'formula': d['formula'],
                 'params': d['params'], 'params_formula': d['params_formula']} for d in self.net.describe()]

    def train_for(self, budget_ms, want_snapshot=False):
        """Train batches until `budget_ms` of work is done.

        Returns {'stats': ..., 'snapshot': ... or None}; the snapshot (see `snapshot`) is taken
        only when asked for, right after the last batch.
        """
        n = self.train.count
        if n == 0:
            return None
        B = self.trainer.options.batch_size
        usable = np.flatnonzero(~self.is_validation[:n])
        t0 = time.perf_counter()
        fwd = bwd = loss = 0.0
        trained = 0
        while True:
            idx = usable[self.rng.integers(0, len(usable), B)]
            x = to_float(random_crops(self.train.images[idx], CROP, self.rng))
            y = self.train.labels[idx]
            s = self.trainer.train_batch(x, y)
            self.train_acc.add(self.net.layers[-1].out.reshape(B, -1).argmax(1) == y)
            fwd, bwd, loss = fwd + s['fwd_ms'] * B, bwd + s['bwd_ms'] * B, loss + s['loss'] * B
            trained += B
            if (time.perf_counter() - t0) * 1000 >= budget_ms:
                break
        snap = self.snapshot(int(y[0])) if want_snapshot else None
        self._evaluate(trained)
        self.last = {'examples': self.trainer.examples, 'steps': self.trainer.steps,
                     'fwd_ms': fwd / trained, 'bwd_ms': bwd / trained, 'loss': loss / trained,
                     'l2_loss': s['l2_decay_loss'], 'l1_loss': s['l1_decay_loss'],
                     'train_accuracy': self.train_acc.mean(), 'validation_accuracy': self.val_acc.mean(),
                     'test_accuracy': self.test_acc.mean(), 'epochs': self.trainer.examples / max(1, len(usable)),
                     'train_loaded': self.train.count, 'test_loaded': self.test.count,
                     'work_ms': (time.perf_counter() - t0) * 1000}
        return {'stats': self.last, 'snapshot': snap}

    def _evaluate(self, trained):
        """Score a few random held-out images (centre crop) for the moving validation and test accuracy."""
        self.pending_eval += trained
        k = self.pending_eval // self.EVAL_RATIO
        if k == 0:
            return
        self.pending_eval -= k * self.EVAL_RATIO
        val = np.flatnonzero(self.is_validation[:self.train.count])
        if len(val):
            idx = val[self.eval_rng.integers(0, len(val), k)]
            self.val_acc.add(self._correct(self.train.images[idx], self.train.labels[idx]))
        if self.test.count:
            idx = self.eval_rng.integers(0, self.test.count, k)
            self.test_acc.add(self._correct(self.test.images[idx], self.test.labels[idx]))

    def _correct(self, images, labels):
        m = (IMAGE - CROP) // 2
        probs = self.net.forward(to_float(images[:, m:m + CROP, m:m + CROP]))
        return probs.argmax(1) == labels

    def snapshot(self, label):
        """Activations and gradients of the first example of the last batch, per layer:
        {'label', 'layers': [{'type', 'shape', 'act': {'data', 'min', 'max'}, 'grad': same or None}]}."""
        layers = pycore.snapshot(self.net, index=0, weights=False)
        return {'label': label, 'layers': [
            {'type': L['type'], 'shape': L['shape'], 'act': L['activations'], 'grad': L['gradients']}
            for L in layers]}


def export(value):
    """Python result -> JS value inside Pyodide (dicts become objects, arrays typed arrays);
    unchanged on CPython, where the tests call the bridge."""
    try:
        import js
        from pyodide.ffi import to_js
    except ImportError:
        return value
    return to_js(value, dict_converter=js.Object.fromEntries)
