"""Layers with parameters or structure: input, conv, pool, fc, dropout, shuffle. All NCHW.

Every layer has the same fields so one loop can draw any of them:
  params / grads: dicts of arrays with matching names ({} for parameter-free layers);
  out / dout: the last output and the gradient that arrived for it (kept by reference, no copy);
  in_shape / out_shape: (C, H, W) of one example; info: what the spec planner computed.
"""
import numpy as np

from .errors import PycoreError
from . import conv


class Layer:
    type = 'layer'

    def __init__(self, in_shape, out_shape, info=None):
        self.in_shape = tuple(in_shape)
        self.out_shape = tuple(out_shape)
        self.info = info or {}
        self.params = {}
        self.grads = {}
        self.decay_mul = {}   # param name -> (l1 multiplier, l2 multiplier); biases are not decayed
        self.out = None
        self.dout = None
        self.need_dx = True   # the net turns this off for the first layer after the input

    def forward(self, x, training=False):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def _alloc_params(self, **arrays):
        self.params.update(arrays)
        self.grads.update({k: np.zeros_like(v) for k, v in arrays.items()})


class Input(Layer):
    """Checks the input shape and passes it on. x: (N, C, H, W)."""
    type = 'input'

    def forward(self, x, training=False):
        if x.ndim != 4 or tuple(x.shape[1:]) != self.in_shape:
            raise PycoreError(f'input must have shape (N, {", ".join(map(str, self.in_shape))}), '
                             f'got {tuple(x.shape)}')
        self.out = x
        return x

    def backward(self, dout):
        self.dout = dout
        return dout


class Conv(Layer):
    """Convolution: (N, C, H, W) -> (N, F, Ho, Wo), weights w: (F, C, KH, KW), bias b: (F,)."""
    type = 'conv'

    def __init__(self, in_shape, out_shape, info, *, sx, sy, stride, pad, bias_pref, rng, dtype,
                 l1_decay_mul=0.0, l2_decay_mul=1.0):
        super().__init__(in_shape, out_shape, info)
        C = in_shape[0]
        F = out_shape[0]
        self.stride, self.pad, self.kshape = stride, pad, (sy, sx)
        scale = np.sqrt(1.0 / (C * sx * sy))   # ConvNetJS's initialisation
        self._alloc_params(w=(rng.standard_normal((F, C, sy, sx)) * scale).astype(dtype),
                           b=np.full(F, bias_pref, dtype=dtype))
        self.decay_mul = {'w': (l1_decay_mul, l2_decay_mul), 'b': (0.0, 0.0)}
        self.method = 'fft' if stride == 1 else 'im2col'

    def forward(self, x, training=False):
        xp = conv.pad2d(x, self.pad)
        self._xp_shape = xp.shape
        w, b = self.params['w'], self.params['b']
        if self.method == 'fft':
            if self.stride != 1:
                raise PycoreError('the fft method needs stride 1')
            self.out, self._cache = conv.fft_forward(xp, w, b)
        else:
            self.out, self._cache = conv.im2col_forward(xp, w, b, self.stride)
        return self.out

    def backward(self, dout):
        self.dout = dout
        if self.method == 'fft':
            dxp, dw, db = conv.fft_backward(dout, self._cache, self.kshape, self.need_dx)
        else:
            dxp, dw, db = conv.im2col_backward(dout, self._cache, self.params['w'], self._xp_shape,
                                               self.stride, self.need_dx)
        self.grads['w'][...] = dw
        self.grads['b'][...] = db
        if dxp is None:
            return None
        p = self.pad
        return np.ascontiguousarray(dxp[:, :, p:dxp.shape[2] - p, p:dxp.shape[3] - p]) if p else dxp


