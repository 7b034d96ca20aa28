"""The worker's Python side, on CPython: data chunks, training slices, statistics, snapshots."""
import numpy as np
import pytest

from pycore import PycoreError

bridge = pytest.importorskip('bridge')   # site/py is put on sys.path by conftest.py


def chunk(n, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    return labels.tobytes() + images.tobytes(), labels, images


def test_chunks_fill_splits_in_order():
    s = bridge.Session(200, 50)
    raw, labels, images = chunk(120)
    s.add_chunk('train', raw, 120)
    raw2, labels2, _ = chunk(80, 1)
    s.add_chunk('train', raw2, 80)
    assert s.train.count == 200
    np.testing.assert_array_equal(s.train.labels[:120], labels)
    np.testing.assert_array_equal(s.train.images[:120], images)
    np.testing.assert_array_equal(s.train.labels[120:], labels2)
    with pytest.raises(PycoreError, match='more examples arrived than the manifest announced'):
        s.add_chunk('train', chunk(1)[0], 1)
    with pytest.raises(PycoreError, match='a data chunk has'):
        s.add_chunk('test', raw[:-1], 120)


def test_no_data_no_step():
    assert bridge.Session(100, 10).train_for(5) is None


def test_training_slice_reports_stats_and_snapshot_only_when_asked():
    s = bridge.Session(600, 100)
    s.add_chunk('train', chunk(600)[0], 600)
    s.add_chunk('test', chunk(100, 2)[0], 100)
    r = s.train_for(1)
    assert r['snapshot'] is None
    st = r['stats']
    assert st['examples'] == 20 and st['steps'] == 1          # at least one batch, however short the budget
    assert st['loss'] > 0 and st['l2_loss'] > 0 and st['fwd_ms'] > 0 and st['bwd_ms'] > 0
    assert 0 <= st['train_accuracy'] <= 1
    r = s.train_for(50, want_snapshot=True)
    snap = r['snapshot']
    assert [L['type'] for L in snap['layers']][:3] == ['input', 'conv', 'relu']
    conv = snap['layers'][1]
    assert conv['shape'] == [8, 24, 24] and conv['act']['data'].dtype == np.float32
    assert conv['act']['data'].size == 8 * 24 * 24 and conv['grad']['data'].size == 8 * 24 * 24
    assert snap['layers'][0]['grad'] is None                   # the input's gradient is never computed
    assert r['stats']['validation_accuracy'] is not None and r['stats']['test_accuracy'] is not None


def test_validation_images_are_never_trained_on():
    s = bridge.Session(300, 10)
    raw, labels, images = chunk(300)
    s.add_chunk('train', raw, 300)
    seen = []
    real = bridge.random_crops
    bridge.random_crops = lambda imgs, size, rng: (seen.append(imgs.copy()), real(imgs, size, rng))[1]
    try:
        s.train_for(30)
    finally:
        bridge.random_crops = real
    val = {images[i].tobytes() for i in np.flatnonzero(s.is_validation)}
    assert val and seen
    assert not any(img.tobytes() in val for batch in seen for img in batch)


def test_window_is_a_moving_average():
    w = bridge.Window(3)
    assert w.mean() is None
    w.add(np.array([1, 1, 1, 0]))
    assert w.mean() == pytest.approx(2 / 3)
    w.add(np.array([0, 0]))
    assert w.mean() == 0
