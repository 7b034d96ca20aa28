"""Datasets: IDX files (MNIST's format), random crops, a validation split, seeded batches."""
import gzip
import io
import math
import zlib

import numpy as np

from .errors import PycoreError

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype('>i2'), 0x0C: np.dtype('>i4'),
              0x0D: np.dtype('>f4'), 0x0E: np.dtype('>f8')}


def read_idx(source, name='IDX data'):
    """Parse an IDX file, plain or gzip-compressed. source: bytes or a path.

    Returns an array of the file's shape, e.g. (60000, 28, 28) uint8 for MNIST images.
    """
    if not isinstance(source, (bytes, bytearray, memoryview)):
        name = str(source)
        try:
            with open(source, 'rb') as f:
                source = f.read()
        except OSError as e:
            raise PycoreError(f'cannot read {name}: {e.strerror}') from None
    data = bytes(source)
    if data[:2] == b'\x1f\x8b':
        try:
            data = gzip.GzipFile(fileobj=io.BytesIO(data)).read()
        except (OSError, EOFError, zlib.error) as e:
            raise PycoreError(f'{name} looks gzip-compressed but cannot be decompressed: {e}') from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES or data[3] == 0:
        raise PycoreError(f'{name} is not an IDX file: it should start with 0x00 0x00, a type byte '
                          f'and a dimension count, got {data[:4].hex(" ") or "nothing"}')
    dtype, ndim = np.dtype(_IDX_TYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise PycoreError(f'{name} is truncated: its header needs {header} bytes, the file has {len(data)}')
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim))
    expected = header + math.prod(shape) * dtype.itemsize   # math.prod: no int64 overflow
    if len(data) != expected:
        raise PycoreError(f'{name} has {len(data)} bytes but its header {shape} of {dtype.name} '
                          f'needs {expected}: the file is truncated or corrupt')
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder('='))


def load_pair(images_source, labels_source, num_classes=10):
    """Images (N, H, W) uint8 and labels (N,) uint8 from two IDX files, checked against each other."""
    images = read_idx(images_source, 'the images file')
    labels = read_idx(labels_source, 'the labels file')
    if images.ndim != 3 or images.dtype != np.uint8:
        raise PycoreError(f'the images file must hold (N, H, W) unsigned bytes, got {images.shape} '
                          f'of {images.dtype}')
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise PycoreError(f'the labels file must hold (N,) unsigned bytes, got {labels.shape} of {labels.dtype}')
    if len(images) != len(labels):
        raise PycoreError(f'{len(images)} images but {len(labels)} labels')
    if len(labels) and labels.max() >= num_classes:
        raise PycoreError(f'labels must be in 0..{num_classes - 1}, found {labels.max()}')
    return images, labels


def to_float(images):
    """(N, H, W) uint8 -> (N, 1, H, W) float32 in [0, 1]."""
    return (images[:, None].astype(np.float32) * np.float32(1 / 255))


def random_crops(images, size, rng):
    """One random size x size crop per image; every offset 0..H-size is possible.

    images: (N, H, W) -> (N, size, size), same dtype.
    """
    N, H, W = images.shape
    dy = rng.integers(0, H - size + 1, N)
    dx = rng.integers(0, W - size + 1, N)
    rows = dy[:, None] + np.arange(size)                  # (N, size)
    cols = dx[:, None] + np.arange(size)
    return images[np.arange(N)[:, None, None], rows[:, :, None], cols[:, None, :]]


def crop(images, size, dy, dx):
    """The crop at offset (dy, dx) of every image: (N, H, W) -> (N, size, size)."""
    return images[:, dy:dy + size, dx:dx + size]


def test_offsets(H, size, count=4):
    """`count` fixed crop offsets spread over the possible ones: centre first, then the corners."""
    m = H - size
    c = m // 2
    spots = [(c, c), (0, 0), (m, m), (0, m), (m, 0)]
    spots += [(dy, dx) for dy in range(m + 1) for dx in range(m + 1)]
    spots = list(dict.fromkeys(spots))   # for m < 2 the centre is also a corner
    return spots[:max(1, min(count, len(spots)))]


def predict_crops(net, images, size, count=4, batch=500):
    """Class probabilities averaged over `count` fixed crops. images: (N, H, W) uint8 -> (N, K)."""
    N = len(images)
    offsets = test_offsets(images.shape[1], size, count)
    probs = np.zeros((N, net.num_outputs), dtype=np.float32)
    for start in range(0, N, batch):
        part = images[start:start + batch]
        for dy, dx in offsets:
            probs[start:start + batch] += net.forward(to_float(crop(part, size, dy, dx)))
    return probs / len(offsets)


def validation_split(n, fraction, seed):
    """A boolean mask of length n marking a fixed, seeded `fraction` of indices as validation."""
    if not 0 <= fraction < 1:
        raise PycoreError(f'the validation fraction must be in [0, 1), got {fraction}')
    mask = np.zeros(n, dtype=bool)
    mask[np.random.default_rng(seed).permutation(n)[:int(round(n * fraction))]] = True
    return mask


def epoch_order(indices, rng):
    """The indices in a fresh random order for one pass."""
    return rng.permutation(indices)
