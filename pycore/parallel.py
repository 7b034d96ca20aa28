"""Data-parallel training: one batch cut into pieces whose gradients are computed by different
workers and summed in a fixed order into one update.

Every worker keeps a copy of the net and its trainer: each one adds all pieces' sums itself
(apply_sums) and makes the same update, so the copies stay identical (fingerprint checks them).

A piece's result is the same numbers wherever it is computed (the leader or a helper), because
every worker runs the same arithmetic on the same inputs:
  - the weights are the same (the copies are kept in step, or sent as one flat float32 vector:
    flat_params / set_flat_params);
  - a piece is trained in sub-parts of `part` examples, its gradient sum being
    sum over sub-parts of (sub-part mean gradient * sub-part size), added sub-part by sub-part;
  - a dropout layer draws its masks from a generator made from the piece's key (piece_rngs), never
    from the net's own generator, whose state depends on who trained what before.
"""
import contextlib
import zlib

import numpy as np

from .errors import PycoreError


def param_arrays(net):
    """Every parameter array of the net, in a fixed order (layer by layer, then by name)."""
    return [layer.params[name] for layer in net.layers for name in layer.params]


def grad_arrays(net):
    """The gradient arrays in param_arrays' order."""
    return [layer.grads[name] for layer in net.layers for name in layer.params]


def flat_params(net):
    """All weights as one float32 vector: (param_count,)."""
    arrays = param_arrays(net)
    return np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0, np.float32)


def set_flat_params(net, vector):
    """Copy a flat_params vector into the net's weights; refused if the length does not match."""
    vector = np.asarray(vector)
    arrays = param_arrays(net)
    total = sum(a.size for a in arrays)
    if vector.shape != (total,):
        raise PycoreError(f'a weights vector of {vector.shape} for a net of {total} parameters')
    at = 0
    for a in arrays:
        a[...] = vector[at:at + a.size].reshape(a.shape)
        at += a.size


def flat_grads(net):
    """The net's current gradients (a pass's mean) as one vector: (param_count,)."""
    arrays = grad_arrays(net)
    return np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0, np.float32)


def piece_bounds(n, pieces):
    """n examples cut into `pieces` contiguous pieces, the first n % pieces one longer:
    -> [(lo, hi)], every piece non-empty. pieces is capped at n."""
    if n < 1 or pieces < 1:
        raise PycoreError(f'cannot cut {n} examples into {pieces} pieces')
    pieces = min(pieces, n)
    bounds, lo = [], 0
    for k in range(pieces):
        hi = lo + n // pieces + (k < n % pieces)
        bounds.append((lo, hi))
        lo = hi
    return bounds


def piece_rngs(net, key, piece):
    """Generators for the dropout layers while piece `piece` of the batch with `key` (a list of
    whole numbers) is trained: layer index -> Generator. Empty for a net without dropout."""
    return {i: np.random.default_rng([*key, piece, i]) for i, layer in enumerate(net.layers)
            if layer.type == 'dropout'}


@contextlib.contextmanager
def using_rngs(net, rngs):
    """Dropout layers draw from `rngs` (piece_rngs) inside the block; their own generators after."""
    saved = {i: net.layers[i].rng for i in rngs}
    try:
        for i, rng in rngs.items():
            net.layers[i].rng = rng
        yield
    finally:
        for i, rng in saved.items():
            net.layers[i].rng = rng


def sub_pass(net, x, y):
    """Forward and backward over examples x with targets y (one sub-part).
    -> (gradient sum: (param_count,) mean gradient * len(x), loss sum, predictions or None)."""
    k = len(x)
    out = net.forward(x, training=True)
    loss = net.backward(y) * k
    g = flat_grads(net)
    g *= g.dtype.type(k)
    return g, loss, out.argmax(axis=1) if np.ndim(y) == 1 else None


def piece_sums(net, x, y, part, key, piece):
    """A helper's share of a batch: the examples x (n, C, H, W) and targets y of piece `piece` of
    the batch with `key`, trained in sub-parts of `part` examples with the weights the net holds.
    -> (gradient sum (param_count,), loss sum, predictions (n,) or None); Batch.add takes them."""
    n = len(x)
    if n == 0 or len(y) != n:
        raise PycoreError(f'a piece needs as many targets as examples, got {n} and {len(y)}')
    part = max(1, int(part))
    total, loss, preds = None, 0.0, []
    with using_rngs(net, piece_rngs(net, key, piece)):
        for lo in range(0, n, part):
            g, l, p = sub_pass(net, x[lo:lo + part], y[lo:lo + part])
            total = g if total is None else total.__iadd__(g)
            loss += l
            preds.append(p)
    return total, loss, None if preds[0] is None else np.concatenate(preds)


def apply_sums(trainer, sums, n):
    """One update from a batch's pieces: `sums` the pieces' gradient sums (param_count,) in piece
    order, added in that order (none is changed); n the batch's examples. The mean
    gradient goes into the net's grads, then weight decay and the update rule run once.
    -> (l1 decay loss, l2 decay loss)."""
    arrays = grad_arrays(trainer.net)
    total = sum(a.size for a in arrays)
    for g in sums:
        if np.shape(g) != (total,):
            raise PycoreError(f'a gradient sum of {np.shape(g)} for a net of {total} parameters')
    at = 0
    for a in arrays:                  # added into the grads themselves: no buffer of param_count more
        parts = [g[at:at + a.size].reshape(a.shape) for g in sums]
        if len(parts) > 1:
            np.add(parts[0], parts[1], out=a)
            for g in parts[2:]:
                a += g
        else:
            a[...] = parts[0]
        np.divide(a, a.dtype.type(n), out=a)
        at += a.size
    decay = trainer._update(n)
    trainer.steps += 1
    trainer.examples += n
    return decay


def fingerprint(trainer):
    """A checksum of what a piece's gradients are computed from: the weights, and the step count.
    Two workers whose copies agree give the same number (CRC-32). The update rule's buffers are
    left out, as the page may reset them between a piece and its update (a new update rule); a
    copy whose buffers went wrong has other weights one update later."""
    crc = zlib.crc32(np.int64(trainer.steps).tobytes())
    for a in param_arrays(trainer.net):
        crc = zlib.crc32(np.ascontiguousarray(a).data, crc)
    return crc
