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


def shift(images, dx, dy=0):
    """Every image moved dx pixels left and dy up (negative: right, down), with zeros (background)
    coming in at the far edges: (N, H, W) -> (N, H, W), same dtype."""
    N, H, W = images.shape
    out = np.zeros_like(images)
    if abs(dx) >= W or abs(dy) >= H:
        return out
    src_y, dst_y = slice(max(dy, 0), H + min(dy, 0)), slice(max(-dy, 0), H + min(-dy, 0))
    src_x, dst_x = slice(max(dx, 0), W + min(dx, 0)), slice(max(-dx, 0), W + min(-dx, 0))
    out[:, dst_y, dst_x] = images[:, src_y, src_x]
    return out


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


def resize_area(x, H, W):
    """Area-averaging (box filter) resize, exact for any ratio: (h, w) float -> (H, W) float64.

    Each output pixel is the mean of the input area it covers, so total ink scales by H*W / (h*w).
    """
    def weights(n, m):                                    # (n, m): overlap of out cell i with in cell j
        edges = np.arange(n + 1) * (m / n)                # output cell i covers [edges[i], edges[i+1]]
        j = np.arange(m)
        overlap = np.minimum(edges[1:, None], j + 1) - np.maximum(edges[:-1, None], j)
        return np.clip(overlap, 0, None) * (n / m)        # each row sums to 1: a mean, not a sum
    x = np.asarray(x, dtype=np.float64)
    return weights(H, x.shape[0]) @ x @ weights(W, x.shape[1]).T


MIN_CONTRAST = 0.1   # ink must differ from the background by this much, or the image counts as empty
NOISE_FLOOR = 0.1    # after stretching ink to [0, 1], anything fainter than this is background
FAINT = 0.01         # a row or column with under 1% of the fullest one's ink counts as empty
DUST = 0.05          # a band of rows (or columns) with under 5% of the main band's ink is dust


def prepare_digit(image, invert=None):
    """A drawing or photo of one digit made to look like MNIST: white ink on black, its longer side
    20 px, its centre of mass at pixel (14, 14) of a 28 x 28 image.

    image: (H, W) grayscale, float in [0, 1] or integers in 0..255; H, W >= 8.
    invert: True for dark ink on light paper, False for light ink on dark, None to decide from the
    border (mostly bright border -> paper -> invert).
    Returns (28, 28) uint8.
    """
    x = np.asarray(image)
    if x.ndim != 2:
        raise PycoreError(f'the image must be 2-D (height, width) grayscale, got shape {x.shape}')
    if x.shape[0] < 8 or x.shape[1] < 8:
        raise PycoreError(f'the image must be at least 8 x 8 pixels, got {x.shape[0]} x {x.shape[1]}')
    if x.dtype == bool or not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise PycoreError(f'the image must hold numbers, got {x.dtype}')
    if np.issubdtype(x.dtype, np.integer):
        if x.min() < 0 or x.max() > 255:
            raise PycoreError(f'integer pixels must be in 0..255, found {x.min()}..{x.max()}')
        x = x / 255.0
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise PycoreError('the image has NaN or infinite pixels')
    if x.min() < -1e-6 or x.max() > 1 + 1e-6:               # a little slack for float32 rounding
        raise PycoreError(f'float pixels must be in [0, 1], found {x.min():.3g}..{x.max():.3g}')
    x = np.clip(x, 0, 1)

    def frame(a):
        return np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])
    if invert is None:
        invert = np.median(frame(x)) > 0.5
    if invert:
        x = 1 - x
    background = np.median(frame(x))
    contrast = x.max() - background
    if contrast < MIN_CONTRAST:
        raise PycoreError('the image is empty: draw or upload a digit')
    x = np.clip((x - background) / contrast, 0, 1)          # background 0, strongest ink 1
    # Lift the floor above the paper's noise, judged by the border (2 x its 90th percentile is
    # about 2.6 sigma), but never so far that it eats a digit that touches the border.
    level = min(max(NOISE_FLOOR, 2 * np.quantile(frame(x), 0.9)), 0.5)
    x = np.clip((x - level) / (1 - level), 0, None)

    def extent(profile):                                    # (first, last + 1) of the ink along one axis
        ink = np.concatenate([[0], profile > FAINT * profile.max(), [0]]).astype(np.int8)
        edges = np.flatnonzero(np.diff(ink))                # bands of inked rows: [start, end) pairs
        starts, ends = edges[0::2], edges[1::2]
        cum = np.concatenate([[0], np.cumsum(profile)])
        mass = cum[ends] - cum[starts]
        keep = mass >= DUST * mass.max()                    # drops specks apart from the digit, not its faint edges
        return starts[keep][0], ends[keep][-1]
    top, bottom = extent(x.sum(1))
    left, right = extent(x.sum(0))
    x = x[top:bottom, left:right]
    h, w = x.shape
    H, W = (20, max(1, round(20 * w / h))) if h >= w else (max(1, round(20 * h / w)), 20)
    x = resize_area(x, H, W)
    x /= x.max()                                            # every MNIST digit peaks at 254 or 255

    mass = x.sum()
    cy = (x.sum(1) @ np.arange(H)) / mass
    cx = (x.sum(0) @ np.arange(W)) / mass
    y0 = int(np.clip(np.floor(14 - cy + 0.5), 0, 28 - H))   # round half up, then keep it all inside
    x0 = int(np.clip(np.floor(14 - cx + 0.5), 0, 28 - W))
    out = np.zeros((28, 28))
    out[y0:y0 + H, x0:x0 + W] = x
    return np.round(out * 255).astype(np.uint8)
