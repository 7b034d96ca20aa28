"""Scoring every loaded test image in slices of the worker's time, and the images of the last
result's confusion-matrix cells and most confident mistakes."""
import time

import numpy as np

from pycore.metrics import confident_mistakes, confusion_matrix, per_class_accuracy


class Evaluation:
    """One pass over the test images loaded when it began. predict: (N, 28, 28) uint8 -> (N, K)."""

    def __init__(self, test, classes, examples):
        self.test, self.classes, self.examples = test, classes, examples
        self.count = test.count
        self.next = 0
        self.probs = np.zeros((self.count, len(classes)), np.float32)   # (count, K)

    def step(self, predict, budget_ms, batch):
        """Score batches of `batch` images for about budget_ms (at least one batch); -> True when done."""
        t0 = time.perf_counter()
        while self.next < self.count:
            s = slice(self.next, min(self.next + batch, self.count))
            self.probs[s] = predict(self.test.images[s])
            self.next = s.stop
            if (time.perf_counter() - t0) * 1000 >= budget_ms:
                break
        return self.next >= self.count

    def result(self):
        """The finished pass as the page shows it, and the Scores that its cells are read from."""
        labels = self.test.labels[:self.count]
        pred = self.probs.argmax(1)
        matrix = confusion_matrix(labels, pred, len(self.classes))
        scores = Scores(self.test, self.probs, pred, labels)
        return {'matrix': matrix.tolist(),
                'per_class': [None if np.isnan(a) else float(a) for a in per_class_accuracy(matrix)],
                'accuracy': float((pred == labels).mean()) if len(labels) else None,
                'count': int(self.count), 'examples': self.examples, 'classes': self.classes,
                'mistakes': scores.images(confident_mistakes(self.probs, labels, 24))}, scores


class Scores:
    """A finished evaluation's predictions: probs (count, K), pred and labels (count,)."""

    def __init__(self, test, probs, pred, labels):
        self.test, self.probs, self.pred, self.labels = test, probs, pred, labels

    def cell(self, true, pred, limit=60):
        """Test images of true class `true` predicted as `pred`: the first `limit` and the total."""
        idx = np.flatnonzero((self.labels == int(true)) & (self.pred == int(pred)))
        return {'true': int(true), 'pred': int(pred), 'total': int(len(idx)), 'images': self.images(idx[:limit])}

    def images(self, idx):
        return [{'index': int(i), 'image': self.test.images[i].ravel(), 'label': int(self.labels[i]),
                 'pred': int(self.pred[i]), 'confidence': float(self.probs[i, self.pred[i]])} for i in idx]
