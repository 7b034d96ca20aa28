"""Numerical gradient checks: dx and every parameter of every layer, and whole nets."""
import numpy as np
import pytest

from pycore import Net
from pycore.activations import ACTIVATIONS
from pycore.layers import FC, Conv, Dropout, Pool, Shuffle

from gradcheck import numeric_grad, rel_error

TOL = 1e-7


def check_layer(layer, x, seed=0, training=False, reset=None, h=1e-3):
    """Check dx and every grads[name] of `layer` for the scalar loss sum(out * r).

    Conv is linear in x and in w, so a large step h has no truncation error and keeps FFT
    round-off (which touches every output) out of the difference quotient.
    """
    r = np.random.default_rng(seed + 1).standard_normal((x.shape[0],) + layer.out_shape)

    def loss():
        if reset:
            reset()
        return float((layer.forward(x, training) * r).sum())

    loss()
    dx = layer.backward(r)
    assert rel_error(dx, numeric_grad(loss, x, h)) < TOL
    for name, p in layer.params.items():
        if reset:
            reset()
        layer.forward(x, training)
        layer.backward(r)
        analytic = layer.grads[name].copy()
        assert rel_error(analytic, numeric_grad(loss, p, h)) < TOL, name


def conv_layer(C, H, W, F, k, stride, pad, method, seed=0):
    Ho = (H - k + 2 * pad) // stride + 1
    Wo = (W - k + 2 * pad) // stride + 1
    layer = Conv((C, H, W), (F, Ho, Wo), {}, sx=k, sy=k, stride=stride, pad=pad, bias_pref=0.1,
                 rng=np.random.default_rng(seed), dtype=np.float64)
    layer.method = method
    return layer


@pytest.mark.parametrize('C,H,W,F,k,stride,pad,method', [
    (1, 6, 6, 2, 3, 1, 1, 'fft'),
    (3, 7, 5, 4, 3, 1, 0, 'fft'),
    (2, 5, 5, 3, 5, 1, 2, 'fft'),
    (2, 6, 6, 3, 3, 1, 1, 'im2col'),
    (2, 7, 7, 3, 3, 2, 0, 'im2col'),
    (3, 8, 8, 2, 4, 2, 1, 'im2col'),
    (1, 7, 7, 2, 3, 3, 1, 'im2col'),
])
def test_conv(C, H, W, F, k, stride, pad, method):
    layer = conv_layer(C, H, W, F, k, stride, pad, method)
    x = np.random.default_rng(2).standard_normal((2, C, H, W))
    check_layer(layer, x, h=1e-2)


@pytest.mark.parametrize('mode', ['max', 'avg'])
@pytest.mark.parametrize('C,H,k,stride,pad', [
    (2, 4, 2, 2, 0), (3, 6, 3, 3, 0), (2, 5, 3, 2, 1), (1, 7, 3, 1, 0), (2, 6, 2, 2, 1)])
def test_pool(mode, C, H, k, stride, pad):
    Ho = (H - k + 2 * pad) // stride + 1
    layer = Pool((C, H, H), (C, Ho, Ho), {}, sx=k, sy=k, stride=stride, pad=pad, mode=mode)
    # Distinct values spaced well apart keep max pooling away from ties and kinks.
    x = np.random.default_rng(3).permutation(2 * C * H * H).reshape(2, C, H, H) * 0.1
    check_layer(layer, x.astype(np.float64))


@pytest.mark.parametrize('shape', [(3, 1, 1), (2, 3, 4)])
def test_fc(shape):
    layer = FC(shape, (5, 1, 1), {}, bias_pref=0.0, rng=np.random.default_rng(0), dtype=np.float64)
    check_layer(layer, np.random.default_rng(4).standard_normal((3,) + shape))


@pytest.mark.parametrize('name', sorted(ACTIVATIONS))
def test_activation(name):
    layer = ACTIVATIONS[name]((2, 3, 3), (2, 3, 3), {})
    x = np.random.default_rng(5).standard_normal((2, 2, 3, 3)) * 3
    x[np.abs(x) < 0.01] = 0.5     # stay away from the kink of relu-like functions
    check_layer(layer, x)


def test_dropout_train_and_test():
    seeds = np.random.SeedSequence(7)
    layer = Dropout((3, 4, 4), (3, 4, 4), {}, drop_prob=0.4, rng=None)

    def reset():
        layer.rng = np.random.default_rng(seeds)     # the same mask on every call
    x = np.random.default_rng(6).standard_normal((2, 3, 4, 4))
    check_layer(layer, x, training=True, reset=reset)
    reset()
    out = layer.forward(x, training=True)
    kept = out != 0
    assert 0.3 < 1 - kept.mean() < 0.5
    np.testing.assert_allclose(out[kept], x[kept] / 0.6)        # inverted scaling
    np.testing.assert_array_equal(layer.forward(x, training=False), x)


