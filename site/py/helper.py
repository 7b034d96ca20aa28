"""A helper worker's Python: the gradients of its pieces of the leader's batches, with the
leader's weights (pycore.parallel.piece_sums). It holds the net and nothing of the data but the
crops of the piece it is computing."""
import json

import numpy as np

import pycore
from pycore import PycoreError
from pycore.data import to_float
from pycore.parallel import piece_sums, set_flat_params


class Helper:
    def __init__(self):
        self.version, self.net = None, None

    def piece(self, version, spec, weights, part, key, piece, x, y):
        """One piece of a batch: x (n, crop, crop) uint8 crops, y (n,) labels, the weights as a flat
        float32 vector. -> {'piece', 'sums' (float32), 'loss', 'predictions' (int32)}."""
        if version != self.version:
            if spec is None:      # the spec comes with a net's first job only (helpers.js)
                raise PycoreError(f'a job for net version {version} came without its spec, and this helper '
                                  f'holds version {self.version}')
            self.net, self.version = pycore.Net.from_spec(json.loads(spec)), version
        set_flat_params(self.net, weights)
        C, H, W = self.net.input_shape
        x = to_float(np.asarray(x, dtype=np.uint8).reshape(-1, H, W))
        sums, loss, predictions = piece_sums(self.net, x, np.asarray(y), part, key, piece)
        return {'piece': piece, 'sums': sums.astype(np.float32, copy=False), 'loss': float(loss),
                'predictions': None if predictions is None else predictions.astype(np.int32)}


def from_js(value, dtype):
    """A JS typed array (in Pyodide), a buffer or an array -> a NumPy array of dtype."""
    if isinstance(value, np.ndarray):
        return value.astype(dtype, copy=False).ravel()
    if hasattr(value, 'to_bytes'):
        value = value.to_bytes()
    return np.frombuffer(value, dtype=dtype)


HELPER = Helper()


def piece(version, spec, weights, part, key, index, x, y):
    """helper.js's one call: HELPER.piece with the JS values converted, the result exported."""
    from bridge import export
    key = key.to_py() if hasattr(key, 'to_py') else key
    return export(HELPER.piece(int(version), None if spec is None else str(spec), from_js(weights, np.float32), int(part), [int(k) for k in key],
                               int(index), from_js(x, np.uint8), from_js(y, np.int32)))
