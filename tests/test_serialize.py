"""Saving and loading a run as JSON, and changing trainer options between steps."""
import copy
import json

import numpy as np
import pytest

from pycore import Net, PycoreError, Trainer, TrainerOptions, from_convnetjs, from_json, to_json

SPEC = [{'type': 'input', 'out_sx': 8, 'out_sy': 8, 'out_depth': 1},
        {'type': 'conv', 'sx': 3, 'filters': 3, 'stride': 1, 'pad': 1, 'activation': 'relu'},
        {'type': 'pool', 'sx': 2, 'stride': 2},
        {'type': 'fc', 'num_neurons': 12, 'activation': 'tanh', 'drop_prob': 0.5, 'l1_decay_mul': 1.0},
        {'type': 'softmax', 'num_classes': 3}]

OPTIONS = {
    'sgd': {'momentum': 0.9, 'learning_rate': 0.05},
    'sgd-plain': {'method': 'sgd', 'momentum': 0.0, 'learning_rate': 0.05},
    'nesterov': {'learning_rate': 0.05, 'momentum': 0.8},
    'adagrad': {'learning_rate': 0.05},
    'windowgrad': {'learning_rate': 0.02, 'ro': 0.9},
    'adadelta': {},
    'adam': {'learning_rate': 0.01, 'beta1': 0.8, 'beta2': 0.99, 'eps': 1e-7},
}


def batch(seed, n=8):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 1, 8, 8)), rng.integers(0, 3, n)


def trained(name, dtype=np.float64):
    """A net and a trainer after two train_batch calls (4 updates) with decay and dropout on."""
    net = Net.from_spec(SPEC, seed=3, dtype=dtype)
    opts = {'method': name.split('-')[0], 'batch_size': 4, 'l2_decay': 0.01, 'l1_decay': 0.001}
    trainer = Trainer(net, **(opts | OPTIONS[name]))
    for seed in (1, 2):
        trainer.train_batch(*batch(seed))
    return net, trainer


def params(net):
    return [(i, k, v) for i, layer in enumerate(net.layers) for k, v in layer.params.items()]


def dropout_rng(net):
    return next(layer.rng for layer in net.layers if layer.type == 'dropout')


def test_round_trip_selu():
    spec = [SPEC[0], {'type': 'conv', 'sx': 3, 'filters': 3, 'stride': 1, 'pad': 1, 'activation': 'selu'},
            {'type': 'selu'}, SPEC[-1]]
    net = Net.from_spec(spec, seed=5)
    x, _ = batch(4)
    net2, _, _ = from_json(to_json(net))
    assert [layer.type for layer in net2.layers] == ['input', 'conv', 'selu', 'selu', 'fc', 'softmax']
    assert net2.forward(x).tobytes() == net.forward(x).tobytes()


@pytest.mark.parametrize('name', list(OPTIONS))
def test_round_trip_is_exact(name):
    net, trainer = trained(name)
    extra = {'history': [{'step': 1, 'loss': 2.5}], 'note': 'ünïcode'}
    text = to_json(net, trainer, extra)
    net2, trainer2, extra2 = from_json(text)

    assert extra2 == extra
    assert net2.spec == net.spec and net2.seed == net.seed and net2.dtype == net.dtype
    for (i, k, a), (_, _, b) in zip(params(net), params(net2), strict=True):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), (i, k)
    assert trainer2.options == trainer.options
    assert (trainer2.steps, trainer2.examples) == (trainer.steps, trainer.examples) == (4, 16)
    assert trainer2.state.keys() == trainer.state.keys() and trainer.state
    for key, st in trainer.state.items():
        st2 = trainer2.state[key]
        assert st2.keys() == st.keys(), key
        for b, v in st.items():
            if isinstance(v, np.ndarray):
                assert st2[b].dtype == v.dtype and st2[b].tobytes() == v.tobytes(), (key, b)
            else:
                assert type(st2[b]) is int and st2[b] == v == 4, (key, b)   # adam's step count t
    assert str(dropout_rng(net2).bit_generator.state) == str(dropout_rng(net).bit_generator.state)
    assert to_json(net2, trainer2, extra) == text

    # continue both: identical weights (dropout masks and every buffer must match)
    for seed in (3, 4, 5):
        s1, s2 = trainer.train_batch(*batch(seed)), trainer2.train_batch(*batch(seed))
        assert s1['loss'] == s2['loss'] and s1['l2_decay_loss'] == s2['l2_decay_loss']
    for (i, k, a), (_, _, b) in zip(params(net), params(net2), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=f'layer {i} {k}')
    assert trainer2.steps == trainer.steps == 10


