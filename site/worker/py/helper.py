"""A helper worker's Python: its copy of the run (net and trainer), kept in step with the training
worker's. For every batch it computes the gradient sums of its piece (pycore.parallel.piece_sums)
and, once the other pieces' sums come (the next job's 'share'), makes the same update as every
other worker (pycore.parallel.apply_sums). It holds nothing of the data but its piece's crops."""
import numpy as np

import pycore
from pycore import PycoreError
from pycore.data import crop, to_float
from pycore.parallel import apply_sums, fingerprint, piece_sums


class OutOfStep(PycoreError):
    """This copy cannot make the update it is asked for: the training worker sends it the run anew."""


class Helper:
    def __init__(self):
        self.net = self.trainer = None
        self.mine = None          # (serial, piece, sums) of the piece computed last, until its update
        self.to_score = None      # the held-out images that came with the last job, until score()
        self.scored = None        # their outcomes, until they go with the next result

    def job(self, serial, piece, part, key, x, y, sync=None, share=None, score=None):
        """One piece of batch `serial`: x (n, crop, crop) uint8 crops, y (n,) labels.
        sync: the whole run (pycore.to_json) to continue from; share: the previous batch's other
        pieces, {'serial', 'n', 'options', 'pieces': [piece], 'sums': [sums]}, whose update comes first;
        score: held-out images to score after the result is sent (score()), {'val_x', 'val_y',
        'test_x', 'test_y'}: (k * 28 * 28,) uint8 and (k,) labels each.
        -> {'piece', 'sums' (float32), 'loss', 'predictions' (int32), 'fp': the fingerprint of the
        copy the sums were computed with, 'scored': the outcomes (uint8, 1 right) of the images
        scored since the last result, {'val', 'test'}, or None}, or {'piece', 'stale': why} when
        this copy is out of step."""
        try:
            if sync is not None:
                self.net, self.trainer, _ = pycore.from_json(sync)
                self.mine = None
            if share is not None:
                self._update(share)
            if self.trainer is None:
                raise OutOfStep('no run yet')
        except OutOfStep as e:
            self.net = self.trainer = self.mine = self.scored = None      # wait for the run to be sent anew
            return {'piece': piece, 'stale': str(e)}
        fp = fingerprint(self.trainer)
        C, H, W = self.net.input_shape
        x = to_float(np.asarray(x, dtype=np.uint8).reshape(-1, H, W))
        sums, loss, predictions = piece_sums(self.net, x, np.asarray(y), part, key, piece)
        self.mine = (serial, piece, sums)
        scored, self.scored, self.to_score = self.scored, None, score
        return {'piece': piece, 'sums': sums.astype(np.float32, copy=False), 'loss': float(loss), 'fp': fp,
                'predictions': None if predictions is None else predictions.astype(np.int32), 'scored': scored}

    def score(self):
        """Score the held-out images of the last job with this copy's weights (centre crop), for
        the next result. -> how many."""
        todo, self.to_score = self.to_score, None
        if todo is None or self.net is None:
            return 0
        C, H, W = self.net.input_shape
        out = {}
        for part in ('val', 'test'):
            x = np.asarray(todo[part + '_x'], dtype=np.uint8).reshape(-1, 28, 28)
            y = np.asarray(todo[part + '_y'])
            m = (28 - H) // 2
            right = self.net.forward(to_float(crop(x, H, m, m))).argmax(1) == y if len(y) else np.zeros(0, bool)
            out[part] = right.astype(np.uint8)
        self.scored = out
        return len(out['val']) + len(out['test'])

    def _update(self, share):
        if self.mine is None or self.mine[0] != share['serial']:
            raise OutOfStep(f'no piece of batch {share["serial"]} computed here')
        _, piece, sums = self.mine
        self.mine = None
        options = dict(share['options'])
        if options != self.trainer.options.__dict__:         # the page changed them meanwhile
            self.trainer.set(**options)
        pieces = sorted([(piece, sums), *zip(share['pieces'], share['sums'])], key=lambda p: p[0])
        apply_sums(self.trainer, [g for _, g in pieces], share['n'])


def from_js(value, dtype):
    """A JS typed array (in Pyodide), a buffer or an array -> a NumPy array of dtype."""
    if isinstance(value, np.ndarray):
        return value.astype(dtype, copy=False).ravel()
    if hasattr(value, 'to_bytes'):
        value = value.to_bytes()
    return np.frombuffer(value, dtype=dtype)


def field(msg, name):
    """A message's field: a dict's (CPython tests) or a JS object's; None if absent or null."""
    value = msg.get(name) if isinstance(msg, dict) else getattr(msg, name, None)
    return None if type(value).__name__ == 'JsNull' else value


def to_list(value):
    return value.to_py() if hasattr(value, 'to_py') else list(value)


HELPER = Helper()


def job(msg):
    """helper.js's one call: HELPER.job with the JS message converted, the result exported."""
    from bridge import export
    share = field(msg, 'share')
    if share is not None:
        options = field(share, 'options')
        share = {'serial': int(field(share, 'serial')), 'n': int(field(share, 'n')),
                 'options': options.to_py() if hasattr(options, 'to_py') else dict(options),
                 'pieces': [int(k) for k in to_list(field(share, 'pieces'))],
                 'sums': [from_js(g, np.float32) for g in to_list(field(share, 'sums'))]}
    sync, score = field(msg, 'sync'), field(msg, 'score')
    if score is not None:
        score = {k: from_js(field(score, k), np.uint8 if k.endswith('_x') else np.int32)
                 for k in ('val_x', 'val_y', 'test_x', 'test_y')}
    return export(HELPER.job(int(field(msg, 'serial')), int(field(msg, 'piece')), int(field(msg, 'part')),
                             [int(k) for k in to_list(field(msg, 'key'))],
                             from_js(field(msg, 'x'), np.uint8), from_js(field(msg, 'y'), np.int32),
                             sync=None if sync is None else str(sync), share=share, score=score))


def score():
    """helper.js's call after posting a result: HELPER.score."""
    return HELPER.score()
