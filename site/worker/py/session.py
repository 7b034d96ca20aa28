"""One training run in the page's worker: the net, its trainer, the data loaded so far, the running
statistics, test-set evaluation, and saving/loading the run (how it trains: stepping.py; the
example the network view shows and the layers' values for it: looking.py)."""
import gzip
import json
import zlib

import numpy as np

import pycore
from config import DEFAULT_TRAINER, TRAINERS, check_cost, check_options, options_of, settings
from datasets import IMAGE, Dataset, Window
from evaluation import Evaluation
from history import History
from looking import Looking
from pycore import PycoreError
from pycore.guard import Guard
from stepping import Stepping


class Session(Stepping, Looking):
    """One training run: the net, its trainer, the data loaded so far and the running statistics
    (how it trains, in slices: stepping.Stepping; what the views look at: looking.Looking)."""

    TRAIN_WINDOW = 2000
    VALIDATION_WINDOW = 500
    TEST_WINDOW = 500
    CHECKPOINT_EVERY = 250    # steps between the divergence guard's checkpoints (5,000 examples at batch 20)

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
        self._init_stepping()
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
        self._start_stepping()
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
        if raw[:2] == b'\x1f\x8b':          # as served (gzip); a host may have decoded it already
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError, zlib.error) as e:
                raise PycoreError(f'a {dataset} {kind} chunk is not a whole gzip file ({e})') from None
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
            self._drop_batches()  # a batch under way is dropped: its size no longer holds
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
        self._drop_batches()
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

    def _usable(self):
        """Indices of the loaded training images that are not held out for validation."""
        return self.ds.indices()[0]

    def _held_out(self):
        """Indices of the loaded training images held out for validation."""
        return self.ds.indices()[1]

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