def test_round_trip_float32_and_no_trainer():
    net, trainer = trained('adam', dtype=np.float32)
    net2, trainer2, extra = from_json(to_json(net))
    assert trainer2 is None and extra is None
    assert net2.dtype == np.float32
    for (i, k, a), (_, _, b) in zip(params(net), params(net2), strict=True):
        assert b.dtype == np.float32 and a.tobytes() == b.tobytes(), (i, k)
    x, _ = batch(9)
    np.testing.assert_array_equal(net.forward(x), net2.forward(x))


def test_continuing_needs_the_saved_state():
    """Controls for test_round_trip_is_exact: it would notice a lost buffer or random state."""
    x, y = batch(3)
    net, trainer = trained('adadelta')
    text = to_json(net, trainer)
    trainer.train_batch(x, y)
    want = net.layers[1].params['w'].copy()

    net2, trainer2, _ = from_json(text)
    dropout_rng(net2).random()                      # the dropout masks now differ
    trainer2.train_batch(x, y)
    assert not np.array_equal(net2.layers[1].params['w'], want)

    net3, trainer3, _ = from_json(text)
    trainer3.state.clear()                          # adadelta's running averages lost
    trainer3.train_batch(x, y)
    assert not np.array_equal(net3.layers[1].params['w'], want)

    net4, trainer4, _ = from_json(text)
    trainer4.train_batch(x, y)
    np.testing.assert_array_equal(net4.layers[1].params['w'], want)


@pytest.fixture(scope='module')
def saved():
    net, trainer = trained('adam')
    return json.loads(to_json(net, trainer, {'a': 1}))


def corrupt(doc, edit):
    doc = copy.deepcopy(doc)
    edit(doc)
    return json.dumps(doc)


def conv_w(doc):
    return next(p for p in doc['params'] if p['layer'] == 1 and p['name'] == 'w')['array']


def adam_state(doc):
    return next(st for st in doc['trainer']['state'] if st['layer'] == 1 and st['name'] == 'w')['buffers']


@pytest.mark.parametrize('text, fragment', [
    ('{"format": "pycore-run", ', 'not valid JSON'),
    ('', 'not valid JSON'),
    (b'\xff\xfe\x00', 'not valid JSON'),
    (None, 'not valid JSON'),
    ('[1, 2]', 'not a saved run: expected "format": "pycore-run"'),
    ('{"format": "something-else"}', 'not a saved run'),
    ('{"layers": [{"layer_type": "input"}]}', 'ConvNetJS .* from_convnetjs'),
    ('{"format": "pycore-run", "version": 2}', 'version 2 is not supported'),
])
def test_not_a_run(text, fragment):
    with pytest.raises(PycoreError, match=fragment):
        from_json(text)


def _set(path_fn, key, value):
    def edit(doc):
        path_fn(doc)[key] = value
    return edit


def _truncate_data(n):
    def edit(doc):
        conv_w(doc)['data'] = conv_w(doc)['data'][:-n]
    return edit