class Pool(Layer):
    """Max or average pooling: (N, C, H, W) -> (N, C, Ho, Wo).

    Built from one strided slice per window offset and np.where, which is several times faster
    than reshape().max() or np.maximum under Pyodide's NumPy. Average pooling counts padded
    cells as zeros (like PyTorch's count_include_pad=True).
    """

    def __init__(self, in_shape, out_shape, info, *, sx, sy, stride, pad, mode):
        super().__init__(in_shape, out_shape, info)
        self.kshape, self.stride, self.pad, self.mode = (sy, sx), stride, pad, mode
        self.type = 'pool' if mode == 'max' else 'avgpool'

    def _arg_dtype(self):
        return np.int8 if self.kshape[0] * self.kshape[1] <= 127 else np.int32

    def _windows(self):
        """Yield (k, slice) for each of the KH*KW window offsets."""
        KH, KW = self.kshape
        Ho, Wo = self.out_shape[1:]
        s = self.stride
        for u in range(KH):
            for v in range(KW):
                yield u * KW + v, (slice(None), slice(None),
                                   slice(u, u + s * (Ho - 1) + 1, s), slice(v, v + s * (Wo - 1) + 1, s))

    def forward(self, x, training=False):
        fill = -np.inf if self.mode == 'max' else 0.0
        xp = conv.pad2d(x, self.pad, fill)
        self._xp_shape = xp.shape
        out = None
        if self.mode == 'max':
            for k, sl in self._windows():
                win = xp[sl]
                if out is None:
                    out, arg = win.copy(), np.zeros(win.shape, dtype=self._arg_dtype())
                else:
                    bigger = win > out
                    out = np.where(bigger, win, out)
                    arg = np.where(bigger, arg.dtype.type(k), arg)
            self._arg = arg
        else:
            for k, sl in self._windows():
                out = xp[sl].copy() if out is None else out + xp[sl]
            out *= x.dtype.type(1.0 / (self.kshape[0] * self.kshape[1]))
        self.out = out
        return out

    def backward(self, dout):
        self.dout = dout
        zero = dout.dtype.type(0)
        KH, KW = self.kshape
        H, W = self.in_shape[1:]
        # Windows that tile the input exactly write every cell once: no zero fill, no adds.
        tiles = self.pad == 0 and self.stride == KH == KW and H == KH * dout.shape[2] and W == KW * dout.shape[3]
        dxp = (np.empty if tiles else np.zeros)(self._xp_shape, dtype=dout.dtype)
        if self.mode == 'max':
            for k, sl in self._windows():
                if tiles:
                    dxp[sl] = np.where(self._arg == k, dout, zero)
                else:
                    dxp[sl] += np.where(self._arg == k, dout, zero)
        else:
            share = dout * dout.dtype.type(1.0 / (KH * KW))
            for k, sl in self._windows():
                if tiles:
                    dxp[sl] = share
                else:
                    dxp[sl] += share
        p = self.pad
        return dxp[:, :, p:dxp.shape[2] - p, p:dxp.shape[3] - p] if p else dxp


class FC(Layer):
    """Fully connected: (N, C, H, W) -> (N, M, 1, 1), weights w: (M, C*H*W), bias b: (M,)."""
    type = 'fc'

    def __init__(self, in_shape, out_shape, info, *, bias_pref, rng, dtype,
                 l1_decay_mul=0.0, l2_decay_mul=1.0):
        super().__init__(in_shape, out_shape, info)
        D = int(np.prod(in_shape))
        M = out_shape[0]
        self._alloc_params(w=(rng.standard_normal((M, D)) * np.sqrt(1.0 / D)).astype(dtype),
                           b=np.full(M, bias_pref, dtype=dtype))
        self.decay_mul = {'w': (l1_decay_mul, l2_decay_mul), 'b': (0.0, 0.0)}

    def forward(self, x, training=False):
        N = x.shape[0]
        self._x2 = x.reshape(N, -1)                                    # (N, D)
        y = self._x2 @ self.params['w'].T + self.params['b']          # (N, M)
        self.out = y.reshape(N, -1, 1, 1)
        return self.out

    def backward(self, dout):
        self.dout = dout
        d2 = dout.reshape(dout.shape[0], -1)                          # (N, M)
        self.grads['w'][...] = d2.T @ self._x2
        self.grads['b'][...] = d2.sum(axis=0)
        if not self.need_dx:
            return None
        return (d2 @ self.params['w']).reshape((-1,) + self.in_shape)


class Dropout(Layer):
    """Inverted dropout: in training keeps each value with probability 1 - p and scales it by
    1 / (1 - p), so testing is the identity. Shape-preserving."""
    type = 'dropout'

    def __init__(self, in_shape, out_shape, info, *, drop_prob, rng):
        super().__init__(in_shape, out_shape, info)
        self.drop_prob, self.rng = drop_prob, rng
        self._mask = None

    def forward(self, x, training=False):
        if not training or self.drop_prob == 0:
            self._mask = None
            self.out = x
            return x
        keep = 1.0 - self.drop_prob
        self._mask = np.where(self.rng.random(x.shape) < keep, x.dtype.type(1.0 / keep), x.dtype.type(0))
        self.out = x * self._mask
        return self.out

    def backward(self, dout):
        self.dout = dout
        return dout if self._mask is None else dout * self._mask


class Shuffle(Layer):
    """A fixed reordering of each example's values, drawn once from `seed`: (N, C, H, W) -> (N, C, H, W).
    Shows that the layers after a flatten do not care in which order its values come."""
    type = 'shuffle'

    def __init__(self, in_shape, out_shape, info, *, seed):
        super().__init__(in_shape, out_shape, info)
        D = int(np.prod(in_shape))
        self.order = np.random.default_rng(seed).permutation(D)    # output value j is input value order[j]
        self.inverse = np.argsort(self.order)

    def forward(self, x, training=False):
        N = x.shape[0]
        self.out = x.reshape(N, -1)[:, self.order].reshape(x.shape)
        return self.out

    def backward(self, dout):
        self.dout = dout
        N = dout.shape[0]
        return dout.reshape(N, -1)[:, self.inverse].reshape(dout.shape)
