"""Per-layer views of one example for visualisation. Nothing is computed until asked for."""
import numpy as np


def _flat(a):
    a = np.ascontiguousarray(a, dtype=np.float32).ravel()
    if a.size == 0:
        return {'shape': [0], 'data': a, 'min': 0.0, 'max': 0.0}
    return {'data': a, 'min': float(a.min()), 'max': float(a.max())}


def _entry(a, shape):
    e = _flat(a)
    e['shape'] = list(shape)
    return e


def snapshot(net, index=0, weights=True):
    """What each layer holds for example `index` of the last forward/backward pass.

    Returns one dict per layer: 'type', 'shape' (C, H, W of the output), 'activations' and
    'gradients' (each {'data': flat float32, 'shape', 'min', 'max'}, gradients None before any
    backward pass), and, when `weights`, 'weights' and 'weight_gradients': {name: same form}.
    """
    out = []
    for layer in net.layers:
        shape = layer.out_shape
        entry = {'type': layer.type, 'shape': list(shape),
                 'activations': _entry(layer.out[index], shape) if layer.out is not None else None,
                 'gradients': None}
        if layer.dout is not None and len(layer.dout) > index:
            entry['gradients'] = _entry(layer.dout[index], shape)
        if weights:
            entry['weights'] = {k: _entry(v, v.shape) for k, v in layer.params.items()}
            entry['weight_gradients'] = {k: _entry(v, v.shape) for k, v in layer.grads.items()}
        out.append(entry)
    return out


def inspect(net, x, y=None, weights=True):
    """Run one example through the net (test mode) and snapshot it.

    x: (C, H, W) or (1, C, H, W); y: its label, which enables the gradients. Overwrites the
    layers' last outputs and grads, which the next training step recomputes anyway.
    Returns (probabilities (K,), snapshot list).
    """
    x = np.asarray(x, dtype=net.dtype)
    if x.ndim == 3:
        x = x[None]
    probs = net.forward(x)[0]
    for layer in net.layers:
        layer.dout = None
    if y is not None:
        net.backward(np.asarray([y]) if np.ndim(y) == 0 else np.asarray(y)[None])
    return probs, snapshot(net, 0, weights)
