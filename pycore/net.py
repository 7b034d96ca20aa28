"""A network: layers built from a spec, run forward and backward as one batch."""
import copy

import numpy as np

from . import spec as specmod
from .activations import ACTIVATIONS
from .errors import PycoreError
from .layers import FC, Conv, Dropout, Input, Pool, Shuffle
from .losses import LOSSES


class Net:
    """layers[0] is the input layer and layers[-1] the loss layer; every layer has params/grads."""

    def __init__(self, spec, layers, seed, dtype):
        self.spec = spec
        self.layers = layers
        self.seed = seed
        self.dtype = np.dtype(dtype)
        self.loss = None

    @classmethod
    def from_spec(cls, spec, seed=0, dtype=np.float32):
        """Validate `spec` (a list of layer dicts, or its JSON text) and build the net.

        Weights are drawn from a generator seeded with `seed`, so the same spec and seed give
        the same net. Raises PycoreError, before allocating anything, if the spec is invalid.
        """
        if isinstance(spec, str):
            spec = specmod.parse(spec)
        planned = specmod.plan(spec)
        rng = np.random.default_rng(seed)
        layers = [_make_layer(d, rng, dtype) for d in planned]
        if len(layers) > 1:
            layers[1].need_dx = False   # nobody needs the gradient of the input images
        return cls(copy.deepcopy(spec), layers, seed, dtype)

    @property
    def input_shape(self):
        return self.layers[0].in_shape

    @property
    def num_outputs(self):
        return self.layers[-1].out_shape[0]

    def forward(self, x, training=False):
        """x: (N, C, H, W) -> (N, K): class probabilities for softmax, scores for svm/regression."""
        x = np.asarray(x)
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        for layer in self.layers:
            x = layer.forward(x, training)
        return x.reshape(x.shape[0], -1)

    def backward(self, y):
        """Backpropagate the loss for targets y after forward(). Returns the mean loss and fills
        every layer's grads. y: (N,) class labels, or (N, K) targets for regression."""
        self.loss = self.layers[-1].backward(y)
        dout = self.layers[-1].dx
        self.layers[-1].dout = dout
        for layer in reversed(self.layers[:-1]):
            dout = layer.backward(dout)
            if dout is None:
                break
        return self.loss

    def predict(self, x):
        """x: (N, C, H, W) -> (N,) most likely class."""
        return self.forward(x).argmax(axis=1)

    def param_count(self):
        return sum(v.size for layer in self.layers for v in layer.params.values())

    def describe(self):
        """Per layer: type, shapes, output-size formula and parameter count formula."""
        return [{k: layer.info[k] for k in ('type', 'src', 'in_shape', 'out_shape', 'formula',
                                            'params', 'params_formula')} | _geometry(layer.info)
                for layer in self.layers]


def _geometry(d):
    return {k: d[k] for k in ('sx', 'sy', 'stride', 'pad', 'filters', 'num_neurons', 'drop_prob',
                              'alpha', 'seed') if k in d}


def _make_layer(d, rng, dtype):
    t, i, o = d['type'], d['in_shape'], d['out_shape']
    if t == 'input':
        return Input(i, o, d)
    if t == 'conv':
        return Conv(i, o, d, sx=d['sx'], sy=d['sy'], stride=d['stride'], pad=d['pad'],
                    bias_pref=d['bias_pref'], rng=rng, dtype=dtype,
                    l1_decay_mul=d['l1_decay_mul'], l2_decay_mul=d['l2_decay_mul'])
    if t in ('pool', 'avgpool'):
        return Pool(i, o, d, sx=d['sx'], sy=d['sy'], stride=d['stride'], pad=d['pad'],
                    mode='max' if t == 'pool' else 'avg')
    if t == 'fc':
        return FC(i, o, d, bias_pref=d['bias_pref'], rng=rng, dtype=dtype,
                  l1_decay_mul=d['l1_decay_mul'], l2_decay_mul=d['l2_decay_mul'])
    if t == 'dropout':
        return Dropout(i, o, d, drop_prob=d['drop_prob'], rng=rng)
    if t == 'shuffle':
        return Shuffle(i, o, d, seed=d['seed'])
    if t in ('lrelu', 'elu'):
        return ACTIVATIONS[t](i, o, d, alpha=d['alpha'])
    if t in ACTIVATIONS:
        return ACTIVATIONS[t](i, o, d)
    if t in LOSSES:
        return LOSSES[t](i, o, d)
    raise PycoreError(f'layer {d["src"]}: no implementation for layer type {t!r}')
