"""pycore: a small pure-NumPy CNN library whose every layer can be inspected.

    net = Net.from_spec([{"type": "input", "out_sx": 24, "out_sy": 24, "out_depth": 1},
                         {"type": "conv", "sx": 5, "filters": 8, "stride": 1, "pad": 2, "activation": "relu"},
                         {"type": "pool", "sx": 2, "stride": 2},
                         {"type": "softmax", "num_classes": 10}])
    trainer = Trainer(net, method="adadelta", batch_size=20, l2_decay=0.001)
    stats = trainer.train_batch(x, y)      # x: (N, 1, 24, 24) float32, y: (N,) labels
    probs = net.forward(x)                 # (N, 10)
"""
from . import cost
from .errors import PycoreError
from .guard import Guard
from .net import Net
from .serialize import from_convnetjs, from_json, to_json
from .snapshot import inspect, snapshot
from .spec import plan
from .trainer import Batch, Trainer, TrainerOptions

CONVNETJS_MNIST = [
    {'type': 'input', 'out_sx': 24, 'out_sy': 24, 'out_depth': 1},
    {'type': 'conv', 'sx': 5, 'filters': 8, 'stride': 1, 'pad': 2, 'activation': 'relu'},
    {'type': 'pool', 'sx': 2, 'stride': 2},
    {'type': 'conv', 'sx': 5, 'filters': 16, 'stride': 1, 'pad': 2, 'activation': 'relu'},
    {'type': 'pool', 'sx': 3, 'stride': 3},
    {'type': 'softmax', 'num_classes': 10},
]
CONVNETJS_TRAINER = {'method': 'adadelta', 'batch_size': 20, 'l2_decay': 0.001}

__all__ = ['Net', 'Trainer', 'Batch', 'cost', 'Guard', 'TrainerOptions', 'PycoreError', 'to_json', 'from_json', 'from_convnetjs',
           'snapshot', 'inspect', 'plan', 'CONVNETJS_MNIST', 'CONVNETJS_TRAINER']
