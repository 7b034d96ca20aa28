"""Spec validation, ConvNetJS conveniences, shape arithmetic and parameter counts."""
import numpy as np
import pytest

from pycore import CONVNETJS_MNIST, Net, PycoreError, plan
from pycore.activations import ACTIVATIONS, SELU
from pycore.spec import ACTIVATION_TYPES

INPUT = {'type': 'input', 'out_sx': 7, 'out_sy': 7, 'out_depth': 1}
SOFTMAX = {'type': 'softmax', 'num_classes': 10}


def test_convnetjs_mnist_plan():
    layers = plan(CONVNETJS_MNIST)
    assert [d['type'] for d in layers] == ['input', 'conv', 'relu', 'pool', 'conv', 'relu', 'pool',
                                           'fc', 'softmax']
    assert [d['out_shape'] for d in layers] == [(1, 24, 24), (8, 24, 24), (8, 24, 24), (8, 12, 12),
                                                (16, 12, 12), (16, 12, 12), (16, 4, 4), (10, 1, 1),
                                                (10, 1, 1)]
    assert layers[1]['params_formula'] == '8x5x5x1+8 = 208'
    assert layers[4]['params_formula'] == '16x5x5x8+16 = 3216'
    assert layers[7]['params_formula'] == '10x256+10 = 2570'
    assert layers[1]['formula'] == '(24 - 5 + 2*2)/1 + 1 = 24'
    assert layers[6]['formula'] == '(12 - 3 + 2*0)/3 + 1 = 4'
    net = Net.from_spec(CONVNETJS_MNIST)
    assert net.param_count() == 208 + 3216 + 2570


def test_relu_layers_start_with_bias_01():
    net = Net.from_spec(CONVNETJS_MNIST)
    assert np.all(net.layers[1].params['b'] == np.float32(0.1))
    assert np.all(net.layers[7].params['b'] == 0)          # the softmax's fc is not followed by relu
    explicit = Net.from_spec([INPUT, {'type': 'fc', 'num_neurons': 3}, {'type': 'relu'}, SOFTMAX])
    assert np.all(explicit.layers[1].params['b'] == np.float32(0.1))
    chosen = Net.from_spec([INPUT, {'type': 'fc', 'num_neurons': 3, 'activation': 'relu', 'bias_pref': 0.5},
                            SOFTMAX])
    assert np.all(chosen.layers[1].params['b'] == np.float32(0.5))


def test_conveniences_add_layers():
    types = [d['type'] for d in plan([INPUT, {'type': 'fc', 'num_neurons': 4, 'activation': 'tanh',
                                               'drop_prob': 0.5}, {'type': 'regression', 'num_neurons': 2}])]
    assert types == ['input', 'fc', 'tanh', 'dropout', 'fc', 'regression']


def test_selu_activation_key_and_layer():
    conv = {'type': 'conv', 'sx': 3, 'filters': 2, 'stride': 1, 'pad': 1, 'activation': 'selu'}
    net = Net.from_spec([INPUT, conv, {'type': 'fc', 'num_neurons': 4}, {'type': 'selu'}, SOFTMAX])
    assert [layer.type for layer in net.layers] == ['input', 'conv', 'selu', 'fc', 'selu', 'fc', 'softmax']
    assert isinstance(net.layers[2], SELU) and isinstance(net.layers[4], SELU)
    assert np.all(net.layers[1].params['b'] == 0)           # the 0.1 bias is for relu only
    assert net.forward(np.zeros((2, 1, 7, 7), np.float32)).shape == (2, 10)
    with pytest.raises(PycoreError, match='unknown key "alpha"'):
        Net.from_spec([INPUT, {'type': 'selu', 'alpha': 1.0}, SOFTMAX])     # its constants are fixed


def test_unknown_activation_lists_selu():
    with pytest.raises(PycoreError) as e:
        Net.from_spec([INPUT, {'type': 'conv', 'sx': 3, 'filters': 2, 'activation': 'swish'}, SOFTMAX])
    assert ', selu, ' in str(e.value) and 'got "swish"' in str(e.value)
    with pytest.raises(PycoreError) as e:
        Net.from_spec([INPUT, {'type': 'swish'}, SOFTMAX])
    assert ', selu, ' in str(e.value)


def test_every_activation_name_has_a_layer():
    assert set(ACTIVATION_TYPES) == set(ACTIVATIONS)


