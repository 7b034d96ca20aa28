"""IDX files, crops and the validation split, on small synthetic data built in each test."""
import gzip

import numpy as np
import pytest

from pycore import Net, PycoreError
from pycore import data   # not `from pycore.data import test_offsets`: pytest would collect it

IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype('>i2'): 0x0B,
             np.dtype('>i4'): 0x0C, np.dtype('>f4'): 0x0D, np.dtype('>f8'): 0x0E}


def idx_bytes(a):
    """The IDX encoding of array a: magic 0 0 type ndim, big-endian dims, big-endian values."""
    big = np.dtype(a.dtype).newbyteorder('>') if a.dtype.itemsize > 1 else a.dtype
    header = bytes([0, 0, IDX_CODES[big], a.ndim]) + b''.join(n.to_bytes(4, 'big') for n in a.shape)
    return header + a.astype(big).tobytes()


def mnist_like(n=5, h=4, w=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, h, w), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


@pytest.mark.parametrize('dtype', [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize('compress', [False, True])
def test_read_idx_shapes_dtypes_values(dtype, compress):
    a = (np.random.default_rng(1).standard_normal((3, 4, 5)) * 50).astype(dtype)
    raw = idx_bytes(a)
    got = data.read_idx(gzip.compress(raw) if compress else raw)
    assert got.shape == (3, 4, 5)
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, a)


def test_read_idx_from_path_and_one_dimension(tmp_path):
    labels = np.arange(7, dtype=np.uint8)
    (tmp_path / 'l.idx').write_bytes(idx_bytes(labels))
    (tmp_path / 'l.idx.gz').write_bytes(gzip.compress(idx_bytes(labels)))
    for name in ('l.idx', 'l.idx.gz'):
        got = data.read_idx(tmp_path / name)
        assert got.shape == (7,) and got.dtype == np.uint8
        np.testing.assert_array_equal(got, labels)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(PycoreError, match='cannot read .*nope.idx'):
        data.read_idx(tmp_path / 'nope.idx')


@pytest.mark.parametrize('raw, fragment', [
    (b'', 'is not an IDX file.*got nothing'),
    (b'\x01\x00\x08\x01\x00\x00\x00\x00', 'is not an IDX file.*01 00 08 01'),
    (b'\x00\x00\x07\x01\x00\x00\x00\x00', 'is not an IDX file'),          # unknown type byte
    (b'\x00\x00\x08\x00', 'is not an IDX file'),                          # zero dimensions
    (b'PK\x03\x04zipfile', 'is not an IDX file.*50 4b 03 04'),
])
def test_read_idx_wrong_magic(raw, fragment):
    with pytest.raises(PycoreError, match=fragment):
        data.read_idx(raw)


def test_read_idx_truncated():
    images, _ = mnist_like()
    raw = idx_bytes(images)                                               # 4 + 12 header + 60 values
    with pytest.raises(PycoreError, match=r'truncated: its header needs 16 bytes, the file has 10'):
        data.read_idx(raw[:10])
    with pytest.raises(PycoreError, match=r'has 75 bytes but its header \(5, 4, 3\) of uint8 needs 76'):
        data.read_idx(raw[:-1])
    with pytest.raises(PycoreError, match=r'has 77 bytes .* needs 76: the file is truncated or corrupt'):
        data.read_idx(raw + b'\x00')
    with pytest.raises(PycoreError, match='truncated'):
        data.read_idx(gzip.compress(raw[:-1]))                           # a valid gzip of a short file


def test_read_idx_header_size_overflow():
    # 65536**4 = 2**64 wraps to 0 in int64: the header must not be believed to need 0 bytes of data
    raw = bytes([0, 0, 8, 4]) + (65536).to_bytes(4, 'big') * 4
    with pytest.raises(PycoreError, match='needs'):
        data.read_idx(raw)


def test_read_idx_bad_gzip():
    good = gzip.compress(idx_bytes(mnist_like()[0]))
    corrupt = good[:12] + bytes(b ^ 0xFF for b in good[12:20]) + good[20:]
    bad_crc = good[:-8] + bytes(4) + good[-4:]
    for raw in (good[:-6], corrupt, bad_crc, b'\x1f\x8bnot really gzip'):
        with pytest.raises(PycoreError, match='the images file looks gzip-compressed but cannot be decompressed'):
            data.read_idx(raw, 'the images file')


def test_load_pair_ok():
    images, labels = mnist_like()
    got_images, got_labels = data.load_pair(gzip.compress(idx_bytes(images)), idx_bytes(labels))
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert got_images.dtype == np.uint8 and got_labels.dtype == np.uint8


def test_load_pair_errors():
    images, labels = mnist_like()
    with pytest.raises(PycoreError, match='5 images but 4 labels'):
        data.load_pair(idx_bytes(images), idx_bytes(labels[:4]))
    bad = labels.copy()
    bad[2] = 12
    with pytest.raises(PycoreError, match=r'labels must be in 0\.\.9, found 12'):
        data.load_pair(idx_bytes(images), idx_bytes(bad))
    with pytest.raises(PycoreError, match=r'labels must be in 0\.\.2, found'):
        data.load_pair(idx_bytes(images), idx_bytes(np.array([0, 1, 3, 0, 0], np.uint8)), num_classes=3)
    with pytest.raises(PycoreError, match=r'the images file must hold \(N, H, W\) unsigned bytes'):
        data.load_pair(idx_bytes(labels), idx_bytes(labels))             # files swapped
    with pytest.raises(PycoreError, match=r'the labels file must hold \(N,\) unsigned bytes'):
        data.load_pair(idx_bytes(images), idx_bytes(labels.astype(np.int32)))
    with pytest.raises(PycoreError, match='the labels file has'):
        data.load_pair(idx_bytes(images), idx_bytes(labels)[:-1])


def test_to_float():
    x = data.to_float(np.array([[[0, 255], [51, 102]]], dtype=np.uint8))
    assert x.shape == (1, 1, 2, 2) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, 0], [[0, 1], [0.2, 0.4]], rtol=1e-6)