@pytest.mark.parametrize('edit, fragment', [
    (_set(conv_w, 'shape', [3, 1, 9]),
     r"layer 1 w: saved shape \(3, 1, 9\) does not match the net's \(3, 1, 3, 3\)"),
    (_set(conv_w, 'shape', [3, 1, 3, 4]), r'layer 1 w: not a valid stored array'),
    (_truncate_data(3), r'layer 1 w: not a valid stored array'),           # bad base64 padding
    (_truncate_data(4), r'layer 1 w: not a valid stored array'),           # valid base64, too few bytes
    (_set(conv_w, 'data', 'not base64!'), r'layer 1 w: not a valid stored array'),
    (_set(conv_w, 'dtype', 'U8'), r'layer 1 w: not a valid stored array'),
    (_set(conv_w, 'dtype', 'nonsense'), r'layer 1 w: not a valid stored array'),
    (lambda d: d['params'].pop(), r'no weights for layer 7 \'b\''),
    (lambda d: d['params'][0].update(layer=0), r'layer 0 parameter \'w\', which this net lacks'),
    (lambda d: d.pop('params'), r'incomplete or malformed: KeyError'),
    (lambda d: d.pop('spec'), r'incomplete or malformed: KeyError'),
    (lambda d: d['spec'][1].update(filters=4),
     r"layer 1 w: saved shape \(3, 1, 3, 3\) does not match the net's \(4"),
    (lambda d: d['spec'][1].update(type='convolution'), r'unknown layer type "convolution"'),
    (lambda d: d.update(seed='x'), 'incomplete or malformed'),
    (lambda d: d.update(dtype='float1'), 'incomplete or malformed'),
    (lambda d: d['rng'].update(bit_generator='MT19937'), 'the saved random state is invalid'),
    (lambda d: d['trainer']['options'].update(method='rmsprop'), "unknown trainer method 'rmsprop'"),
    (lambda d: d['trainer']['options'].update(batch_size=0), 'batch_size must be a whole number'),
    (lambda d: d['trainer']['options'].update(lr=0.1), "unknown trainer option: .*'lr'"),
    (lambda d: d['trainer'].update(steps='many'), 'incomplete or malformed: ValueError'),
    (lambda d: adam_state(d).update(t='x'), 'incomplete or malformed: ValueError'),
    (lambda d: adam_state(d)['m'].update(shape=[9, 3]),
     r"trainer buffer of layer 1 w: buffer 'm' has shape \(9, 3\), the parameter \(3, 1, 3, 3\)"),
    (lambda d: adam_state(d)['v'].update(data='AAAA'), 'trainer buffer of layer 1 w: not a valid stored array'),
    (lambda d: d['trainer']['state'][0].update(name='gamma'), 'the net has no such parameter'),
    (lambda d: d['trainer']['state'][0].update(layer=99), 'incomplete or malformed: IndexError'),
])
def test_bad_run(saved, edit, fragment):
    text = corrupt(saved, edit)
    with pytest.raises(PycoreError, match=fragment):
        from_json(text)


def test_unedited_copy_loads(saved):
    """The corruptions above start from a document that loads."""
    net, trainer, extra = from_json(json.dumps(saved))
    assert extra == {'a': 1} and trainer.steps == 4


