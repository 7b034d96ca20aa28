"""Races: copies of the page's network, each changed in one way, trained side by side on the same
batches, so that their loss curves differ only by that change. 'activations': one copy per
activation function, from the same weights (activations have none). 'flatten': the network as it is,
and with a fixed shuffle of the values its first fc layer reads."""
import time

import numpy as np

import pycore
from pycore import PycoreError
from pycore.activations import ACTIVATIONS
from pycore.data import random_crops, to_float

RACERS = ('relu', 'lrelu', 'elu', 'selu', 'softplus', 'sigmoid', 'tanh')
MAX_EXAMPLES = 20_000        # per activation: seven copies train, so a race costs seven times this
TEST_IMAGES = 500            # each copy is scored on this many test images at the end


def with_activation(spec, name):
    """`spec` (a list of layer dicts) with every activation replaced by `name`, or PycoreError when it
    has none: an `activation` key, or an activation layer (whose own keys, like alpha, are dropped)."""
    out, swapped = [], 0
    for d in spec:
        d = dict(d)
        if d.get('activation') in ACTIVATIONS:
            d['activation'], swapped = name, swapped + 1
        if d['type'] in ACTIVATIONS:
            d, swapped = {'type': name}, swapped + 1
        out.append(d)
    if not swapped:
        raise PycoreError('this network has no activation functions to swap: choose a preset with some')
    return out


def with_shuffle(spec, seed=1):
    """`spec` with a shuffle layer before its first fc or loss layer: the values that layer reads come
    in another (fixed) order."""
    k = next(i for i, d in enumerate(spec) if d['type'] in ('fc', 'softmax', 'svm', 'regression'))
    return [*spec[:k], {'type': 'shuffle', 'seed': seed}, *spec[k:]]


KINDS = {
    'activations': lambda spec: {name: with_activation(spec, name) for name in RACERS},
    'flatten': lambda spec: {'ordered': spec, 'shuffled': with_shuffle(spec), 'moved': with_shuffle(spec)},
}


def _move_weights(ordered, moved):
    """Give `moved` (ordered's spec plus a shuffle) the weights of `ordered`, the fc weights after the
    shuffle reordered with their inputs: the two then compute the same function, step after step."""
    k = next(i for i, L in enumerate(moved.layers) if L.type == 'shuffle')
    for a, b in zip(ordered.layers[:k], moved.layers[:k]):
        for name in a.params:
            b.params[name][...] = a.params[name]
    fc, source = moved.layers[k + 1], ordered.layers[k]
    fc.params['w'][...] = source.params['w'][:, moved.layers[k].order]   # (M, D): column j reads input order[j]
    fc.params['b'][...] = source.params['b']


class Race:
    """Train copies of `session`'s network, changed as `kind` says, for `examples` examples each."""

    EVERY = 200               # a loss point per this many examples (the mean over them)

    def __init__(self, session, examples, kind='activations', racers=None):
        examples = int(examples)
        if not 0 < examples <= MAX_EXAMPLES:
            raise PycoreError(f'a race of {examples:,} examples: it must be 1 to {MAX_EXAMPLES:,} per activation')
        if len(session._usable()) == 0:
            raise PycoreError('no training images are loaded yet')
        if kind not in KINDS:
            raise PycoreError(f'no race of kind {kind!r}; the kinds are {", ".join(KINDS)}')
        self.session, self.examples, self.kind = session, examples, kind
        spec, seed = session.net.spec, session.net.seed
        specs = KINDS[kind](spec)
        self.nets = {name: pycore.Net.from_spec(specs[name], seed=seed) for name in (racers or specs)}
        if 'moved' in self.nets:
            _move_weights(self.nets['ordered'], self.nets['moved'])
        self.trainers = {name: pycore.Trainer(net, **session.options) for name, net in self.nets.items()}
        self.rng = np.random.default_rng([session.seed, seed, 2])
        self.done = self.mark = 0    # examples trained (per copy), and at the last loss point
        self.sums = dict.fromkeys(self.nets, 0.0)
        self.curves = {name: [] for name in self.nets}     # name -> [[examples, mean loss or None]]
        self.result = None

    def step(self, budget_ms):
        """Train every copy on the same batches for about budget_ms (at least one batch); -> progress
        {'done', 'examples', 'curves', 'result' (None until the end: name -> test accuracy)}."""
        s, t0 = self.session, time.perf_counter()
        usable, B = s._usable(), s.trainer.options.batch_size
        while self.done < self.examples:
            idx = usable[self.rng.integers(0, len(usable), B)]
            x = to_float(random_crops(s.ds.train.images[idx], s.crop, self.rng))
            y = s.ds.train.labels[idx]
            for name, trainer in self.trainers.items():
                self.sums[name] += trainer.train_batch(x, y)['loss'] * B
            self.done += B
            if self.done % self.EVERY < B or self.done >= self.examples:
                for name in self.nets:
                    mean = self.sums[name] / (self.done - self.mark)
                    self.curves[name].append([self.done, float(mean) if np.isfinite(mean) else None])
                    self.sums[name] = 0.0
                self.mark = self.done
            if (time.perf_counter() - t0) * 1000 >= budget_ms:
                break
        if self.done >= self.examples and self.result is None:
            n = min(TEST_IMAGES, s.ds.test.count)
            images, labels = s._centre(s.ds.test.images[:n]), s.ds.test.labels[:n]
            self.result = {name: float((net.forward(images).argmax(1) == labels).mean()) if n else None
                           for name, net in self.nets.items()}
        return {'kind': self.kind, 'done': self.done, 'examples': self.examples, 'curves': self.curves, 'result': self.result,
                'test_images': min(TEST_IMAGES, s.ds.test.count)}