def position_images(N, H=28):
    """Images whose pixel (n, y, x) holds n*10000 + y*100 + x, so a crop says where it came from."""
    n, y, x = np.meshgrid(np.arange(N), np.arange(H), np.arange(H), indexing='ij')
    return n * 10000 + y * 100 + x


def test_random_crops_cover_every_offset():
    N = 2000
    images = position_images(N)
    crops = data.random_crops(images, 24, np.random.default_rng(0))
    assert crops.shape == (N, 24, 24) and crops.dtype == images.dtype
    n, dy, dx = crops[:, 0, 0] // 10000, crops[:, 0, 0] // 100 % 100, crops[:, 0, 0] % 100
    np.testing.assert_array_equal(n, np.arange(N))                     # crop n comes from image n
    # every crop is the contiguous 24x24 window at (dy, dx) of its image
    i = np.arange(24)
    expected = (np.arange(N)[:, None, None] * 10000 + (dy[:, None, None] + i[:, None]) * 100
                + dx[:, None, None] + i)
    np.testing.assert_array_equal(crops, expected)
    counts = np.zeros((5, 5), int)
    np.add.at(counts, (dy, dx), 1)
    assert counts.sum() == N
    assert counts.min() >= 40, f'some offsets (0..4 each way) are rare or missing:\n{counts}'


def test_random_crops_seeded():
    images = np.random.default_rng(3).integers(0, 256, (50, 28, 28), dtype=np.uint8)
    a = data.random_crops(images, 24, np.random.default_rng(7))
    b = data.random_crops(images, 24, np.random.default_rng(7))
    c = data.random_crops(images, 24, np.random.default_rng(8))
    assert a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_crop():
    images = position_images(2)
    got = data.crop(images, 24, 1, 3)
    assert got.shape == (2, 24, 24)
    assert got[1, 0, 0] == 10000 + 100 + 3 and got[0, 23, 23] == 24 * 100 + 26


