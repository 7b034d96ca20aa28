"""pycore.cost (memory and work estimated from a spec) against what NumPy really allocates, and
pycore.Batch (a batch trained in parts) against one pass over the batch."""
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import pycore
from pycore import PycoreError, cost

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'site' / 'worker' / 'py'))
import config  # noqa: E402

I = {'type': 'input', 'out_sx': 24, 'out_sy': 24, 'out_depth': 1}
S = {'type': 'softmax', 'num_classes': 10}
SPECS = {
    'convnetjs': pycore.CONVNETJS_MNIST,
    'wide': [I, {'type': 'conv', 'sx': 5, 'filters': 64, 'pad': 2, 'activation': 'relu'}, {'type': 'pool', 'sx': 2},
             {'type': 'conv', 'sx': 5, 'filters': 64, 'pad': 2, 'activation': 'relu'}, {'type': 'pool', 'sx': 2},
             {'type': 'fc', 'num_neurons': 256, 'activation': 'tanh'}, S],
    'strided': [I, {'type': 'conv', 'sx': 4, 'filters': 32, 'stride': 2, 'activation': 'elu'},
                {'type': 'conv', 'sx': 3, 'filters': 64, 'stride': 2, 'activation': 'relu'}, S],
    'mlp': [I, {'type': 'fc', 'num_neurons': 512, 'activation': 'relu', 'drop_prob': 0.5},
            {'type': 'fc', 'num_neurons': 512, 'activation': 'sigmoid'}, S],
    'unpadded': [I, {'type': 'conv', 'sx': 3, 'filters': 32, 'activation': 'lrelu'}, {'type': 'avgpool', 'sx': 2},
                 {'type': 'conv', 'sx': 3, 'filters': 32, 'activation': 'softplus'}, S],
    'big-fc': [I, {'type': 'fc', 'num_neurons': 4000, 'activation': 'relu'}, S],
}


def measured_peak(spec, B, method='adadelta', part=None):
    """Peak bytes NumPy allocates while a net is built and trained for three batches."""
    x = np.random.default_rng(0).random((B, 1, 24, 24)).astype(np.float32)
    y = np.arange(B) % 10
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        net = pycore.Net.from_spec(spec)
        trainer = pycore.Trainer(net, method=method, batch_size=B)
        for _ in range(3):
            trainer.train_batch(x, y, part=part)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize('name', SPECS)
