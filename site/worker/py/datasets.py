"""The page's data as it arrives in chunks, and moving averages of 0/1 outcomes."""
import collections

import numpy as np

from pycore import PycoreError
from pycore.data import validation_split

IMAGE = 28


class Window:
    """Moving average of the last `size` 0/1 outcomes."""

    def __init__(self, size, values=()):
        self.size = size
        self.values = collections.deque(values, maxlen=size)
        self.total = sum(self.values)

    def add(self, outcomes):
        for v in outcomes.tolist():
            if len(self.values) == self.size:
                self.total -= self.values[0]
            self.values.append(int(v))
            self.total += int(v)

    def mean(self):
        return self.total / len(self.values) if self.values else None


class Split:
    """A growing set of examples: images (capacity, 28, 28) uint8 and labels, filled by chunks."""

    def __init__(self, capacity):
        self.images = np.empty((capacity, IMAGE, IMAGE), dtype=np.uint8)   # filled by add(); zeroing costs 0.2 s in Pyodide
        self.labels = np.zeros(capacity, dtype=np.uint8)
        self.count = 0

    def add(self, raw, count):
        """raw: `count` label bytes then count*784 image bytes."""
        data = np.frombuffer(raw, dtype=np.uint8)
        if data.size != count * (1 + IMAGE * IMAGE):
            raise PycoreError(f'a data chunk has {data.size} bytes, expected {count * (1 + IMAGE * IMAGE)}')
        end = self.count + count
        if end > len(self.labels):
            raise PycoreError(f'more examples arrived than the manifest announced ({end} > {len(self.labels)})')
        self.labels[self.count:end] = data[:count]
        self.images[self.count:end] = data[count:].reshape(count, IMAGE, IMAGE)
        self.count = end


class Dataset:
    def __init__(self, name, meta, seed, validation_fraction=1 / 12):
        self.name, self.title, self.classes = name, meta['title'], list(meta['classes'])
        self.train = Split(meta['train_count'])
        self.test = Split(meta['test_count'])
        self.is_validation = validation_split(meta['train_count'], validation_fraction, seed)
        self._indices = (-1, None, None)

    def indices(self):
        """(training, validation) indices among the loaded training images, recomputed only when
        a chunk has arrived: the training loop asks for them on every slice."""
        n = self.train.count
        if self._indices[0] != n:
            loaded = self.is_validation[:n]
            self._indices = (n, np.flatnonzero(~loaded), np.flatnonzero(loaded))
        return self._indices[1:]