def test_test_offsets():
    assert data.test_offsets(28, 24) == [(2, 2), (0, 0), (4, 4), (0, 4)]
    assert data.test_offsets(28, 24, 1) == [(2, 2)]
    assert data.test_offsets(28, 24, 0) == [(2, 2)]
    every = data.test_offsets(28, 24, 100)
    assert sorted(every) == [(dy, dx) for dy in range(5) for dx in range(5)]
    assert data.test_offsets(24, 24, 4) == [(0, 0)]
    for H in (25, 26, 27):                                     # small margins: still distinct offsets
        for count in range(1, 12):
            got = data.test_offsets(H, 24, count)
            m = H - 24
            assert len(got) == len(set(got)) == min(count, (m + 1) ** 2), (H, count, got)
            assert all(0 <= dy <= m and 0 <= dx <= m for dy, dx in got)


def small_net():
    spec = [{'type': 'input', 'out_sx': 6, 'out_sy': 6, 'out_depth': 1},
            {'type': 'conv', 'sx': 3, 'filters': 3, 'stride': 1, 'pad': 1, 'activation': 'relu'},
            {'type': 'pool', 'sx': 2, 'stride': 2},
            {'type': 'softmax', 'num_classes': 4}]
    return Net.from_spec(spec, seed=5, dtype=np.float64)


@pytest.mark.parametrize('count', [1, 4, 9])
def test_predict_crops_averages(count):
    net = small_net()
    images = np.random.default_rng(2).integers(0, 256, (7, 8, 8), dtype=np.uint8)
    got = data.predict_crops(net, images, 6, count=count, batch=3)
    offsets = data.test_offsets(8, 6, count)
    assert len(offsets) == count
    want = np.mean([net.forward(images[:, None, dy:dy + 6, dx:dx + 6] / 255.0) for dy, dx in offsets],
                   axis=0)
    assert got.shape == (7, 4)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got.sum(axis=1), 1, rtol=1e-5)
    if count > 1:   # the average differs from the centre crop alone, so this test can tell them apart
        centre = net.forward(images[:, None, 1:7, 1:7] / 255.0)
        assert np.abs(got - centre).max() > 1e-4


def test_validation_split():
    a = data.validation_split(1000, 0.1, seed=1)
    assert a.dtype == bool and a.shape == (1000,) and a.sum() == 100
    np.testing.assert_array_equal(a, data.validation_split(1000, 0.1, seed=1))
    b = data.validation_split(1000, 0.1, seed=2)
    assert b.sum() == 100 and not np.array_equal(a, b)
    assert data.validation_split(1000, 0.0, seed=1).sum() == 0
    assert data.validation_split(10, 0.25, seed=1).sum() == 2
    # spread over the whole range, not a block at the start
    assert a[:500].sum() > 20 and a[500:].sum() > 20


@pytest.mark.parametrize('fraction', [1.0, -0.1, 1.5])
def test_validation_split_bad_fraction(fraction):
    with pytest.raises(PycoreError, match=r'validation fraction must be in \[0, 1\)'):
        data.validation_split(100, fraction, seed=0)


def test_epoch_order():
    idx = np.arange(10, 30)
    a = data.epoch_order(idx, np.random.default_rng(0))
    assert sorted(a) == list(idx) and not np.array_equal(a, idx)
    np.testing.assert_array_equal(a, data.epoch_order(idx, np.random.default_rng(0)))


def test_shift_moves_images_and_fills_with_background():
    from pycore.data import shift
    a = np.arange(1, 13, dtype=np.uint8).reshape(1, 3, 4)
    assert shift(a, 0).tolist() == a.tolist()
    assert shift(a, 1)[0].tolist() == [[2, 3, 4, 0], [6, 7, 8, 0], [10, 11, 12, 0]]
    assert shift(a, -2, 1)[0].tolist() == [[0, 0, 5, 6], [0, 0, 9, 10], [0, 0, 0, 0]]
    assert not shift(a, 4).any() and not shift(a, 0, -3).any() and shift(a, 1).dtype == np.uint8
