"""How a session trains: in slices of a few milliseconds of work, a batch at a time or in parts of
one, its pieces computed here or by helper workers; each slice's statistics, the held-out scoring
that goes with it, and the snapshot of the latest training example."""
import itertools
import json
import time

import numpy as np

import pycore
import pycore.parallel
from pycore import PycoreError
from pycore.data import random_crops, to_float

# Every net this worker starts gets its own number, across sessions too: a helper kept through
# "Start fresh" builds the net anew when the number changes (helpers.js).
NET_NUMBERS = itertools.count(1)


class Stepping:
    """The training half of session.Session, which it is mixed into. It reads the session's net,
    trainer, data (ds), random generators, accuracy windows, guard and history, and keeps the batch
    under way: batch, batch_rng, tally, crops, part; shards, ready, serial for the helpers (set up
    by _init_stepping and, for every new net, _start_stepping)."""

    EVAL_RATIO = 10           # score one validation and one test image per this many trained
    EVAL_BATCH = 40           # ...in batches of at least this many, as each forward call has a fixed cost
    PART_MS = 100             # a batch slower than this is trained in parts of about this long
    RATE = 1e9                # a training pass takes about work / RATE s per example in Pyodide (measured:
                              # 0.125 s for 89 M multiply-adds). Parts follow from the net, never from a
                              # timing, so that the same seed gives the same run.
    ELEMENTWISE = 20          # ...counting each value a layer outputs as this many multiply-adds

    def _init_stepping(self):
        """The state that outlives a net: the helpers' share of the batches."""
        self.shards = 1           # pieces per batch: this worker and shards - 1 helpers (set_workers)
        self.ready = set()        # the pieces whose helpers are up (set_ready)
        self.serial = 0           # batches drawn, so that a helper's late answer is recognised
        self.net_version = 0      # the net's number (NET_NUMBERS), so that helpers know when to build it anew
        self.crops = None         # the batch under way's crops (B, crop, crop) uint8, for the helpers

    def _start_stepping(self):
        """A new net (session._start): no batch under way, parts sized for its batch size."""
        self.batch = None         # a batch trained in parts, until its update is done (pycore.Batch)
        self.batch_rng = None     # the data order's state before that batch was drawn, for save()
        self.tally = None         # the statistics of the slice under way (train_for)
        self.net_version = next(NET_NUMBERS)
        self.part = self._part_size(self.options['batch_size'])

    def train_for(self, budget_ms, want_snapshot=False):
        """Train batches until `budget_ms` of work is done (at least one part of a batch).

        A batch whose training pass would take longer than PART_MS is trained in parts (pycore.Batch),
        one or more per call, so that the worker can answer a pause between them.
        Returns {'stats': ... or None, 'snapshot': ... or None}: stats None while a batch is under
        way and none finished; the snapshot only when asked for. None while no training data has
        arrived.

        With helpers (set_workers, set_ready) a call can also stop early, the slice going on in
        the next call: {'send': job} when a batch was drawn whose pieces the helpers compute (the
        worker posts the job, see job()), {'wait': serial} when only their results are missing (the
        worker hands them to add_shards). A slice that ends with helpers draws the next batch and
        returns its job first; its report is the next call's answer, so that the helpers compute
        while this worker scores, reports and yields.
        """
        usable = self._usable()
        if len(usable) == 0:
            return None
        if self.tally is not None and self.tally['due']:        # the slice is over; its next batch's job is out
            return self._report(want_snapshot)
        t = self.tally = self.tally or {'t0': time.perf_counter(), 'trained': 0, 'fwd': 0.0, 'bwd': 0.0,
                                        'loss': 0.0, 'batch': None, 'stop': False, 'due': False}
        elapsed = lambda: (time.perf_counter() - t['t0']) * 1000
        while not t['stop'] and not (t['trained'] and elapsed() >= budget_ms):   # add_shards may have ended it
            if self.batch is None:
                self._draw(usable)
                if self.batch.remote:
                    return {'send': self.job()}
            b = self.batch
            if b.waiting:
                return {'wait': self.serial}
            if b.advance(self.part):
                self._stepped(b)
            elif b.waiting:                                      # waiting costs no work: wait now
                return {'wait': self.serial}
            if elapsed() >= budget_ms:
                break
        if not t['trained']:
            self.tally = None
            return {'stats': None, 'snapshot': None, 'part': {'done': b.done, 'of': b.n, 'size': self.part}}
        if self.shards > 1 and self.batch is None and not t['stop']:
            # The next batch goes out before this slice's report (drawn whether or not the helpers
            # are up, so that the run does not depend on when they come up).
            self._draw(usable)
            if self.batch.remote:
                t['due'] = True
                return {'send': self.job()}
        return self._report(want_snapshot)

    def _draw(self, usable):
        """The next batch: B random training images, each randomly cropped, cut into one piece per
        worker (the same examples whatever the number of workers)."""
        d, B = self.ds, self.trainer.options.batch_size
        self.batch_rng = self.rng.bit_generator.state
        idx = usable[self.rng.integers(0, len(usable), B)]
        self.crops = random_crops(d.train.images[idx], self.crop, self.rng)      # (B, crop, crop) uint8
        pieces = pycore.parallel.piece_bounds(B, self.shards)
        self.serial += 1
        self.batch = pycore.Batch(self.trainer, to_float(self.crops), d.train.labels[idx], pieces=len(pieces),
                                  remote=self.ready & set(range(1, len(pieces))),
                                  key=(*(v if isinstance(v, int) and v >= 0 else 0 for v in (self.seed, self.net.seed)),
                                       self.trainer.steps))   # a loaded net's seed may be anything

    def job(self):
        """What the helpers need for the batch under way: its serial, the net (spec text, and a
        version that changes with it), the weights (flat float32), the part size, the dropout key
        and, per remote piece, its crops (n * crop * crop,) uint8 (flat: a JS typed array) and labels."""
        b = self.batch
        if getattr(self, '_spec_text', (None,))[0] != self.net_version:      # once per net, not per step
            self._spec_text = (self.net_version, json.dumps(self.net.spec))
        return {'serial': self.serial, 'net': {'version': self.net_version, 'spec': self._spec_text[1]},
                'weights': pycore.parallel.flat_params(self.net), 'part': self.part, 'key': list(b.key),
                'pieces': [{'piece': k, 'x': np.ascontiguousarray(self.crops[lo:hi]).ravel(), 'y': np.asarray(b.y[lo:hi], dtype=np.int32)}
                           for k, (lo, hi) in enumerate(b.bounds) if k in b.remote]}

    def add_shards(self, serial, results):
        """The helpers' results for batch `serial`: [(piece, gradient sums, loss sum, predictions)].
        Ignored (-> False) when that batch is gone (a reset, a new net, a load, a new batch size)."""
        b = self.batch
        if b is None or serial != self.serial:
            return False
        for piece, sums, loss, predictions in results:
            b.add(piece, sums, loss, predictions)
        if b.stats is not None:
            self._stepped(b)
        return True

    def take_back(self, serial, pieces):
        """Train these pieces of batch `serial` here after all (a helper is gone, so the job failed);
        set_ready says which helpers are still up."""
        if hasattr(pieces, 'to_py'):
            pieces = pieces.to_py()
        if self.batch is not None and serial == self.serial:
            for k in pieces:
                self.batch.take_back(int(k))
        return True

    MAX_WORKERS = 16

    def set_workers(self, n):
        """Cut every batch into n pieces, one per worker (this one and n - 1 helpers). A batch under
        way is drawn again, the same, and cut anew. No helper computes a piece until set_ready."""
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= self.MAX_WORKERS:
            raise PycoreError(f'workers must be a whole number from 1 to {self.MAX_WORKERS}, got {n!r}')
        if n != self.shards and self.batch is not None:
            self.rng.bit_generator.state = self.batch_rng
            self.batch = self.batch_rng = None
        self.shards = n
        self.ready &= set(range(1, n))
        return n

    def set_ready(self, pieces):
        """The pieces whose helpers are up (from the next batch on); the others are trained here."""
        if hasattr(pieces, 'to_py'):
            pieces = pieces.to_py()
        self.ready = set(int(k) for k in pieces) & set(range(1, self.shards))
        return sorted(self.ready)

    def _stepped(self, b):
        """A batch's update is done: its statistics join the slice's. -> True if the guard found a divergence."""
        t = self.tally
        self.batch = self.batch_rng = None
        self.train_acc.add(b.predictions == b.y)
        s = b.stats
        t['fwd'], t['bwd'], t['loss'] = t['fwd'] + s['fwd_ms'] * b.n, t['bwd'] + s['bwd_ms'] * b.n, t['loss'] + s['loss'] * b.n
        t['trained'] += b.n
        t['batch'] = b
        found = self.guard.after_step(s['loss'])
        if found and self.diverged is None:
            self._diverged(found)
            t['stop'] = True
        return t['stop']

    def _report(self, want_snapshot):
        """The slice's statistics (and the snapshot asked for); the next call starts a new slice."""
        t, self.tally = self.tally, None
        b, d, trained = t['batch'], self.ds, t['trained']
        x, y, s = b.x, b.y, b.stats
        self.last_example = (x[0], int(y[0]))
        snap = None
        if want_snapshot:
            # The latest training example (the last batch's first) is in the layers if this worker's
            # last pass began with it and no pass came after (a batch drawn ahead has had none):
            # then drawing it costs no extra pass.
            in_layers = b.last_pass == 0 and t['batch'] is b and (self.batch is None or self.batch.parts == 0)
            snap = (self._pack(pycore.snapshot(self.net, 0), self.net.layers[-1].out[0].ravel(), int(y[0]),
                               'the latest training example') if self.focus is None and in_layers
                    else self.snapshot())
        self._score_held_out(trained)
        rate = self.trainer.rate()
        loss = t['loss']
        chart = self.history.add(self.trainer.examples, loss, (s['l2_decay_loss'] + s['l1_decay_loss']) * trained, trained,
                                 (self.train_acc.mean(), self.val_acc.mean(), self.test_acc.mean()), rate)
        B = self.trainer.options.batch_size
        self.last = {'examples': self.trainer.examples, 'steps': self.trainer.steps,
                     'fwd_ms': t['fwd'] / trained, 'bwd_ms': t['bwd'] / trained, 'loss': loss / trained,
                     'l2_loss': s['l2_decay_loss'], 'l1_loss': s['l1_decay_loss'],
                     'train_accuracy': self.train_acc.mean(), 'validation_accuracy': self.val_acc.mean(),
                     'test_accuracy': self.test_acc.mean(), 'epochs': self.trainer.examples / len(self._usable()),
                     'train_loaded': d.train.count, 'test_loaded': d.test.count, 'test_count': len(d.test.labels),
                     'trained': trained, 'workers': self.shards, 'helping': len(self.ready),
                     'work_ms': (time.perf_counter() - t['t0']) * 1000, 'chart': chart, 'diverged': self.diverged,
                     'rate': rate,
                     'part': self.part if self.part < B else None}
        return {'stats': self.last, 'snapshot': snap}

    def _fitting(self, ms, share=1.0):
        """Examples whose pass fits in `ms`, from the net's estimated work (never from a timing, so
        runs repeat exactly): a training pass (share 1) or a forward pass alone (share 1/3)."""
        per_example_s = share * (self.cost['work'] + self.ELEMENTWISE * self.cost['values']) / self.RATE
        return max(1, int(ms / 1000 / per_example_s))

    def _part_size(self, B):
        """Examples per part of a batch of B: about PART_MS of training."""
        return min(B, self._fitting(self.PART_MS))

    def _score_held_out(self, trained):
        """Score a few random held-out images (centre crop) for the moving validation and test accuracy."""
        self.pending_eval += trained
        k = self.pending_eval // self.EVAL_RATIO
        rows = self._rows()
        if k < rows:
            return
        if rows < self.EVAL_BATCH:            # a slow net: score what fits in a part's time, skip the rest
            k = rows
            self.pending_eval = min(self.pending_eval, 2 * rows * self.EVAL_RATIO)
        self.pending_eval -= k * self.EVAL_RATIO
        d = self.ds
        val = self._held_out()
        if len(val):
            idx = val[self.eval_rng.integers(0, len(val), k)]
            self.val_acc.add(self.predict(d.train.images[idx]).argmax(1) == d.train.labels[idx])
        if d.test.count:
            idx = self.eval_rng.integers(0, d.test.count, k)
            self.test_acc.add(self.predict(d.test.images[idx]).argmax(1) == d.test.labels[idx])

    def _rows(self):
        """Images per forward pass for scoring: EVAL_BATCH, or fewer for a net so slow that a
        validation and a test pass would take longer than PART_MS."""
        return min(self.EVAL_BATCH, self._fitting(self.PART_MS / 2, share=1 / 3))

