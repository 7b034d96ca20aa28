"""What the network view and the lessons look at: the example in focus and every layer's values
for it (snapshots), any test image or picture of the user's run through the net now, and the
centre-cropped predictions the scoring and the prediction cards use."""
import numpy as np

import pycore
from datasets import IMAGE
from pycore import PycoreError
from pycore.data import crop, prepare_digit, to_float


class Looking:
    """The looking half of session.Session, which it is mixed into. It reads the session's net,
    data (ds), crop, random generator for scoring (eval_rng) and the latest training example, and
    keeps the focus: None (the latest training example) or the example chosen by set_focus."""

    def _centre(self, images):
        """(N, 28, 28) uint8 -> (N, 1, crop, crop) float32: the centre crop the net is scored on."""
        m = (IMAGE - self.crop) // 2
        return to_float(crop(images, self.crop, m, m))

    def predict(self, images):
        """(N, 28, 28) uint8 -> (N, K) class probabilities (centre crop)."""
        return self.net.forward(self._centre(images))

    def set_focus(self, kind, index=None, pixels=None, width=None, height=None):
        """Choose the example the network view shows: 'training' (the latest training example),
        'test' (test image `index`) or 'custom' (a grayscale picture in [0, 1], preprocessed
        like MNIST). Returns the 28x28 image, its label (or None) and a description."""
        if kind == 'training':
            self.focus = None
            return {'kind': kind, 'description': 'the latest training example'}
        if kind == 'test':
            index = int(index)
            if not 0 <= index < self.ds.test.count:
                raise PycoreError(f'test image {index} is not loaded')
            image, label = self.ds.test.images[index], int(self.ds.test.labels[index])
            description = f'test image #{index}'
        elif kind == 'custom':
            if hasattr(pixels, 'to_py'):
                pixels = pixels.to_py()
            gray = np.asarray(pixels, dtype=np.float32).reshape(int(height), int(width))
            image, label, description = prepare_digit(gray), None, 'your image'
        else:
            raise PycoreError(f'unknown example kind {kind!r}')
        self.focus = {'kind': kind, 'index': index, 'image': image, 'label': label, 'description': description}
        return {'kind': kind, 'index': index, 'image': image.ravel(), 'label': label, 'description': description}

    def snapshot(self):
        """What every layer holds for the focus example (or the latest training example), or None:
        {'label', 'source', 'probs', 'layers': [{'type', 'shape', 'act', 'grad', 'weights', 'wgrads'}]},
        each array part being {'data': flat float32, 'shape', 'min', 'max'}."""
        f = self.focus
        if f is not None:
            x, label = self._centre(f['image'][None])[0], f['label']
        elif self.last_example is not None and self.last_example[0].shape == self.net.input_shape:
            x, label = self.last_example
        else:
            return None
        probs, layers = pycore.inspect(self.net, x, label)
        return self._pack(layers, probs, label, f['description'] if f else 'the latest training example')

    def inspect_test(self, index):
        """Every layer for test image `index`, run now with the current weights (so that weights and
        activations agree, as a lesson's arithmetic needs), without changing the focus."""
        index = int(index)
        if not 0 <= index < self.ds.test.count:
            raise PycoreError(f'test image {index} is not loaded')
        label = int(self.ds.test.labels[index])
        probs, layers = pycore.inspect(self.net, self._centre(self.ds.test.images[index][None])[0], label)
        return self._pack(layers, probs, label, f'test image #{index}')

    def inspect_custom(self, pixels, width, height):
        """Every layer for a picture of the user's (grayscale in [0, 1], prepared like MNIST), with the
        current weights; no label, so no gradients. Adds 'image': the prepared 28x28 uint8 image."""
        if hasattr(pixels, 'to_py'):
            pixels = pixels.to_py()
        image = prepare_digit(np.asarray(pixels, dtype=np.float32).reshape(int(height), int(width)))
        probs, layers = pycore.inspect(self.net, self._centre(image[None])[0])
        return {**self._pack(layers, probs, None, 'your drawing'), 'image': image.ravel()}

    def first_test_of(self, label):
        """The index of the first loaded test image of class `label`, or -1 while none has arrived."""
        idx = np.flatnonzero(self.ds.test.labels[:self.ds.test.count] == int(label))
        return int(idx[0]) if len(idx) else -1

    @staticmethod
    def _pack(layers, probs, label, source):
        return {'label': label, 'source': source, 'probs': np.asarray(probs, dtype=np.float32),
                'layers': [{'type': L['type'], 'shape': L['shape'], 'act': L['activations'],
                            'grad': L['gradients'], 'weights': L['weights'] or None,
                            'wgrads': L['weight_gradients'] or None} for L in layers]}

    def cards(self, n=12):
        """n random test images with their top-3 predicted classes."""
        d = self.ds
        if d.test.count == 0:
            return []
        idx = self.eval_rng.choice(d.test.count, size=min(n, d.test.count), replace=False)
        probs = self.predict(d.test.images[idx])
        top = np.argsort(-probs, axis=1)[:, :3]
        return [{'index': int(i), 'image': d.test.images[i].ravel(), 'label': int(d.test.labels[i]),
                 'top': [[int(c), float(p[c])] for c in t]} for i, p, t in zip(idx, probs, top)]
