"""What a network costs before it is built: memory for one training batch, and work per example.

Estimated from spec.plan() alone, so a spec can be refused before anything is allocated.
Memory counts what one training step holds at its peak:
  parameters, their gradients and a second gradient buffer (the sum a batch split into parts
  adds up); the update rule's buffers; and, for a batch, every layer's output and the gradient
  that arrives for it, what each layer keeps for its backward pass (FFT spectra, im2col columns,
  max-pool choices, masks), plus the scratch arrays of the costliest single layer's backward.
Work is the multiply-adds of one example's forward pass done directly (as ConvNetJS does it),
a measure of the net that does not depend on the method pycore uses.
"""
from . import spec as specmod

# update rule -> (buffers per parameter (sgd with momentum 0 keeps none), temporaries of the
# size of the parameter array being updated)
RULES = {'sgd': (1, 1), 'momentum': (1, 1), 'nesterov': (1, 2), 'adagrad': (1, 2), 'windowgrad': (1, 2),
         'adadelta': (2, 2), 'adam': (2, 2)}


def estimate(spec, batch_size, method='sgd', momentum=0.9, itemsize=4):
    """Memory and work of training `spec` (a layer list) with batches of `batch_size`.

    -> {'parameters', 'gradients', 'optimizer', 'activations', 'scratch', 'total': bytes;
    'params': count; 'work': multiply-adds per example; 'values': the values all layers output
    per example (the elementwise work); 'largest': the layer whose scratch counts}.
    Raises PycoreError for an invalid spec, as plan() does."""
    layers = specmod.plan(spec)
    N, s = batch_size, itemsize
    P = sum(d['params'] for d in layers)
    buffers, temporaries = RULES.get(method, (2, 2))
    if method in ('sgd', 'momentum') and momentum == 0:
        buffers = 0
    held = scratch = work = 0
    largest = None
    for d in layers:
        h, sc, w = _layer(d, N, s)
        held, work = held + h, work + w
        if sc > scratch:
            scratch, largest = sc, d
    # The update rule's temporaries, for the largest parameter array.
    biggest = max((_param_arrays(d) for d in layers), default=0)
    if temporaries * biggest * s > scratch:
        scratch, largest = temporaries * biggest * s, {'src': 'update', 'type': method}
    out = {'parameters': P * s, 'gradients': 2 * P * s, 'optimizer': buffers * P * s,
           'activations': held, 'scratch': scratch}
    out['total'] = sum(out.values())
    values = sum(d['out_shape'][0] * d['out_shape'][1] * d['out_shape'][2] for d in layers)
    out.update(params=P, work=work, values=values,
               largest=None if largest is None else
               'the update' if largest['src'] == 'update' else f'layer {largest["src"]} ({largest["type"]})')
    return out


def _param_arrays(d):
    """Size of a layer's largest parameter array."""
    if d['type'] == 'conv':
        return d['filters'] * d['in_shape'][0] * d['sx'] * d['sy']
    if d['type'] == 'fc':
        return d['num_neurons'] * d['in_shape'][0] * d['in_shape'][1] * d['in_shape'][2]
    return 0


def _layer(d, N, s):
    """One layer, batch N, itemsize s -> (bytes kept from its forward for its backward, bytes of
    its peak scratch, multiply-adds per example). The scratch of the forward pass includes a second
    copy of what the layer keeps, since the last step's arrays are let go only when replaced."""
    t = d['type']
    C, H, W = d['in_shape']
    F, Ho, Wo = d['out_shape']
    x, y = N * C * H * W * s, N * F * Ho * Wo * s      # its input and output for the batch
    held = 2 * y                                       # the output, and the gradient that arrives for it
    if t == 'input':
        return y, 0, 0                                 # the batch itself; no gradient reaches it
    if t == 'conv':
        KH, KW, p = d['sy'], d['sx'], d['pad']
        Hp, Wp = H + 2 * p, W + 2 * p
        xp = N * C * Hp * Wp * s                       # the padded input (a copy when pad > 0)
        padded = xp if p else 0
        work = F * C * KH * KW * Ho * Wo
        if d['stride'] == 1:                           # FFT: complex spectra of 2 * itemsize
            freq = Hp * (Wp // 2 + 1) * 2 * s
            X, Wf, Y, DX = N * C * freq, F * C * freq, N * F * freq, N * C * freq
            keep = padded + X + Wf
            # forward: the new spectra and output beside the old, the product, its reordered
            # copy and the inverse transform's complex and real stages
            fwd = keep + y + 3 * Y + N * F * Hp * Wp * s
            # backward: dout's spectrum, the weight-gradient product and its copy, then the
            # input-gradient product, its copy, the inverse's stages and the unpadded copy
            bwd = Y + max(3 * Wf, 3 * DX + xp + (x if p else 0))
            return held + keep, max(fwd, bwd), work
        cols = N * Ho * Wo * C * KH * KW * s
        keep = padded + cols
        fwd = keep + 2 * y                             # new columns and output; the product's layout
        bwd = cols + xp + (x if p else 0)              # the columns' gradient and the input's
        return held + keep, max(fwd, bwd), work
    if t in ('pool', 'avgpool'):
        arg = N * F * Ho * Wo * (1 if d['sx'] * d['sy'] <= 127 else 4) if t == 'pool' else 0
        padded = N * C * (H + 2 * d['pad']) * (W + 2 * d['pad']) * s if d['pad'] else 0
        keep = arg + padded
        fwd = keep + 3 * y + 3 * arg                   # np.where's new arrays beside the old
        return held + keep, max(fwd, x + y), 0
    if t == 'fc':
        return held, max(2 * y, x), F * C * H * W
    keep = {'lrelu': N * F * Ho * Wo, 'elu': y + N * F * Ho * Wo, 'selu': y + N * F * Ho * Wo,
            'dropout': y, 'softplus': x}.get(t, 0)   # sign masks, exp of the negatives, a mask, the input
    return held + keep, keep + 3 * y, 0


def describe(cost):
    """One line for people, e.g. '31.4 MB per batch of 20: parameters 0.02 MB, ...'."""
    mb = lambda b: f'{b / 1e6:.1f} MB' if b >= 1e5 else f'{b / 1e6:.2f} MB'
    parts = ', '.join(f'{k} {mb(cost[k])}' for k in ('parameters', 'gradients', 'optimizer',
                                                    'activations', 'scratch'))
    return f'{mb(cost["total"])} ({parts})'