@pytest.mark.parametrize('B, method', [(20, 'adadelta'), (64, 'sgd')])
def test_the_estimate_is_within_a_sixth_of_the_peak_numpy_allocates(name, B, method):
    est = cost.estimate(SPECS[name], B, method)
    peak = measured_peak(SPECS[name], B, method)
    assert 0.75 <= peak / est['total'] <= 1.15, (peak, est)
    # a batch in parts holds activations for a part only: the whole-batch estimate bounds it
    assert measured_peak(SPECS[name], B, method, part=B // 3) <= 1.15 * est['total']


def test_the_parts_of_the_estimate():
    e = cost.estimate(pycore.CONVNETJS_MNIST, 20, 'adadelta')
    P = 5994
    assert e['params'] == P and e['parameters'] == 4 * P
    assert e['gradients'] == 2 * 4 * P and e['optimizer'] == 2 * 4 * P     # adadelta: two buffers
    assert cost.estimate(pycore.CONVNETJS_MNIST, 20, 'sgd', momentum=0)['optimizer'] == 0
    assert cost.estimate(pycore.CONVNETJS_MNIST, 20, 'adagrad')['optimizer'] == 4 * P
    # ConvNetJS's net: conv1 8x5x5x1 on 24x24, conv2 16x5x5x8 on 12x12, fc 10x256
    assert e['work'] == 8 * 25 * 576 + 16 * 25 * 8 * 144 + 10 * 256
    # activations grow with the batch, parameters do not
    e40, e60 = (cost.estimate(pycore.CONVNETJS_MNIST, B, 'adadelta') for B in (40, 60))
    assert e60['activations'] - e40['activations'] == e40['activations'] - e['activations'] > 0
    assert e60['parameters'] == e['parameters']
    assert e['total'] == sum(e[k] for k in ('parameters', 'gradients', 'optimizer', 'activations', 'scratch'))
    assert cost.describe(e).startswith(f'{e["total"] / 1e6:.1f} MB (parameters 0.02 MB')


def test_an_invalid_spec_is_refused_as_plan_refuses_it():
    with pytest.raises(PycoreError, match='does not fit'):
        cost.estimate([I, {'type': 'conv', 'sx': 5, 'filters': 2, 'stride': 2}, S], 20)


def test_the_page_refuses_a_network_above_its_limits_with_the_estimate():
    options = {'method': 'adadelta', 'batch_size': 20, 'momentum': 0.9}
    ok = config.check_cost(pycore.CONVNETJS_MNIST, options)
    assert ok['text'].endswith('per batch of 20') and 'MB' in ok['text']
    huge = [I, {'type': 'conv', 'sx': 3, 'filters': 256, 'pad': 1, 'activation': 'relu'},
            {'type': 'conv', 'sx': 1, 'filters': 4}, S]
    e = cost.estimate(huge, 500, 'adadelta')
    assert e['total'] > config.MAX_MEMORY and e['work'] < config.MAX_WORK
    with pytest.raises(PycoreError, match=r'would need [\d.]+ MB \(parameters .*\) per batch of 500, '
                                          r"more than this page's limit of 1,000 MB"):
        config.check_cost(huge, {**options, 'batch_size': 500})
    assert config.check_cost(huge, options)['total'] < config.MAX_MEMORY        # fine at batch 20
    slow = [I, {'type': 'conv', 'sx': 3, 'filters': 64, 'pad': 1}, {'type': 'conv', 'sx': 5, 'filters': 128, 'pad': 2},
            {'type': 'pool', 'sx': 6, 'stride': 6}, S]
    e = cost.estimate(slow, 1)
    assert e['work'] > config.MAX_WORK and e['params'] < config.MAX_PARAMS
    with pytest.raises(PycoreError, match='million multiply-adds'):
        config.check_cost(slow, options)
    with pytest.raises(PycoreError, match='more than the 250,000 this page trains'):
        config.check_cost(SPECS['mlp'], options)


@pytest.mark.parametrize('part', [1, 7, 19])
def test_a_batch_in_parts_makes_the_update_of_the_whole_batch(part):
    spec = SPECS['unpadded'][:-1] + [{'type': 'fc', 'num_neurons': 16, 'drop_prob': 0.3}, S]
    x = np.random.default_rng(1).random((40, 1, 24, 24)).astype(np.float32)
    y = np.arange(40) % 10
    runs = []
    for p in (None, part):
        net = pycore.Net.from_spec(spec, seed=3)
        trainer = pycore.Trainer(net, method='adam', learning_rate=0.01, batch_size=20, l2_decay=0.01)
        stats = [trainer.train_batch(x, y, part=p) for _ in range(2)]
        runs.append((net, trainer, stats))
    (a, ta, sa), (b, tb, sb) = runs
    assert (ta.steps, ta.examples) == (tb.steps, tb.examples) == (4, 80)
    for la, lb in zip(a.layers, b.layers):
        for k in la.params:
            np.testing.assert_allclose(la.params[k], lb.params[k], rtol=1e-3, atol=2e-5)
            assert not np.array_equal(la.params[k], pycore.Net.from_spec(spec, seed=3).layers[a.layers.index(la)].params[k])
    for s1, s2 in zip(sa, sb):
        assert s1['accuracy'] == s2['accuracy']
        assert s1['loss'] == pytest.approx(s2['loss'], rel=1e-5)


def test_one_part_is_the_whole_batch_exactly():
    x = np.random.default_rng(2).random((20, 1, 24, 24)).astype(np.float32)
    y = np.arange(20) % 10
    nets = []
    for p in (None, 20, 500):
        net = pycore.Net.from_spec(pycore.CONVNETJS_MNIST, seed=1)
        pycore.Trainer(net, **pycore.CONVNETJS_TRAINER).train_batch(x, y, part=p)
        nets.append(net)
    for other in nets[1:]:
        for la, lb in zip(nets[0].layers, other.layers):
            for k in la.params:
                assert np.array_equal(la.params[k], lb.params[k])


def test_a_batch_reports_its_progress_and_refuses_to_go_past_its_end():
    net = pycore.Net.from_spec(pycore.CONVNETJS_MNIST)
    trainer = pycore.Trainer(net, method='sgd', batch_size=10)
    x = np.zeros((10, 1, 24, 24), np.float32)
    batch = pycore.Batch(trainer, x, np.zeros(10, int))
    assert [batch.advance(4), batch.done, trainer.steps] == [False, 4, 0]
    assert [batch.advance(4), batch.done] == [False, 8]
    assert [batch.advance(4), batch.done, batch.parts, trainer.steps, trainer.examples] == [True, 10, 3, 1, 10]
    assert batch.stats['accuracy'] == float((batch.predictions == 0).mean())
    with pytest.raises(PycoreError, match='done already'):
        batch.advance()
    with pytest.raises(PycoreError, match='as many targets'):
        pycore.Batch(trainer, x, np.zeros(3, int))