def test_shuffle_reorders_and_its_gradient_puts_back():
    layer = Shuffle((3, 4, 4), (3, 4, 4), {}, seed=5)
    x = np.random.default_rng(10).standard_normal((2, 3, 4, 4))
    check_layer(layer, x)
    out = layer.forward(x).reshape(2, -1)
    assert sorted(layer.order.tolist()) == list(range(48)) and not np.array_equal(layer.order, np.arange(48))
    np.testing.assert_array_equal(out, x.reshape(2, -1)[:, layer.order])     # a reordering: no value changes
    np.testing.assert_array_equal(Shuffle((3, 4, 4), (3, 4, 4), {}, seed=5).order, layer.order)


SPECS = {
    'convnetjs-like': [
        {'type': 'input', 'out_sx': 8, 'out_sy': 8, 'out_depth': 1},
        {'type': 'conv', 'sx': 3, 'filters': 3, 'stride': 1, 'pad': 1, 'activation': 'relu'},
        {'type': 'pool', 'sx': 2, 'stride': 2},
        {'type': 'conv', 'sx': 3, 'filters': 4, 'stride': 1, 'pad': 1, 'activation': 'relu'},
        {'type': 'pool', 'sx': 2, 'stride': 2},
        {'type': 'softmax', 'num_classes': 4}],
    'strided-avg-smooth': [
        {'type': 'input', 'out_sx': 9, 'out_sy': 9, 'out_depth': 2},
        {'type': 'conv', 'sx': 3, 'filters': 3, 'stride': 2, 'pad': 1, 'activation': 'tanh'},
        {'type': 'avgpool', 'sx': 3, 'stride': 1, 'pad': 1},
        {'type': 'fc', 'num_neurons': 5, 'activation': 'sigmoid'},
        {'type': 'fc', 'num_neurons': 4, 'activation': 'elu'},
        {'type': 'softplus'},
        {'type': 'svm', 'num_classes': 3}],
    'mlp-regression': [
        {'type': 'input', 'out_sx': 1, 'out_sy': 1, 'out_depth': 6},
        {'type': 'fc', 'num_neurons': 7, 'activation': 'lrelu'},
        {'type': 'fc', 'num_neurons': 5, 'activation': 'tanh'},
        {'type': 'regression', 'num_neurons': 2}],
    'conv-selu': [
        {'type': 'input', 'out_sx': 5, 'out_sy': 5, 'out_depth': 2},
        {'type': 'conv', 'sx': 3, 'filters': 3, 'stride': 1, 'pad': 1, 'activation': 'selu'},
        {'type': 'fc', 'num_neurons': 4},
        {'type': 'selu'},
        {'type': 'softmax', 'num_classes': 3}],
    'shuffled-flatten': [
        {'type': 'input', 'out_sx': 6, 'out_sy': 6, 'out_depth': 1},
        {'type': 'conv', 'sx': 3, 'filters': 2, 'stride': 1, 'pad': 1, 'activation': 'tanh'},
        {'type': 'avgpool', 'sx': 2, 'stride': 2},
        {'type': 'shuffle', 'seed': 3},
        {'type': 'softmax', 'num_classes': 3}],
}


@pytest.mark.parametrize('name', sorted(SPECS))
def test_whole_net(name):
    net = Net.from_spec(SPECS[name], seed=1, dtype=np.float64)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3,) + net.input_shape)
    last = SPECS[name][-1]
    y = rng.standard_normal((3, 2)) if last['type'] == 'regression' else rng.integers(0, last['num_classes'], 3)

    def loss():
        net.forward(x, training=True)
        return net.backward(y)

    loss()
    analytic = {(i, k): layer.grads[k].copy() for i, layer in enumerate(net.layers) for k in layer.params}
    assert analytic
    # Relu, selu (its slope jumps from scale*alpha to scale at 0) and max pool have kinks: a small
    # step keeps the difference quotient on one side of them.
    h = 1e-4 if name in ('convnetjs-like', 'conv-selu') else 1e-3
    for (i, k), g in analytic.items():
        assert rel_error(g, numeric_grad(loss, net.layers[i].params[k], h)) < TOL, (i, k)


def test_whole_net_input_gradient():
    """With need_dx on, the gradient reaching the input layer is right too."""
    net = Net.from_spec(SPECS['convnetjs-like'], seed=2, dtype=np.float64)
    net.layers[1].need_dx = True
    x = np.random.default_rng(9).standard_normal((2, 1, 8, 8))
    y = np.array([1, 3])

    def loss():
        net.forward(x)
        return net.backward(y)
    loss()
    assert rel_error(net.layers[0].dout, numeric_grad(loss, x, 1e-4)) < TOL
