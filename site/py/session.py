"""One training run in the page's worker: the net, its trainer, the data loaded so far, the running
statistics, the example the network view shows, test-set evaluation, and saving/loading the run."""
import json
import time

import numpy as np

import pycore
from config import DEFAULT_TRAINER, TRAINERS, check_cost, check_options, options_of, settings
from datasets import IMAGE, Dataset, Window
from evaluation import Evaluation
from history import History
from pycore import PycoreError
import pycore.parallel
from pycore.data import crop, prepare_digit, random_crops, to_float
from pycore.guard import Guard



class Session:
    """One training run: the net, its trainer, the data loaded so far and the running statistics."""

    TRAIN_WINDOW = 2000
    VALIDATION_WINDOW = 500
    TEST_WINDOW = 500
    EVAL_RATIO = 10           # score one validation and one test image per this many trained
    EVAL_BATCH = 40           # ...in batches of at least this many, as each forward call has a fixed cost
    CHECKPOINT_EVERY = 250    # steps between the divergence guard's checkpoints (5,000 examples at batch 20)
    PART_MS = 100             # a batch slower than this is trained in parts of about this long
    RATE = 1e9                # a training pass takes about work / RATE s per example in Pyodide (measured:
                              # 0.125 s for 89 M multiply-adds). Parts follow from the net, never from a
                              # timing, so that the same seed gives the same run.
    ELEMENTWISE = 20          # ...counting each value a layer outputs as this many multiply-adds

    def __init__(self, datasets, dataset='mnist', spec=None, trainer=None, seed=0):
        """datasets: name -> {'title', 'classes', 'train_count', 'test_count'} (the data manifest)."""
        if dataset not in datasets:
            raise PycoreError(f'this build has no dataset {dataset!r}; it has {", ".join(datasets)}')
        self.meta = datasets
        self.seed = seed
        self.data = {dataset: Dataset(dataset, datasets[dataset], seed)}
        self.ds = self.data[dataset]
        self.options = dict(trainer or TRAINERS[DEFAULT_TRAINER]['options'])
        self.focus = None
        self.last_example = None  # (x (C, H, W) float32, label) of the latest training batch
        self.last_eval = None
        self.shards = 1           # pieces per batch: this worker and shards - 1 helpers (set_workers)
        self.ready = set()        # the pieces whose helpers are up (set_ready)
        self.serial = 0           # batches drawn, so that a helper's late answer is recognised
        self.net_version = 0      # nets started, so that helpers know when to build the net anew
        self.crops = None         # the batch under way's crops (B, crop, crop) uint8, for the helpers
        self._start(*self._build(spec or pycore.CONVNETJS_MNIST, seed))

    def _build(self, spec, seed):
        """(a net from a spec (a list or JSON text), its cost), refused before anything is allocated
        if its memory or work is above the page's limits (config.check_cost)."""
        if isinstance(spec, str):
            spec = pycore.spec.parse(spec)
        cost = check_cost(spec, self.options)
        return pycore.Net.from_spec(spec, seed=seed), cost

    def _start(self, net, cost=None, trainer=None):
        """Make `net` the one being trained, with fresh statistics; cost: check_cost's for it with
        the session's options (computed here when not given, as for a loaded run)."""
        self._check_fits(net)
        self.cost = cost or check_cost(net.spec, trainer.options.__dict__ if trainer else self.options)
        self.net = net
        self.trainer = trainer or pycore.Trainer(net, **self.options)
        self.options = dict(self.trainer.options.__dict__)
        self.batch = None         # a batch trained in parts, until its update is done (pycore.Batch)
        self.batch_rng = None     # the data order's state before that batch was drawn, for save()
        self.tally = None         # the statistics of the slice under way (train_for)
        self.net_version += 1
        self.part = self._part_size(self.options['batch_size'])
        self.rng = np.random.default_rng([self.seed, net.seed])
        self.eval_rng = np.random.default_rng([self.seed, net.seed, 1])
        self.train_acc = Window(self.TRAIN_WINDOW)
        self.val_acc = Window(self.VALIDATION_WINDOW)
        self.test_acc = Window(self.TEST_WINDOW)
        self.pending_eval = 0
        self.evaluation = None
        self.last = {}
        self.history = History(self.trainer.examples)
        last = net.layers[-1]
        self.guard = Guard(self.trainer, every=self.CHECKPOINT_EVERY,
                           chance=float(np.log(net.num_outputs)) if last.type == 'softmax' else None)
        self.diverged = None      # what the guard found, until a rollback or going on

    @classmethod
    def from_config(cls, datasets, config):
        """A session from the page's URL state (see config.settings). A value pycore rejects is left
        out and reported. -> (session, notes), notes: [{'key', 'value', 'why'}]."""
        base, specs, notes = settings(datasets, config)
        for key, value, spec in specs:    # a spec wins over a preset, as it is more specific
            try:
                return cls(datasets, spec=spec, **base), notes
            except PycoreError as e:      # valid, but it does not fit the images
                notes.append({'key': key, 'value': str(value), 'why': str(e)})
        return cls(datasets, **base), notes

    def _check_fits(self, net):
        C, H, W = net.input_shape
        if C != 1 or H != W or H > IMAGE:
            raise PycoreError(f'the input layer must be at most {IMAGE}x{IMAGE}x1 and square: the images are '
                              f'{IMAGE}x{IMAGE} grayscale and get randomly cropped to the input size '
                              f'(got {W}x{H}x{C})')
        last = net.layers[-1]
        K = len(self.ds.classes)
        if last.type not in ('softmax', 'svm') or net.num_outputs != K:
            raise PycoreError(f'the last layer must be softmax or svm with num_classes {K}: {self.ds.title} has '
                              f'{K} classes')

    @property
    def crop(self):
        return self.net.input_shape[1]

    def add_chunk(self, dataset, kind, raw, count):
        if hasattr(raw, 'to_bytes'):      # a JS Uint8Array arriving from the worker
            raw = raw.to_bytes()
        if dataset not in self.data:
            self.data[dataset] = Dataset(dataset, self.meta[dataset], self.seed)
        d = self.data[dataset]
        (d.train if kind == 'train' else d.test).add(raw, count)

    def take_data(self, other):
        """Use the images `other` (a session with the same seed, so the same validation split) has loaded."""
        if other.seed != self.seed:
            raise PycoreError(f'the data was split with seed {other.seed}, this session uses {self.seed}')
        self.data = {**other.data, **{k: d for k, d in self.data.items() if k not in other.data}}
        self.ds = self.data[self.ds.name]
        return True

    def loaded(self, dataset):
        d = self.data.get(dataset)
        return (d.train.count, d.test.count) if d else (0, 0)

    def dataset_name(self):
        return self.ds.name

    def examples(self):
        return self.trainer.examples

    def take_notes(self):
        """What from_config rejected (once): [{'key', 'value', 'why'}]."""
        notes, self.notes = getattr(self, 'notes', []), []
        return notes

    def describe(self):
        """The net for the page: per layer type, output shape (C, H, W), geometry, formulas."""
        out = []
        for layer, d in zip(self.net.layers, self.net.describe()):
            out.append({'type': d['type'], 'src': d['src'], 'shape': list(d['out_shape']), 'formula': d['formula'],
                        'params': d['params'], 'params_formula': d['params_formula'],
                        'geometry': {k: d[k] for k in ('sx', 'sy', 'stride', 'pad', 'filters', 'num_neurons',
                                                       'drop_prob', 'alpha', 'seed') if k in d and d[k] is not None},
                        'weight_shapes': {k: list(v.shape) for k, v in layer.params.items()}})
        return {'layers': out, 'spec': json.dumps(self.net.spec, indent=1), 'options': self.options,
                'dataset': self.ds.name, 'seed': self.seed, 'classes': self.ds.classes, 'param_count': int(self.net.param_count()),
                'examples': self.trainer.examples, 'train_count': len(self.ds.train.labels),
                'test_count': len(self.ds.test.labels), 'cost': self.cost}

    def memory(self):
        """The net's memory and work estimate (config.check_cost) at the current trainer options."""
        return self.cost

    @staticmethod
    def plan(spec):
        """What a spec (JSON text or a list) would build, without building it: every layer's type, the
        index of the spec's layer it comes from, input and output shapes (C, H, W), formulas and
        parameters. Raises PycoreError for a spec pycore rejects."""
        if hasattr(spec, 'to_py'):
            spec = spec.to_py()
        layers = pycore.plan(pycore.spec.parse(spec) if isinstance(spec, str) else spec)
        keys = ('type', 'src', 'formula', 'params', 'params_formula')
        return {'layers': [{**{k: d[k] for k in keys}, 'in_shape': list(d['in_shape']), 'out_shape': list(d['out_shape'])}
                           for d in layers], 'param_count': sum(d['params'] for d in layers)}

    def set_options(self, options):
        if hasattr(options, 'to_py'):
            options = options.to_py()
        options = {**self.options, **options}
        check_options(options)
        cost = check_cost(self.net.spec, options)
        if options['batch_size'] != self.options['batch_size']:
            self.batch = None     # a batch in parts is dropped: its size no longer holds
        self.trainer.set(**options)
        self.options = dict(self.trainer.options.__dict__)
        self.cost = cost
        self.part = self._part_size(self.options['batch_size'])
        return self.options

    def apply_url_options(self, config):
        """After loading a run (the pretrained one): the trainer options the page's URL sets win."""
        options = options_of(config)
        return self.set_options(options) if options else self.options

    def change_spec(self, text):
        """Train a new net from spec text (JSON); the current one keeps training if it is invalid."""
        self._start(*self._build(text, self.net.seed))
        return self.describe()

    def reset(self):
        """Fresh weights (a new seed) for the same spec; statistics start over."""
        self._start(*self._build(self.net.spec, self.net.seed + 1))
        return self.describe()

    def switch_dataset(self, name):
        if name not in self.meta:
            raise PycoreError(f'this build has no dataset {name!r}')
        if name not in self.data:
            self.data[name] = Dataset(name, self.meta[name], self.seed)
        self.ds = self.data[name]
        self.focus = None
        return self.reset()

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
        worker hands them to add_shards). A slice's report can carry a 'send' too: the next batch's.
        """
        usable = self._usable()
        if len(usable) == 0:
            return None
        t = self.tally = self.tally or {'t0': time.perf_counter(), 'trained': 0, 'fwd': 0.0, 'bwd': 0.0,
                                        'loss': 0.0, 'batch': None, 'stop': False}
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
        ahead = None
        if self.shards > 1 and self.batch is None and not t['stop']:
            # The next batch goes out before this slice's report, so that the helpers compute their
            # pieces of it while this worker reports, scores and yields. Drawn whether or not they
            # are up, so that the run does not depend on when they come up.
            self._draw(usable)
            ahead = self.job() if self.batch.remote else None
        out = self._report(want_snapshot)
        return {**out, 'send': ahead} if ahead else out

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

    def _diverged(self, found):
        """Say in numbers what went wrong, and mark it on the charts."""
        o = self.trainer.options
        rate = 'adadelta' if o.method == 'adadelta' else f'learning rate {o.learning_rate:g} ({o.method})'
        steps = f'{found["steps"]:,} step{"s" if found["steps"] != 1 else ""}'
        self.diverged = {**found, 'method': o.method, 'learning_rate': o.learning_rate,
                         'text': f'{found["reason"]} in {steps} at {rate}'}
        self.history.mark(found['examples'], 'diverged')

    def rollback(self):
        """Back to the divergence guard's last good checkpoint (weights and update-rule buffers,
        exactly), with the trainer options as they are now. -> describe() plus 'rolled_back'."""
        back = self.guard.rollback()
        self.batch = self.batch_rng = None
        self.history.truncate(back['examples'])
        self.history.mark(back['examples'], 'rolled back')
        self.diverged = None
        return {**self.describe(), 'rolled_back': back}

    def go_on(self):
        """Keep training after a divergence without rolling back: the guard learns the level afresh."""
        self.guard.accept()
        self.diverged = None
        return True

    def charts(self):
        """The charts' history since this net started: {'loss': [points], 'accuracy': [points]}."""
        return self.history.points

    def clear_charts(self):
        self.history.clear()
        return True

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

    def _centre(self, images):
        """(N, 28, 28) uint8 -> (N, 1, crop, crop) float32: the centre crop the net is scored on."""
        m = (IMAGE - self.crop) // 2
        return to_float(crop(images, self.crop, m, m))

    def predict(self, images):
        """(N, 28, 28) uint8 -> (N, K) class probabilities (centre crop)."""
        return self.net.forward(self._centre(images))

    def set_focus(self, kind, index=None, pixels=None, width=None, height=None):
        """Choose the example the network view shows: 'training' (the latest training example),
        'test' (test image `index`) or 'custom' (a grayscale picture in [0, 1], preprocessed
        like MNIST). Returns the 28x28 image, its label (or None) and a description."""
        if kind == 'training':
            self.focus = None
            return {'kind': kind, 'description': 'the latest training example'}
        if kind == 'test':
            index = int(index)
            if not 0 <= index < self.ds.test.count:
                raise PycoreError(f'test image {index} is not loaded')
            image, label = self.ds.test.images[index], int(self.ds.test.labels[index])
            description = f'test image #{index}'
        elif kind == 'custom':
            if hasattr(pixels, 'to_py'):
                pixels = pixels.to_py()
            gray = np.asarray(pixels, dtype=np.float32).reshape(int(height), int(width))
            image, label, description = prepare_digit(gray), None, 'your image'
        else:
            raise PycoreError(f'unknown example kind {kind!r}')
        self.focus = {'kind': kind, 'index': index, 'image': image, 'label': label, 'description': description}
        return {'kind': kind, 'index': index, 'image': image.ravel(), 'label': label, 'description': description}

    def snapshot(self):
        """What every layer holds for the focus example (or the latest training example), or None:
        {'label', 'source', 'probs', 'layers': [{'type', 'shape', 'act', 'grad', 'weights', 'wgrads'}]},
        each array part being {'data': flat float32, 'shape', 'min', 'max'}."""
        f = self.focus
        if f is not None:
            x, label = self._centre(f['image'][None])[0], f['label']
        elif self.last_example is not None and self.last_example[0].shape == self.net.input_shape:
            x, label = self.last_example
        else:
            return None
        probs, layers = pycore.inspect(self.net, x, label)
        return self._pack(layers, probs, label, f['description'] if f else 'the latest training example')

    def inspect_test(self, index):
        """Every layer for test image `index`, run now with the current weights (so that weights and
        activations agree, as a lesson's arithmetic needs), without changing the focus."""
        index = int(index)
        if not 0 <= index < self.ds.test.count:
            raise PycoreError(f'test image {index} is not loaded')
        label = int(self.ds.test.labels[index])
        probs, layers = pycore.inspect(self.net, self._centre(self.ds.test.images[index][None])[0], label)
        return self._pack(layers, probs, label, f'test image #{index}')

    def inspect_custom(self, pixels, width, height):
        """Every layer for a picture of the user's (grayscale in [0, 1], prepared like MNIST), with the
        current weights; no label, so no gradients. Adds 'image': the prepared 28x28 uint8 image."""
        if hasattr(pixels, 'to_py'):
            pixels = pixels.to_py()
        image = prepare_digit(np.asarray(pixels, dtype=np.float32).reshape(int(height), int(width)))
        probs, layers = pycore.inspect(self.net, self._centre(image[None])[0])
        return {**self._pack(layers, probs, None, 'your drawing'), 'image': image.ravel()}

    def first_test_of(self, label):
        """The index of the first loaded test image of class `label`, or -1 while none has arrived."""
        idx = np.flatnonzero(self.ds.test.labels[:self.ds.test.count] == int(label))
        return int(idx[0]) if len(idx) else -1

    def _usable(self):
        """Indices of the loaded training images that are not held out for validation."""
        return self.ds.indices()[0]

    def _held_out(self):
        """Indices of the loaded training images held out for validation."""
        return self.ds.indices()[1]

    @staticmethod
    def _pack(layers, probs, label, source):
        return {'label': label, 'source': source, 'probs': np.asarray(probs, dtype=np.float32),
                'layers': [{'type': L['type'], 'shape': L['shape'], 'act': L['activations'],
                            'grad': L['gradients'], 'weights': L['weights'] or None,
                            'wgrads': L['weight_gradients'] or None} for L in layers]}

    def cards(self, n=12):
        """n random test images with their top-3 predicted classes."""
        d = self.ds
        if d.test.count == 0:
            return []
        idx = self.eval_rng.choice(d.test.count, size=min(n, d.test.count), replace=False)
        probs = self.predict(d.test.images[idx])
        top = np.argsort(-probs, axis=1)[:, :3]
        return [{'index': int(i), 'image': d.test.images[i].ravel(), 'label': int(d.test.labels[i]),
                 'top': [[int(c), float(p[c])] for c in t]} for i, p, t in zip(idx, probs, top)]

    def start_evaluation(self):
        """Begin scoring every loaded test image; evaluation_step does the work in slices."""
        self.evaluation = Evaluation(self.ds.test, self.ds.classes, self.trainer.examples)

    def evaluation_step(self, budget_ms, batch=40):
        """Continue the evaluation; returns None while it runs, then the result (once)."""
        e = self.evaluation
        if e is None:
            return None
        rows = self._rows()
        if rows < self.EVAL_BATCH:                    # a slow net: passes of about PART_MS
            batch = min(batch, 2 * rows)
        if not e.step(self.predict, budget_ms, batch):
            return None
        self.evaluation = None
        result, self.last_eval = e.result()
        return result

    def cell(self, true, pred, limit=60):
        """Test images of true class `true` predicted as `pred` in the last evaluation."""
        if self.last_eval is None:
            raise PycoreError('no evaluation of the test set yet')
        return self.last_eval.cell(true, pred, limit)

    def save(self, page=None):
        """The whole run as JSON text; `page` is whatever the page wants back on load (its charts)."""
        # A batch under way is saved as not drawn yet: the loaded run draws it again, the same.
        rng = self.rng.bit_generator.state if self.batch is None else self.batch_rng
        state = {'dataset': self.ds.name, 'seed': self.seed, 'rng': _rng_out(rng),
                 'eval_rng': _rng_out(self.eval_rng.bit_generator.state), 'pending_eval': self.pending_eval,
                 'windows': [list(w.values) for w in (self.train_acc, self.val_acc, self.test_acc)],
                 **self.history.to_state()}
        if hasattr(page, 'to_py'):
            page = page.to_py()
        return pycore.to_json(self.net, self.trainer, extra={'session': state, 'page': page})

    def load(self, text):
        """Continue a saved run exactly where it was. Returns describe() plus the saved 'page' value."""
        net, trainer, extra = pycore.from_json(text)
        if trainer is None:
            raise PycoreError('the file holds a net but no trainer state; save a run from this page')
        try:
            state = extra['session']
            name = state['dataset']
        except (TypeError, KeyError):
            raise PycoreError('the file is a pycore run but not one saved from this page') from None
        if name not in self.meta:
            raise PycoreError(f'the run was trained on {name!r}, which this build does not have')
        previous = dict(self.__dict__)      # a file that fails half-way leaves the run as it was
        if name not in self.data:
            self.data[name] = Dataset(name, self.meta[name], self.seed)
        self.ds = self.data[name]
        self.options = dict(trainer.options.__dict__)
        try:
            self._start(net, trainer=trainer)
            self.rng.bit_generator.state = _rng_in(state['rng'])
            self.eval_rng.bit_generator.state = _rng_in(state['eval_rng'])
            self.pending_eval = int(state['pending_eval'])
            self.train_acc, self.val_acc, self.test_acc = (
                Window(size, values) for size, values in zip(
                    (self.TRAIN_WINDOW, self.VALIDATION_WINDOW, self.TEST_WINDOW), state['windows']))
            self.history = History.from_state(state, extra.get('page'), trainer.examples)
        except (KeyError, TypeError, ValueError) as e:
            self.__dict__.update(previous)
            raise PycoreError(f'the saved session state is malformed: {e}') from None
        except PycoreError:
            self.__dict__.update(previous)
            raise
        return {**self.describe(), 'page': extra.get('page')}


def _rng_out(state):
    """A generator's state as JSON values, its big integers as strings."""
    return json.loads(json.dumps(state), parse_int=str)


def _rng_in(state):
    if isinstance(state, dict):
        return {k: _rng_in(v) for k, v in state.items()}
    return int(state) if isinstance(state, str) and state.lstrip('-').isdigit() else state
