"""The page's preset networks: name -> {'title', 'spec'} (layer lists in ConvNetJS's vocabulary)."""
import pycore

PRESETS = {
    'convnetjs': {'title': 'ConvNetJS MNIST net', 'spec': pycore.CONVNETJS_MNIST},
    'mlp': {'title': 'Plain MLP (two hidden layers)', 'spec': [
        {'type': 'input', 'out_sx': 24, 'out_sy': 24, 'out_depth': 1},
        {'type': 'fc', 'num_neurons': 100, 'activation': 'relu'},
        {'type': 'fc', 'num_neurons': 100, 'activation': 'relu'},
        {'type': 'softmax', 'num_classes': 10}]},
    'deeper': {'title': 'Deeper net (four 3x3 conv layers)', 'spec': [
        {'type': 'input', 'out_sx': 24, 'out_sy': 24, 'out_depth': 1},
        {'type': 'conv', 'sx': 3, 'filters': 8, 'stride': 1, 'pad': 1, 'activation': 'relu'},
        {'type': 'conv', 'sx': 3, 'filters': 8, 'stride': 1, 'pad': 1, 'activation': 'relu'},
        {'type': 'pool', 'sx': 2, 'stride': 2},
        {'type': 'conv', 'sx': 3, 'filters': 16, 'stride': 1, 'pad': 1, 'activation': 'relu'},
        {'type': 'pool', 'sx': 2, 'stride': 2},
        {'type': 'conv', 'sx': 3, 'filters': 16, 'stride': 1, 'pad': 1, 'activation': 'relu'},
        {'type': 'pool', 'sx': 2, 'stride': 2},
        {'type': 'fc', 'num_neurons': 32, 'activation': 'relu'},
        {'type': 'softmax', 'num_classes': 10}]},
    # ConvNetJS's net with each pool layer replaced by a conv of the same size and stride: the
    # network learns how to downsample.
    'strided': {'title': 'Stride-2 convs instead of pooling', 'spec': [
        {'type': 'input', 'out_sx': 24, 'out_sy': 24, 'out_depth': 1},
        {'type': 'conv', 'sx': 5, 'filters': 8, 'stride': 1, 'pad': 2, 'activation': 'relu'},
        {'type': 'conv', 'sx': 2, 'filters': 8, 'stride': 2, 'pad': 0, 'activation': 'relu'},
        {'type': 'conv', 'sx': 5, 'filters': 16, 'stride': 1, 'pad': 2, 'activation': 'relu'},
        {'type': 'conv', 'sx': 3, 'filters': 16, 'stride': 3, 'pad': 0, 'activation': 'relu'},
        {'type': 'softmax', 'num_classes': 10}]},
}
