"""How a session trains: in slices of a few milliseconds of work, a batch at a time or in parts of
one, its pieces computed here or by helper workers; each slice's statistics, the held-out scoring
that goes with it, and the snapshot of the latest training example.

With helpers, every worker keeps its own copy of the run (site/worker/py/helper.py). For each batch this
worker sends each helper its piece's crops; each computes its piece's gradient sums; the helper's
come back here, this worker's own go out with the next batch's job (its 'share'), and every worker
adds them all in piece order and makes the same update. So one batch costs one exchange, and a
helper starts the next batch without waiting for this worker's update. A helper not in step (new,
or after a reset, a load, a rollback) is sent the whole run instead ('sync')."""
import time

import numpy as np

import pycore
import pycore.parallel
from pycore import PycoreError
from pycore.data import random_crops, to_float

class Stepping:
    """The training half of session.Session, which it is mixed into. It reads the session's net,
    trainer, data (ds), random generators, accuracy windows, guard and history, and keeps the batch
    under way: batch, batch_rng, ahead, ahead_rng, unshared, tally, part; shards, ready, serial for
    the helpers (set up by _init_stepping and, for every new net, _start_stepping)."""

    EVAL_RATIO = 10           # score one validation and one test image per this many trained
    EVAL_BATCH = 40           # ...in batches of at least this many, as each forward call has a fixed cost
    HELPER_EVAL = 8           # with helpers up, a helper scores them, this many of each at least, after its
                              # piece of a batch (while it would wait for the next): not in this worker's time
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
        self.out_of_step = 0      # helper results refused as computed from another copy (never, if all is well)

    def _start_stepping(self):
        """A new net (session._start): no batch under way, parts sized for its batch size."""
        self.tally = None         # the statistics of the slice under way (train_for)
        self._drop_batches()
        self.part = self._part_size(self.options['batch_size'])

    def _drop_batches(self):
        """No batch under way or drawn ahead, and no helper in step: the next job sends the run."""
        self.batch = None         # the batch under way, until its update is done (pycore.Batch)
        self.batch_rng = None     # the data order's state before that batch was drawn, for save()
        self.ahead = None         # with helpers: the next batch, drawn while this one's pieces come in
        self.ahead_rng = None
        self.unshared = None      # an updated batch whose helpers still need its other pieces' sums

    def train_for(self, budget_ms, want_snapshot=False):
        """Train batches until `budget_ms` of work is done (at least one part of a batch).

        A batch whose training pass would take longer than PART_MS is trained in parts (pycore.Batch),
        one or more per call, so that the worker can answer a pause between them.
        Returns {'stats': ... or None, 'snapshot': ... or None}: stats None while a batch is under
        way and none finished; the snapshot only when asked for. None while no training data has
        arrived.

        With helpers (set_workers, set_ready) a call can also stop early, the slice going on in
        the next call: {'send': {'serial', 'jobs'}} when a batch was drawn whose pieces the helpers
        compute (the worker posts each job to its helper, see _jobs), {'wait': serial} when only
        their results are missing (the worker hands them to add_shards). Once this worker's pieces
        of a batch are done, the next batch is drawn and its jobs go out with them (each helper then
        updates and goes on at once). A slice that ends with helpers and no batch drawn draws the
        next and returns its jobs first; its report is the next call's answer, so that the helpers
        compute while this worker scores, reports and yields.
        """
        usable = self._usable()
        if len(usable) == 0:
            return None
        if self.tally is not None and self.tally['due']:        # the slice is over; its next batch's jobs are out
            return self._report(want_snapshot)
        t = self.tally = self.tally or {'t0': time.perf_counter(), 'trained': 0, 'fwd': 0.0, 'bwd': 0.0,
                                        'loss': 0.0, 'batch': None, 'stop': False, 'due': False}
        elapsed = lambda: (time.perf_counter() - t['t0']) * 1000
        while not t['stop'] and not (t['trained'] and elapsed() >= budget_ms):   # add_shards may have ended it
            if self.batch is None:
                send = self._draw_next(usable)
                if send:
                    return send
            b = self.batch
            if b.waiting:
                if self._can_draw_ahead(b):
                    return self._draw_ahead(usable)
                return {'wait': b.serial}
            if b.advance(self.part):
                self._stepped(b)
            elif b.waiting:                                      # waiting costs no work: wait (or send) now
                return self._draw_ahead(usable) if self._can_draw_ahead(b) else {'wait': b.serial}
            if elapsed() >= budget_ms:
                break
        if not t['trained']:
            self.tally = None
            return {'stats': None, 'snapshot': None, 'part': {'done': b.done, 'of': b.n, 'size': self.part}}
        if self.shards > 1 and self.batch is None and not t['stop']:
            # The next batch goes out before this slice's report (drawn whether or not the helpers
            # are up, so that the run does not depend on when they come up).
            send = self._draw_next(usable)
            if send:
                t['due'] = True
                return send
        return self._report(want_snapshot)

    def _draw(self, usable, ahead=False):
        """A new batch: B random training images, each randomly cropped, cut into one piece per
        worker (the same examples whatever the number of workers), the pieces of the helpers that
        are up to be computed by them. -> (batch, its crops (B, crop, crop) uint8).
        ahead: drawn before the update of the batch under way, which comes first (its key counts it)."""
        d, B = self.ds, self.trainer.options.batch_size
        rng = self.rng.bit_generator.state
        idx = usable[self.rng.integers(0, len(usable), B)]
        crops = random_crops(d.train.images[idx], self.crop, self.rng)      # (B, crop, crop) uint8
        pieces = pycore.parallel.piece_bounds(B, self.shards)
        remote = self.ready & set(range(1, len(pieces)))
        if ahead:
            remote &= self.batch.remote
        self.serial += 1
        b = pycore.Batch(self.trainer, to_float(crops), d.train.labels[idx], pieces=len(pieces), remote=remote,
                         key=(*(v if isinstance(v, int) and v >= 0 else 0 for v in (self.seed, self.net.seed)),
                              self.trainer.steps + ahead))   # a loaded net's seed may be anything
        b.serial = self.serial
        if ahead:
            self.ahead, self.ahead_rng = b, rng
        else:
            self.batch, self.batch_rng = b, rng
        return b, crops

    def _draw_next(self, usable):
        """Draw the batch to train now. -> the 'send' of its jobs, or None when no helper is up."""
        b, crops = self._draw(usable)
        prev, self.unshared = self.unshared, None
        return {'send': self._jobs(b, crops, prev)} if b.remote else None

    def _can_draw_ahead(self, b):
        """The next batch can be drawn and sent while b's helpers compute: b's only helper piece
        is missing (so its helper can update as soon as it gets ours), and no helper that came up
        since waits to join (it joins with a batch drawn after b's update, with the run)."""
        return (self.ahead is None and len(b.remote) == 1 and not self.tally['stop']
                and b.share(next(iter(b.remote))) is not None
                and self.ready & set(range(1, len(b.bounds))) <= b.remote)

    def _draw_ahead(self, usable):
        b = self.batch
        ahead, crops = self._draw(usable, ahead=True)
        return {'send': self._jobs(ahead, crops, b)}

    def _jobs(self, b, crops, prev):
        """A job per remote piece of batch b: its serial, piece, part size, dropout key, crops
        (n * crop * crop,) uint8 (flat: a JS typed array) and labels; for a helper that computed a
        piece of `prev` (the batch before b), prev's other pieces ('share'), else the whole run ('sync')."""
        jobs, run = [], None
        score = self._held_out_job()
        for k in sorted(b.remote):
            lo, hi = b.bounds[k]
            job = {'serial': b.serial, 'piece': k, 'part': self.part, 'key': list(b.key),
                   'x': np.ascontiguousarray(crops[lo:hi]).ravel(), 'y': np.asarray(b.y[lo:hi], dtype=np.int32),
                   'sync': None, 'share': None, 'score': score}
            score = None                          # (one helper scores them)
            share = prev.share(k) if prev is not None and k in prev.remote else None
            if share is not None:
                job['share'] = {'serial': prev.serial, 'n': prev.n, 'options': dict(self.trainer.options.__dict__),
                                'pieces': [p for p, _ in share], 'sums': [g for _, g in share]}
            else:
                # The run as it is now: only sent while no earlier batch is still to be updated.
                assert self.batch is b, 'a helper out of step cannot join a batch drawn ahead'
                run = run or pycore.to_json(self.net, self.trainer)
                job['sync'] = run
            jobs.append(job)
        return {'serial': b.serial, 'jobs': jobs}

    def _held_out_job(self):
        """The held-out images a helper scores with its job, once HELPER_EVAL of each are due:
        {'val_x', 'test_x': (k * 28 * 28,) uint8, 'val_y', 'test_y': (k,) int32}, or None."""
        k = min(self.pending_eval // self.EVAL_RATIO, self.EVAL_BATCH)
        if not self._helpers_score() or k < self.HELPER_EVAL:
            return None
        self.pending_eval -= k * self.EVAL_RATIO
        d, val = self.ds, self._held_out()
        vi = val[self.eval_rng.integers(0, len(val), k)] if len(val) else np.zeros(0, int)
        ti = self.eval_rng.integers(0, d.test.count, k) if d.test.count else np.zeros(0, int)
        return {'val_x': np.ascontiguousarray(d.train.images[vi]).ravel(), 'val_y': d.train.labels[vi].astype(np.int32),
                'test_x': np.ascontiguousarray(d.test.images[ti]).ravel(), 'test_y': d.test.labels[ti].astype(np.int32)}

    def _helpers_score(self):
        """Helpers score the held-out images while one is up (and the net is fast enough that they
        are scored EVAL_BATCH at a time; a slow net's are scored here, as few as fit)."""
        return bool(self.ready & set(range(1, self.shards))) and self._rows() == self.EVAL_BATCH

    def add_shards(self, serial, results):
        """The helpers' results for batch `serial`: [(piece, gradient sums, loss sum, predictions,
        fingerprint or None, stale: why or None, scored: (validation, test) outcomes or None)]. A
        result computed from a copy that is not this one (its fingerprint differs, or the helper
        found itself out of step) is refused: its piece is trained here and its helper gets the
        whole run with its next job. `scored`: the held-out images of an earlier job, scored after it.
        Ignored (-> False) when that batch is gone (a reset, a new net, a load, a new batch size)."""
        b = self.batch
        if b is None or serial != b.serial:
            return False
        fp = None
        for piece, sums, loss, predictions, their_fp, stale, scored in results:
            if piece not in b.remote:             # taken back meanwhile
                continue
            if not stale:
                fp = pycore.parallel.fingerprint(self.trainer) if fp is None else fp
            if not stale and their_fp == fp and scored is not None:
                self.val_acc.add(scored[0])
                self.test_acc.add(scored[1])
            if stale or their_fp != fp:
                # Trained here; so is its piece of the batch drawn ahead (computed from the same
                # copy): the next batch drawn sends it the run.
                self.out_of_step += 1
                for batch in (b, self.ahead):
                    if batch is not None:
                        batch.take_back(piece)
                continue
            b.add(piece, sums, loss, predictions)
        if b.stats is not None:
            self._stepped(b)
        return True

    def take_back(self, serial, pieces):
        """Train these pieces of batch `serial` here after all (a helper is gone, so the job failed);
        set_ready says which helpers are still up."""
        if hasattr(pieces, 'to_py'):
            pieces = pieces.to_py()
        for b in (self.batch, self.ahead):
            if b is not None and serial == b.serial:
                for k in pieces:
                    b.take_back(int(k))
        return True

    MAX_WORKERS = 16

    def set_workers(self, n):
        """Cut every batch into n pieces, one per worker (this one and n - 1 helpers). A batch under
        way is drawn again, the same, and cut anew. No helper computes a piece until set_ready."""
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= self.MAX_WORKERS:
            raise PycoreError(f'workers must be a whole number from 1 to {self.MAX_WORKERS}, got {n!r}')
        if n != self.shards:
            if self.batch is not None:
                self.rng.bit_generator.state = self.batch_rng
            self._drop_batches()      # (and the helpers are new: they are sent the run)
        self.shards = n
        self.ready &= set(range(1, n))
        return n

    def set_ready(self, pieces):
        """The pieces whose helpers are up (from the next batch on); the others are trained here."""
        if hasattr(pieces, 'to_py'):
            pieces = pieces.to_py()
        self.ready = set(int(k) for k in pieces) & set(range(1, self.shards))
        if self.unshared is not None:     # a helper gone meanwhile (or restarted) is sent the run
            self.unshared.remote &= self.ready
        return sorted(self.ready)

    def _stepped(self, b):
        """A batch's update is done: its statistics join the slice's. -> True if the guard found a divergence."""
        t = self.tally
        self.batch, self.batch_rng, self.ahead, self.ahead_rng = self.ahead, self.ahead_rng, None, None
        # Its helpers make the same update once they get its other pieces: with the batch drawn
        # ahead (sent already), or with the next one drawn.
        self.unshared = b if b.remote and self.batch is None else None
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
                     'trained': trained, 'workers': self.shards, 'helping': len(self.ready), 'out_of_step': self.out_of_step,
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
        if k < rows or self._helpers_score():     # (a helper scores them: _held_out_job)
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

