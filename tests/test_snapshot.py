"""Snapshots: what each layer holds for one example, as flat float32 arrays with shapes and ranges."""
import numpy as np

from pycore import CONVNETJS_MNIST, Net, inspect, snapshot


def test_inspect_one_example():
    net = Net.from_spec(CONVNETJS_MNIST, seed=1)
    x = np.random.default_rng(2).random((1, 24, 24)).astype(np.float32)
    probs, layers = inspect(net, x, y=7)
    assert probs.shape == (10,) and abs(probs.sum() - 1) < 1e-5
    assert [L['type'] for L in layers] == [layer.type for layer in net.layers]
    for L, layer in zip(layers, net.layers):
        act = L['activations']
        assert act['data'].dtype == np.float32 and act['data'].ndim == 1
        assert act['shape'] == list(layer.out_shape) and act['data'].size == np.prod(layer.out_shape)
        assert act['min'] == act['data'].min() and act['max'] == act['data'].max()
        for name, w in L['weights'].items():
            assert w['shape'] == list(layer.params[name].shape)
            np.testing.assert_array_equal(w['data'], layer.params[name].ravel())
            g = L['weight_gradients'][name]
            np.testing.assert_array_equal(g['data'], layer.grads[name].ravel())
    np.testing.assert_array_equal(layers[0]['activations']['data'], x.ravel())
    assert layers[0]['gradients'] is None                 # never computed for the input images
    conv = layers[1]
    assert conv['gradients']['shape'] == [8, 24, 24] and np.abs(conv['gradients']['data']).max() > 0
    # The softmax layer's gradient is p - onehot(7) for a batch of one.
    soft = layers[-1]['gradients']['data']
    expected = probs.copy()
    expected[7] -= 1
    np.testing.assert_allclose(soft, expected, rtol=1e-5, atol=1e-7)
    assert layers[1]['weight_gradients']['w']['shape'] == [8, 1, 5, 5]


def test_inspect_without_label_has_no_gradients():
    net = Net.from_spec(CONVNETJS_MNIST, seed=1)
    _, layers = inspect(net, np.zeros((1, 1, 24, 24), np.float32), weights=False)
    assert all(L['gradients'] is None for L in layers)
    assert 'weights' not in layers[1]


def test_snapshot_picks_the_example():
    net = Net.from_spec(CONVNETJS_MNIST, seed=1)
    x = np.random.default_rng(3).random((4, 1, 24, 24)).astype(np.float32)
    net.forward(x)
    net.backward(np.array([1, 2, 3, 4]))
    s2 = snapshot(net, index=2, weights=False)
    np.testing.assert_array_equal(s2[1]['activations']['data'], net.layers[1].out[2].ravel())
    np.testing.assert_array_equal(s2[3]['gradients']['data'], net.layers[3].dout[2].ravel())
