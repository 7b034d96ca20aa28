"""The worker's Python side, on CPython: data chunks, training slices, statistics, snapshots,
controls, evaluation, and saving/loading runs."""
import gzip
import json
import re
from pathlib import Path

import numpy as np
import pytest

from pycore import PycoreError

bridge = pytest.importorskip('bridge')   # site/worker/py is put on sys.path by conftest.py
import datasets  # noqa: E402
from config import TRAINERS  # noqa: E402
import stepping  # noqa: E402

CLASSES = [str(i) for i in range(10)]


def meta(train=600, test=100):
    return {'mnist': {'title': 'MNIST', 'classes': CLASSES, 'train_count': train, 'test_count': test},
            'fashion-mnist': {'title': 'Fashion-MNIST', 'classes': [f'c{i}' for i in range(10)],
                              'train_count': train, 'test_count': test}}


def chunk(n, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    return labels.tobytes() + images.tobytes(), labels, images


# The mechanics tested here were written for ConvNetJS's trainer (adadelta, batch 20); the page's
# default trainer has its own tests below.
CONVNETJS = TRAINERS['convnetjs']['options']


def loaded_session(train=600, test=100, **kw):
    s = bridge.Session(meta(train, test), **{'trainer': CONVNETJS, **kw})
    s.add_chunk('mnist', 'train', chunk(train)[0], train)
    s.add_chunk('mnist', 'test', chunk(test, 2)[0], test)
    return s


def test_a_chunk_arrives_gzipped_as_served_or_already_decoded():
    raw, labels, images = chunk(120)
    plain, packed = bridge.Session(meta(200, 50)), bridge.Session(meta(200, 50))
    plain.add_chunk('mnist', 'train', raw, 120)
    packed.add_chunk('mnist', 'train', gzip.compress(raw), 120)        # as the worker passes it on
    assert np.array_equal(packed.ds.train.images[:120], plain.ds.train.images[:120])
    assert np.array_equal(packed.ds.train.labels[:120], labels)
    with pytest.raises(PycoreError, match='mnist train chunk is not a whole gzip file'):
        packed.add_chunk('mnist', 'train', gzip.compress(raw)[:-20], 80)
    assert packed.ds.train.count == 120


def test_chunks_fill_splits_in_order():
    s = bridge.Session(meta(200, 50))
    raw, labels, images = chunk(120)
    s.add_chunk('mnist', 'train', raw, 120)
    raw2, labels2, _ = chunk(80, 1)
    s.add_chunk('mnist', 'train', raw2, 80)
    assert s.loaded('mnist') == (200, 0)
    np.testing.assert_array_equal(s.ds.train.labels[:120], labels)
    np.testing.assert_array_equal(s.ds.train.images[:120], images)
    np.testing.assert_array_equal(s.ds.train.labels[120:], labels2)
    with pytest.raises(PycoreError, match='more examples arrived than the manifest announced'):
        s.add_chunk('mnist', 'train', chunk(1)[0], 1)
    with pytest.raises(PycoreError, match='a data chunk has'):
        s.add_chunk('mnist', 'test', raw[:-1], 120)


def test_no_data_no_step():
    assert bridge.Session(meta()).train_for(5) is None


def test_training_slice_reports_stats_and_snapshot_only_when_asked():
    s = loaded_session()
    r = s.train_for(1)
    assert r['snapshot'] is None
    st = r['stats']
    assert st['examples'] == 20 and st['steps'] == 1          # at least one batch, however short the budget
    assert st['loss'] > 0 and st['l2_loss'] > 0 and st['fwd_ms'] > 0 and st['bwd_ms'] > 0
    assert 0 <= st['train_accuracy'] <= 1
    r = s.train_for(50, want_snapshot=True)
    snap = r['snapshot']
    assert snap['source'] == 'the latest training example'
    assert [L['type'] for L in snap['layers']][:3] == ['input', 'conv', 'relu']
    conv = snap['layers'][1]
    assert conv['shape'] == [8, 24, 24] and conv['act']['data'].dtype == np.float32
    assert conv['act']['data'].size == 8 * 24 * 24 and conv['grad']['data'].size == 8 * 24 * 24
    assert conv['weights']['w']['shape'] == [8, 1, 5, 5] and conv['wgrads']['b']['shape'] == [8]
    assert snap['layers'][0]['grad'] is None                   # the input's gradient is never computed
    assert snap['layers'][2]['weights'] is None
    # Held-out images are scored in batches of EVAL_BATCH, one per EVAL_RATIO trained.
    while s.trainer.examples < bridge.Session.EVAL_RATIO * bridge.Session.EVAL_BATCH:
        assert r['stats']['test_accuracy'] is None
        r = s.train_for(0)
    assert r['stats']['validation_accuracy'] is not None and r['stats']['test_accuracy'] is not None


def test_validation_images_are_never_trained_on(monkeypatch):
    s = bridge.Session(meta(300, 10))
    raw, labels, images = chunk(300)
    s.add_chunk('mnist', 'train', raw, 300)
    seen = []
    real = stepping.random_crops
    monkeypatch.setattr(stepping, 'random_crops', lambda imgs, size, rng: (seen.append(imgs.copy()), real(imgs, size, rng))[1])
    s.train_for(30)
    val = {images[i].tobytes() for i in np.flatnonzero(s.ds.is_validation)}
    assert val and seen
    assert not any(img.tobytes() in val for batch in seen for img in batch)


def test_options_change_live_and_bad_ones_are_refused():
    s = loaded_session()
    s.train_for(1)
    assert s.set_options({'learning_rate': 0.5, 'l2_decay': 0.01})['learning_rate'] == 0.5
    assert s.trainer.state                                      # adadelta's buffers survive
    with pytest.raises(PycoreError, match='batch_size'):
        s.set_options({'batch_size': 0})
    assert s.options['batch_size'] == 20
    s.set_options({'batch_size': 5})
    assert s.train_for(0)['stats']['trained'] == 5


def test_bad_spec_keeps_the_current_net():
    s = loaded_session()
    net = s.net
    with pytest.raises(PycoreError, match='does not fit'):
        s.change_spec('[{"type": "input", "out_sx": 24, "out_sy": 24, "out_depth": 1},'
                      ' {"type": "conv", "sx": 5, "filters": 4, "stride": 2}, {"type": "softmax", "num_classes": 10}]')
    with pytest.raises(PycoreError, match='num_classes 10'):
        s.change_spec('[{"type": "input", "out_sx": 24, "out_sy": 24, "out_depth": 1}, {"type": "softmax", "num_classes": 3}]')
    with pytest.raises(PycoreError, match='at most 28x28x1'):
        s.change_spec('[{"type": "input", "out_sx": 32, "out_sy": 32, "out_depth": 1}, {"type": "softmax", "num_classes": 10}]')
    with pytest.raises(PycoreError, match='not valid JSON'):
        s.change_spec('[{"type": ')
    assert s.net is net


def test_presets_build_and_train():
    s = loaded_session()
    for key, preset in bridge.PRESETS.items():
        d = s.change_spec(json.dumps(preset['spec']))
        assert d['examples'] == 0 and d['param_count'] > 0, key
        assert s.train_for(0)['stats']['examples'] == 20
    full = bridge.Session(meta())
    assert full.change_spec(json.dumps(bridge.PRESETS['mlp']['spec']))['param_count'] == 24 * 24 * 100 + 100 + 100 * 100 + 100 + 1010


def test_reset_gives_fresh_weights():
    s = loaded_session()
    s.train_for(5)
    before = s.net.layers[1].params['w'].copy()
    d = s.reset()
    assert d['examples'] == 0 and not np.array_equal(before, s.net.layers[1].params['w'])


def test_focus_on_test_image_and_custom_drawing():
    s = loaded_session()
    s.train_for(1)
    f = s.set_focus('test', 7)
    assert f['label'] == s.ds.test.labels[7] and f['image'].shape == (784,)
    snap = s.snapshot()
    assert snap['source'] == 'test image #7' and snap['label'] == f['label']
    np.testing.assert_allclose(snap['layers'][0]['act']['data'],
                               (s.ds.test.images[7][2:26, 2:26] / 255).ravel(), rtol=1e-6)
    assert abs(float(snap['probs'].sum()) - 1) < 1e-5
    with pytest.raises(PycoreError, match='not loaded'):
        s.set_focus('test', 100)
    pad = np.zeros((280, 280), np.float32)
    pad[60:220, 130:150] = 1.0                                 # a "1"
    f = s.set_focus('custom', pixels=pad.ravel(), width=280, height=280)
    assert f['label'] is None and f['image'].reshape(28, 28).max() > 200
    snap = s.snapshot()
    assert snap['source'] == 'your image' and snap['layers'][1]['grad'] is None
    with pytest.raises(PycoreError, match='empty'):
        s.set_focus('custom', pixels=np.zeros(280 * 280, np.float32), width=280, height=280)
    s.set_focus('training')
    assert s.snapshot()['source'] == 'the latest training example'


def test_cards_are_bounded_and_ranked():
    s = loaded_session()
    cards = s.cards(12)
    assert len(cards) == 12 and len({c['index'] for c in cards}) == 12
    for c in cards:
        ps = [p for _, p in c['top']]
        assert len(ps) == 3 and ps == sorted(ps, reverse=True)
        assert c['label'] == s.ds.test.labels[c['index']]


def test_whole_test_set_evaluation_in_slices():
    s = loaded_session(test=250)
    s.start_evaluation()
    results = [s.evaluation_step(0, batch=100) for _ in range(3)]
    assert results[:2] == [None, None] and results[2] is not None
    r = results[2]
    m = np.array(r['matrix'])
    assert m.shape == (10, 10) and m.sum() == 250
    pred = s.predict(s.ds.test.images[:250]).argmax(1)
    assert r['accuracy'] == pytest.approx(float((pred == s.ds.test.labels[:250]).mean()))
    assert np.trace(m) == (pred == s.ds.test.labels[:250]).sum()
    confs = [im['confidence'] for im in r['mistakes']]
    assert confs == sorted(confs, reverse=True) and all(im['label'] != im['pred'] for im in r['mistakes'])
    t, p = next((i, j) for i in range(10) for j in range(10) if i != j and m[i, j])
    cell = s.cell(t, p)
    assert cell['total'] == m[t, p] and all(im['label'] == t and im['pred'] == p for im in cell['images'])


def test_save_and_load_continue_exactly():
    a = loaded_session()
    a.set_options({'method': 'adam', 'learning_rate': 0.002})
    for _ in range(3):
        a.train_for(0)
    text = a.save({'charts': {'loss': [[20, {'loss': 2.0}]]}})
    b = loaded_session()
    d = b.load(text)
    assert d['page'] == {'charts': {'loss': [[20, {'loss': 2.0}]]}} and d['examples'] == 60
    assert d['options']['method'] == 'adam'
    for _ in range(3):
        sa, sb = a.train_for(0)['stats'], b.train_for(0)['stats']
        assert sa['loss'] == sb['loss'] and sa['test_accuracy'] == sb['test_accuracy']
    for la, lb in zip(a.net.layers, b.net.layers):
        for k in la.params:
            np.testing.assert_array_equal(la.params[k], lb.params[k])


def test_bad_run_files_keep_the_current_run():
    s = loaded_session()
    net = s.net
    with pytest.raises(PycoreError, match='not valid JSON'):
        s.load('{"format": ')
    with pytest.raises(PycoreError, match='not a saved run'):
        s.load('{"hello": 1}')
    import pycore
    with pytest.raises(PycoreError, match='not one saved from this page'):
        s.load(pycore.to_json(net, s.trainer))
    assert s.net is net


def test_switch_dataset_uses_its_own_data():
    s = loaded_session()
    d = s.switch_dataset('fashion-mnist')
    assert d['dataset'] == 'fashion-mnist' and d['classes'][0] == 'c0'
    assert s.train_for(1) is None                              # no Fashion-MNIST chunk yet
    s.add_chunk('fashion-mnist', 'train', chunk(600, 5)[0], 600)
    assert s.train_for(1)['stats']['examples'] == 20
    with pytest.raises(PycoreError, match='no dataset'):
        s.switch_dataset('cifar')


def test_window_is_a_moving_average():
    w = datasets.Window(3)
    assert w.mean() is None
    w.add(np.array([1, 1, 1, 0]))
    assert w.mean() == pytest.approx(2 / 3)
    w.add(np.array([0, 0]))
    assert w.mean() == 0


def test_a_fresh_session_takes_the_loaded_images():
    old = loaded_session()
    fresh = bridge.Session(meta(600, 100))
    assert fresh.train_for(0) is None                       # nothing loaded yet
    assert fresh.take_data(old) and fresh.train_for(0)['stats']['train_loaded'] == 600
    with pytest.raises(PycoreError, match='seed'):
        bridge.Session(meta(600, 100), seed=5).take_data(old)


def test_a_slow_batch_is_trained_in_parts_and_a_save_between_them_loses_nothing():
    a = loaded_session()
    a.part = 1                                         # every part is one example: 20 parts per batch
    results = [a.train_for(0) for _ in range(5)]
    assert all(r['stats'] is None and r['snapshot'] is None for r in results)
    assert results[-1]['part'] == {'done': 5, 'of': 20, 'size': 1}
    assert a.trainer.steps == 0                        # no update until the batch is in
    text = a.save()                                    # mid-batch: saved as if the batch were not drawn
    b = loaded_session()
    b.load(text)
    assert b.batch is None and b.trainer.examples == 0
    while a.train_for(0)['stats'] is None:
        pass
    sb = b.train_for(0)['stats']                       # the same batch in one part
    assert a.last['examples'] == sb['examples'] == 20 and a.last['part'] == 1 and sb['part'] is None
    assert a.last['loss'] == pytest.approx(sb['loss'], rel=1e-5)
    for la, lb in zip(a.net.layers, b.net.layers):
        for k in la.params:
            np.testing.assert_allclose(la.params[k], lb.params[k], rtol=1e-4, atol=1e-6)
    # a rollback, a new batch size or a new net drops a batch under way
    a.train_for(0)
    assert a.batch is not None
    a.set_options({'batch_size': 10})
    assert a.batch is None


def test_the_memory_estimate_is_described_and_a_too_large_net_is_refused():
    s = loaded_session()
    d = s.describe()
    assert d['cost']['total'] == pytest.approx(5.9e6, rel=0.05) and d['cost']['text'].endswith('per batch of 20')
    big = json.dumps([{'type': 'input', 'out_sx': 24, 'out_sy': 24, 'out_depth': 1},
                      {'type': 'conv', 'sx': 3, 'filters': 256, 'pad': 1, 'activation': 'relu'},
                      {'type': 'conv', 'sx': 1, 'filters': 4}, {'type': 'softmax', 'num_classes': 10}])
    s.set_options({'batch_size': 500})
    with pytest.raises(PycoreError, match="more than this page's limit of 1,000 MB"):
        s.change_spec(big)
    assert s.net.param_count() == 5994                 # the current net trains on
    s.set_options({'batch_size': 20})
    s.change_spec(big)
    with pytest.raises(PycoreError, match='per batch of 500'):
        s.set_options({'batch_size': 500})
    assert s.options['batch_size'] == 20


def test_a_slow_net_scores_held_out_and_test_images_in_small_passes():
    s = loaded_session()
    s.cost = {**s.cost, 'work': 70_000_000}  # a net near the page's work limit
    assert s._rows() == 2
    calls = []
    real = s.predict
    s.predict = lambda images: calls.append(len(images)) or real(images)
    s._score_held_out(2000)                   # 200 images due: 2 validation and 2 test now, the rest later or never
    assert calls == [2, 2] and s.pending_eval <= 2 * 2 * s.EVAL_RATIO
    calls.clear()
    s.start_evaluation()
    while s.evaluation_step(0) is None:
        pass
    assert set(calls) == {4} and sum(calls) == 100


def test_the_named_trainers_set_every_option_and_the_url_can_name_one():
    from config import DEFAULT_TRAINER, OPTION_KEYS, TRAINERS, check_options, options_of
    for t in TRAINERS.values():
        assert set(t['options']) == set(OPTION_KEYS)
        check_options(t['options'])
    assert TRAINERS['convnetjs']['options']['method'] == 'adadelta' and TRAINERS['convnetjs']['options']['batch_size'] == 20
    assert TRAINERS[DEFAULT_TRAINER]['options']['method'] != 'adadelta'
    s, notes = bridge.Session.from_config(meta(), {})
    assert not notes and {k: s.options[k] for k in OPTION_KEYS} == TRAINERS[DEFAULT_TRAINER]['options']
    s, notes = bridge.Session.from_config(meta(), {'trainer': 'convnetjs', 'learning_rate': 0.5})
    assert not notes and {k: s.options[k] for k in OPTION_KEYS} == {**TRAINERS['convnetjs']['options'], 'learning_rate': 0.5}
    s, notes = bridge.Session.from_config(meta(), {'trainer': 'fastest'})
    assert notes == [{'key': 'trainer', 'value': 'fastest', 'why': 'no such trainer; the trainers are fast, convnetjs'}]
    assert {k: s.options[k] for k in OPTION_KEYS} == TRAINERS[DEFAULT_TRAINER]['options']
    # After the pretrained run is loaded, the URL's trainer (and its keys over it) win.
    assert options_of({'trainer': 'convnetjs', 'batch_size': 7, 'preset': 'mlp'}) == {
        **TRAINERS['convnetjs']['options'], 'batch_size': 7}
    assert options_of({'momentum': 0.5}) == {'momentum': 0.5}


def test_the_default_trainer_is_the_fastest_in_benchmarks_md():
    """BENCHMARKS.md's trainer table (bench/trainers.py, fastest to 98% first): the page's default is
    its first row with a batch of at most config.MAX_DEFAULT_BATCH."""
    from config import DEFAULT_TRAINER, MAX_DEFAULT_BATCH, TRAINERS, describe_trainer
    text = (Path(__file__).resolve().parent.parent / 'BENCHMARKS.md').read_text()
    section = text[text.index('## Trainers'):]
    rows = [line.split(' | ') for line in section[:section.find('\n## ', 1)].splitlines()
            if line.startswith('| ') and not line.startswith('| trainer |')]
    fits = [r for r in rows if int(re.search(r', batch (\d+)', r[1])[1]) <= MAX_DEFAULT_BATCH]
    assert fits[0][1] == describe_trainer(TRAINERS[DEFAULT_TRAINER]['options']) + ' (the page default)', fits[:2]
    assert sum('(the page default)' in r[1] for r in rows) == 1
