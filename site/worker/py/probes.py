"""Questions the lessons ask of a session's network, beyond what the network view shows: test digits
moved sideways (the shift lesson), and the test images that drive a unit most (top-images). Each
function takes the Session; `others` are further trained nets (the build's pretrained ones)."""
import numpy as np

from datasets import IMAGE
from pycore import PycoreError
from pycore.data import shift


def shift_test(session, index, shifts, others=None):
    """Test image `index` moved left by each of `shifts` pixels: for each, the image, how many of
    its pixels change (and how many get brighter or darker), and the class probabilities of this
    session's net and of each of `others` (name -> a pycore Net of the same input size)."""
    index = int(index)
    if not 0 <= index < session.ds.test.count:
        raise PycoreError(f'test image {index} is not loaded')
    image = session.ds.test.images[index]                                 # (28, 28) uint8
    nets = {'live': session.net, **{k: n for k, n in (others or {}).items() if n.input_shape == session.net.input_shape}}
    rows = []
    for dx in shifts:
        dx = int(dx)
        if not 0 <= dx < IMAGE:
            raise PycoreError(f'a shift of {dx} pixels: it must be 0 to {IMAGE - 1}')
        moved = shift(image[None], dx)[0]
        x = session._centre(moved[None])                                  # (1, 1, crop, crop)
        rows.append({'dx': dx, 'image': moved.ravel(), 'changed': int(np.count_nonzero(moved != image)),
                     'brighter': int(np.count_nonzero(moved > image)), 'darker': int(np.count_nonzero(moved < image)),
                     'probs': {k: net.forward(x)[0].astype(np.float32) for k, net in nets.items()}})
    return {'index': index, 'label': int(session.ds.test.labels[index]), 'rows': rows, 'nets': list(nets)}

def shift_accuracy(session, count, shifts, others=None):
    """The accuracy of this session's net and of `others` on the first `count` loaded test images
    moved left by each of `shifts` pixels: {'count', 'shifts', 'accuracy': name -> [fraction per shift]}."""
    n = min(int(count), session.ds.test.count)
    if n == 0:
        raise PycoreError('no test images are loaded yet')
    images, labels = session.ds.test.images[:n], session.ds.test.labels[:n]
    nets = {'live': session.net, **{k: m for k, m in (others or {}).items() if m.input_shape == session.net.input_shape}}
    accuracy = {k: [] for k in nets}
    for dx in shifts:
        x = session._centre(shift(images, int(dx)))
        for k, net in nets.items():
            pred = np.concatenate([net.forward(x[i:i + 250]).argmax(1) for i in range(0, n, 250)])
            accuracy[k].append(float((pred == labels).mean()))
    return {'count': n, 'shifts': [int(d) for d in shifts], 'accuracy': accuracy}

def top_images(session, layer, unit, count=500, top=9):
    """The `top` of the first `count` loaded test images that drive unit `unit` of layer `layer` (a
    conv filter: its largest value anywhere on its map; an fc neuron: its value) the most, each
    with where (x, y) and the receptive field there, a square of the net's input (the centre crop):
    {'layer', 'unit', 'kind', 'count', 'field', 'top': [{'index', 'label', 'value', 'x', 'y',
    'left', 'top', 'image' (crop x crop uint8)}]}, field being the receptive field's size."""
    layer, unit = int(layer), int(unit)
    if not 0 < layer < len(session.net.layers) or session.net.layers[layer].type not in ('conv', 'fc'):
        raise PycoreError(f'layer {layer} is not a conv or fc layer')
    C, H, W = session.net.layers[layer].out_shape
    if not 0 <= unit < C:
        raise PycoreError(f'layer {layer} has {C} units (0 to {C - 1}), not {unit}')
    n = min(int(count), session.ds.test.count)
    if n == 0:
        raise PycoreError('no test images are loaded yet')
    x = session._centre(session.ds.test.images[:n])                          # (n, 1, crop, crop)
    best, where = np.empty(n, np.float32), np.empty(n, np.int64)
    for i in range(0, n, 250):
        session.net.forward(x[i:i + 250])
        maps = session.net.layers[layer].out[:, unit].reshape(len(x[i:i + 250]), -1)   # (b, H*W)
        where[i:i + 250] = maps.argmax(1)
        best[i:i + 250] = maps.max(1)
    size, jump, offset = receptive_field(session.net.layers[:layer + 1])
    order = np.argsort(-best, kind='stable')[:top]
    m = (IMAGE - session.crop) // 2
    crop_u8 = session.ds.test.images[:n, m:m + session.crop, m:m + session.crop]     # what the net sees
    out = []
    for i in order:
        y, xx = divmod(int(where[i]), W)
        entry = {'index': int(i), 'label': int(session.ds.test.labels[i]), 'value': float(best[i]), 'x': xx, 'y': y,
                 'image': np.ascontiguousarray(crop_u8[i]).ravel()}
        if H * W > 1:
            entry.update(left=offset + xx * jump, top=offset + y * jump)
        out.append(entry)
    return {'layer': layer, 'unit': unit, 'kind': session.net.layers[layer].type, 'count': n,
            'field': size if H * W > 1 else session.crop, 'top': out}


def receptive_field(layers):
    """(size, jump, offset) of the output units of the last of `layers` (input first): unit (x, y)
    sees the input square of side `size` whose top-left corner is (offset + x*jump, offset + y*jump),
    parts of which may lie in the padding."""
    size, jump, offset = 1, 1, 0
    for L in layers:
        if L.type not in ('conv', 'pool', 'avgpool'):
            continue
        k, s, p = L.kshape[1], L.stride, L.pad
        size, offset, jump = size + (k - 1) * jump, offset - p * jump, jump * s
    return size, jump, offset