def test_truncated_text(saved):
    text = json.dumps(saved)
    for n in (1, len(text) // 2, len(text) - 10):
        with pytest.raises(PycoreError, match='not valid JSON'):
            from_json(text[:n])


def test_set_keeps_state():
    net, trainer = trained('sgd')                              # momentum 0.9
    state = trainer.state
    velocity = {key: st['gsum'].copy() for key, st in state.items()}
    before = {(i, k): v.copy() for i, k, v in params(net)}
    trainer.set(learning_rate=0.0, l2_decay=0.0, l1_decay=0.0)
    assert trainer.options.learning_rate == 0.0 and trainer.options.momentum == 0.9
    assert trainer.options.batch_size == 4 and trainer.options.method == 'sgd'
    assert trainer.state is state and trainer.steps == 4 and trainer.examples == 16
    x, y = batch(7, n=4)
    trainer.train_batch(x, y)
    # with learning rate 0 the step is the remembered velocity times the momentum
    for (i, k), p in before.items():
        np.testing.assert_allclose(net.layers[i].params[k], p + 0.9 * velocity[(i, k)], rtol=0, atol=1e-15)
    assert trainer.steps == 5

    trainer.set(method='momentum')                             # another name for the same rule
    assert trainer.state is state

    # a different rule starts afresh: sgd's signed velocity is no sum of squares for adagrad
    trainer.set(batch_size=2, method='adagrad')
    assert trainer.state == {}
    with np.errstate(all='raise'):
        stats = trainer.train_batch(x, y)
    assert stats['steps'] == 2 and trainer.steps == 7
    assert all(np.isfinite(p).all() for _, _, p in params(net))
    assert (trainer.state[(1, 'w')]['gsum'] > 0).all()


def test_set_changes_the_update():
    """Same start, different learning rate after set(): different weights; same rate: same weights."""
    nets = []
    for lr in (0.05, 0.05, 0.2):
        net, trainer = trained('sgd')
        trainer.set(learning_rate=lr)
        trainer.train_batch(*batch(7))
        nets.append(net.layers[1].params['w'])
    np.testing.assert_array_equal(nets[0], nets[1])
    assert not np.allclose(nets[0], nets[2])


@pytest.mark.parametrize('changes, fragment', [
    ({'method': 'rmsprop'}, "unknown trainer method 'rmsprop'"),
    ({'learning_rate': -0.1}, 'learning_rate must be a non-negative number, got -0.1'),
    ({'learning_rate': float('nan')}, 'learning_rate must be a non-negative number'),
    ({'learning_rate': '0.1'}, 'learning_rate must be a non-negative number'),
    ({'l2_decay': True}, 'l2_decay must be a non-negative number'),
    ({'momentum': 1.0}, 'momentum must be below 1'),
    ({'beta2': 1.5}, 'beta2 must be below 1'),
    ({'batch_size': 0}, 'batch_size must be a whole number of at least 1, got 0'),
    ({'batch_size': 2.5}, 'batch_size must be a whole number'),
    ({'lr': 0.1}, "unknown trainer option: .*'lr'"),
])
def test_bad_options(changes, fragment):
    net, trainer = trained('adam')
    options, state = trainer.options, trainer.state
    with pytest.raises(PycoreError, match=fragment):
        trainer.set(**changes)
    assert trainer.options is options and trainer.state is state
    with pytest.raises(PycoreError, match=fragment):
        Trainer(net, **changes)


def test_options_defaults():
    o = TrainerOptions()
    assert (o.method, o.learning_rate, o.momentum, o.batch_size, o.l1_decay, o.l2_decay, o.ro,
            o.beta1, o.beta2) == ('sgd', 0.01, 0.9, 1, 0.0, 0.0, 0.95, 0.9, 0.999)


INPUT = {'layer_type': 'input', 'out_sx': 4, 'out_sy': 4, 'out_depth': 1}


@pytest.mark.parametrize('source, fragment', [
    ('{"layers": [', 'ConvNetJS snapshot is not valid JSON'),
    ('[]', 'not a ConvNetJS snapshot: expected an object with a "layers" list'),
    ({'format': 'pycore-run'}, 'not a ConvNetJS snapshot'),
    ({'layers': [INPUT, {'layer_type': 'lrn'}]}, "ConvNetJS layer 1 has type 'lrn'"),
    ({'layers': [{'layer_type': 'input'}]}, 'incomplete or malformed: KeyError'),
    ({'layers': [INPUT, {'layer_type': 'fc', 'out_depth': 2, 'l1_decay_mul': 0, 'l2_decay_mul': 1,
                         'filters': [{'w': [0.0] * 16}] * 2, 'biases': {'w': [0.0] * 3}},
                 {'layer_type': 'softmax', 'out_depth': 2}]}, 'weights of shape'),
])
def test_from_convnetjs_errors(source, fragment):
    with pytest.raises(PycoreError, match=fragment):
        from_convnetjs(source)
