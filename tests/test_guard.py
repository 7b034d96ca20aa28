"""The divergence guard (pycore/guard.py): it catches a blow-up, names it, and rolls back exactly."""
import numpy as np

from pycore import Net, Trainer
from pycore.guard import Guard

SPEC = [{'type': 'input', 'out_sx': 8, 'out_sy': 8, 'out_depth': 1},
        {'type': 'conv', 'sx': 3, 'filters': 4, 'stride': 1, 'pad': 1, 'activation': 'relu'},
        {'type': 'pool', 'sx': 2, 'stride': 2},
        {'type': 'softmax', 'num_classes': 3}]


def blobs(n, seed=0):
    """Three classes of 8x8 images, each a bright square in its own place, plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.random((n, 1, 8, 8)).astype(np.float32) * 1.5     # noisy enough that the loss stays above 0
    for k in range(3):
        x[y == k, 0, 2 * k:2 * k + 3, 2 * k:2 * k + 3] += 1
    return x, y


def train(trainer, guard, steps, seed=1):
    x, y = blobs(steps * trainer.options.batch_size, seed)
    B = trainer.options.batch_size
    for i in range(steps):
        s = trainer.train_batch(x[i * B:(i + 1) * B], y[i * B:(i + 1) * B])
        found = guard.after_step(s['loss'])
        if found:
            return found, i
    return None, steps


def test_a_normal_run_is_not_flagged_and_takes_checkpoints():
    net = Net.from_spec(SPEC, seed=0)
    t = Trainer(net, method='adadelta', batch_size=10, l2_decay=0.001)
    g = Guard(t, every=100, keep=3)
    found, _ = train(t, g, 1500)
    assert found is None
    assert len(g.checkpoints) == 3 and [c['steps'] for c in g.checkpoints] == sorted(c['steps'] for c in g.checkpoints)


def test_learning_rate_50_is_caught_and_rollback_restores_then_trains_on():
    net = Net.from_spec(SPEC, seed=0)
    t = Trainer(net, method='sgd', learning_rate=0.01, momentum=0.9, batch_size=10)
    g = Guard(t, every=50)
    assert train(t, g, 400)[0] is None
    good = g.checkpoints[-1]
    t.set(learning_rate=50)
    found, steps = train(t, g, 400, seed=2)
    assert found is not None and steps < 100, found
    assert 'loss rose from' in found['reason'] or 'not a number' in found['reason'] or 'infinite' in found['reason']
    assert found['steps'] >= 1 and found['step'] == t.steps
    back = g.rollback()
    assert back == {'steps': good['steps'], 'examples': good['examples']} and t.steps == good['steps']
    for key, layer, name in t.params():
        np.testing.assert_array_equal(layer.params[name], good['params'][key])      # exactly
    for key, buffers in good['state'].items():
        for k, v in buffers.items():
            np.testing.assert_array_equal(t.state[key][k], v)
    assert t.options.learning_rate == 50                                             # the options stay
    t.set(learning_rate=0.01)
    found, _ = train(t, g, 300, seed=3)
    assert found is None
    x, y = blobs(300, seed=9)
    assert (net.forward(x).argmax(1) == y).mean() > 0.9


def test_a_nan_weight_is_named():
    net = Net.from_spec(SPEC, seed=0)
    t = Trainer(net, method='adadelta', batch_size=10)
    g = Guard(t)
    train(t, g, 5)
    net.layers[1].params['w'][0, 0, 1, 1] = np.nan
    found = g.after_step(0.5)
    assert found['reason'] == "the weights 'w' of layer 1 (conv) are not a number"
    assert g.after_step(float('inf'))['reason'] == 'the loss is inf'


def test_rollback_after_a_change_of_method_starts_the_rule_afresh():
    net = Net.from_spec(SPEC, seed=0)
    t = Trainer(net, method='sgd', learning_rate=0.01, momentum=0.9, batch_size=10)
    g = Guard(t, every=20)
    train(t, g, 200)
    t.set(method='adadelta')
    train(t, g, 3)                     # too few steps for a checkpoint of its own
    assert g.checkpoints[-1]['rule'].__name__ == 'sgd'
    g.rollback()
    assert t.state == {}


def test_a_rate_too_large_from_the_start_is_caught_by_the_chance_level():
    net = Net.from_spec(SPEC, seed=0)
    t = Trainer(net, method='sgd', learning_rate=50, momentum=0.9, batch_size=10)
    g = Guard(t, chance=np.log(3))
    found, steps = train(t, g, 100)
    assert found is not None and steps < 40 and 'times that of guessing' in found['reason'], (found, steps)
    assert g.rollback() == {'steps': 0, 'examples': 0}        # no good checkpoint yet: the start
    assert Guard(Trainer(Net.from_spec(SPEC, seed=0), method='adadelta', batch_size=10), chance=np.log(3)).after_step(1.1) is None