def test_same_seed_same_weights():
    a, b, c = (Net.from_spec(CONVNETJS_MNIST, seed=s) for s in (3, 3, 4))
    assert np.array_equal(a.layers[1].params['w'], b.layers[1].params['w'])
    assert not np.array_equal(a.layers[1].params['w'], c.layers[1].params['w'])


def test_spec_from_json_text():
    net = Net.from_spec('[{"type": "input", "out_sx": 2, "out_sy": 2, "out_depth": 1},'
                        ' {"type": "softmax", "num_classes": 3}]')
    assert net.forward(np.zeros((1, 1, 2, 2))).shape == (1, 3)


@pytest.mark.parametrize('spec,message', [
    ([INPUT, {'type': 'conv', 'sx': 3, 'filters': 2, 'stride': 3}, SOFTMAX],
     'layer 1 (conv): a 3x3 filter with stride 3 on a 7x7 input does not fit: (7 - 3 + 2*0)/3 + 1 = 2.33'),
    ([INPUT, {'type': 'pool', 'sx': 2, 'stride': 2}, SOFTMAX],
     'layer 1 (pool): a 2x2 window with stride 2 on a 7x7 input does not fit: (7 - 2 + 2*0)/2 + 1 = 3.50'),
    ([INPUT, {'type': 'conv', 'sx': 9, 'filters': 2}, SOFTMAX], 'a 9x9 filter does not fit on a 7x7 input'),
    ([INPUT, {'type': 'conv', 'sx': 3, 'filter': 2}, SOFTMAX], 'layer 1 (conv): unknown key "filter"'),
    ([INPUT, {'type': 'conv', 'sx': 3}, SOFTMAX], 'layer 1 (conv): missing required key "filters"'),
    ([INPUT, {'type': 'convolution'}, SOFTMAX], 'layer 1: unknown layer type "convolution"'),
    ([INPUT, {'type': 'conv', 'sx': 3, 'filters': 2.5}, SOFTMAX], '"filters" must be a whole number'),
    ([INPUT, {'type': 'conv', 'sx': 3, 'filters': True}, SOFTMAX], '"filters" must be a whole number'),
    ([INPUT, {'type': 'conv', 'sx': 3, 'filters': 0}, SOFTMAX], '"filters" must be at least 1'),
    ([INPUT, {'type': 'fc', 'num_neurons': 3, 'activation': 'swish'}, SOFTMAX], '"activation" must be one of'),
    ([INPUT, {'type': 'dropout', 'drop_prob': 1.0}, SOFTMAX], '"drop_prob" must be in [0, 1)'),
    ([INPUT, {'type': 'pool', 'sx': 2, 'stride': 1, 'pad': 2}, SOFTMAX], 'pad 2 must be smaller than the window'),
    ([{'type': 'fc', 'num_neurons': 3}, SOFTMAX], 'the first layer must be'),
    ([INPUT, {'type': 'fc', 'num_neurons': 3}], 'the last layer must be a loss layer'),
    ([INPUT, SOFTMAX, SOFTMAX], 'only the last layer can be a loss layer'),
    ([INPUT, INPUT, SOFTMAX], 'only the first layer can be an input layer'),
    ([INPUT, 'conv', SOFTMAX], 'layer 1: each layer must be an object'),
    ([], 'a network spec must be a non-empty list'),
    ({'type': 'input'}, 'a network spec must be a non-empty list'),
    ([INPUT, {'type': 'fc', 'num_neurons': 100000}, {'type': 'fc', 'num_neurons': 100000}, SOFTMAX],
     'parameters, more than the'),
])
def test_bad_specs(spec, message):
    with pytest.raises(PycoreError) as e:
        Net.from_spec(spec)
    assert message in str(e.value)


def test_bad_json_text():
    with pytest.raises(PycoreError, match='not valid JSON'):
        Net.from_spec('[{"type": "input",')


def test_validation_before_allocation(monkeypatch):
    """A bad layer late in the spec fails before any weights are drawn."""
    import pycore.net
    monkeypatch.setattr(pycore.net, '_make_layer', lambda *a: pytest.fail('allocated before validating'))
    with pytest.raises(PycoreError):
        Net.from_spec([INPUT, {'type': 'conv', 'sx': 3, 'filters': 2, 'pad': 1}, {'type': 'pool', 'sx': 2}, SOFTMAX])


def test_bad_input_shape_is_clear():
    net = Net.from_spec(CONVNETJS_MNIST)
    with pytest.raises(PycoreError, match=r'input must have shape \(N, 1, 24, 24\), got \(2, 1, 28, 28\)'):
        net.forward(np.zeros((2, 1, 28, 28)))
