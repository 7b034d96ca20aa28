"""The page's URL settings of a run, checked: trainer options within the page's limits, the dataset,
the seed, and a spec or preset. What pycore rejects is reported, never raised."""
import pycore
from pycore import PycoreError, cost
from presets import PRESETS

OPTION_KEYS = ('method', 'learning_rate', 'momentum', 'batch_size', 'l1_decay', 'l2_decay',
               'schedule', 'step_size', 'gamma', 'total_steps', 'min_rate', 'warmup_steps')
MAX_BATCH = 1000              # the page's limit on batch_size (the control's and the URL's)
MAX_MEMORY = 1_000_000_000    # bytes a net may need for one training batch (pycore.cost.estimate)
MAX_WORK = 100_000_000        # multiply-adds per example: one example's training pass stays well under 1 s
MAX_PARAMS = 250_000          # parameters: saving the run (weights and the update rule's buffers) blocks
                              # the worker for ~1.5 us per parameter in Pyodide, 0.4 s at this limit



def complete_options(**options):
    """Every option of OPTION_KEYS: `options` over pycore's defaults, so that choosing a named
    trainer sets all of them (a schedule left over from another trainer would be wrong)."""
    defaults = pycore.TrainerOptions()
    return {k: options.get(k, getattr(defaults, k)) for k in OPTION_KEYS}


# The page's named trainers (the URL's `trainer`, the controls' "Trainer" menu). The default is the
# fastest to 98% on the whole test set in wall-clock time on the page, measured with
# `python3 bench/trainers.py` (BENCHMARKS.md has the table), among batches of at most
# MAX_DEFAULT_BATCH; ConvNetJS's own stays one click away.
MAX_DEFAULT_BATCH = 32   # the worker draws the views between batches: at batch 64 (nesterov, 21 s to
                         # 98%, the fastest) they refreshed 8.8 times/s, under the page's 10 Hz target
def describe_trainer(o):
    """Trainer options in a few words, e.g. 'adadelta, batch 20, L2 0.001'."""
    text = o['method']
    if o['method'] != 'adadelta':
        rate = f'{o["learning_rate"]:g}'
        if o['schedule'] == 'cosine':
            rate += f' cosine-decayed to {o["min_rate"]:g} over {o["total_steps"]:,} updates'
        elif o['schedule'] != 'constant':
            rate += f' ({o["schedule"]} schedule, gamma {o["gamma"]:g})'
        text += f', rate {rate}'
    if o['method'] in ('sgd', 'momentum', 'nesterov') and o['momentum']:
        text += f', momentum {o["momentum"]:g}'
    text += f', batch {o["batch_size"]}'
    if o['l2_decay']:
        text += f', L2 {o["l2_decay"]:g}'
    return text


def _named(label, **options):
    options = complete_options(**options)
    return {'title': f'{label} ({describe_trainer(options)})', 'options': options}


TRAINERS = {
    'fast': _named('Fast', method='sgd', learning_rate=0.03, momentum=0.9, batch_size=32, l2_decay=0.001,
                   schedule='cosine', total_steps=2000, min_rate=0.003),
    'convnetjs': _named("ConvNetJS's trainer", **pycore.CONVNETJS_TRAINER),
}
DEFAULT_TRAINER = 'fast'


def check_cost(spec, options):
    """The estimate of pycore.cost for training `spec` with trainer `options`, plus 'text' (one
    line for people); PycoreError with the estimate if it is above the page's limits."""
    c = cost.estimate(spec, options['batch_size'], options['method'], options.get('momentum', 0.9))
    c['text'] = f'{cost.describe(c)} per batch of {options["batch_size"]}'
    c['batch_size'] = options['batch_size']
    if c['total'] > MAX_MEMORY:
        raise PycoreError(f'this network would need {c["text"]}, more than this page\'s limit of '
                          f'{MAX_MEMORY / 1e6:,.0f} MB; use fewer or smaller layers, or a smaller batch')
    if c['params'] > MAX_PARAMS:
        raise PycoreError(f'the network has {c["params"]:,} parameters, more than the {MAX_PARAMS:,} this page '
                          f'trains (it saves the run every few seconds); use fewer filters or neurons')
    if c['work'] > MAX_WORK:
        raise PycoreError(f'one example needs {c["work"] / 1e6:,.0f} million multiply-adds to go forward '
                          f'through this network, more than the {MAX_WORK / 1e6:,.0f} million this page allows '
                          f'so that it stays responsive; use fewer filters, smaller filters or a stride')
    return c


def check_options(options):
    """Trainer options as the page accepts them: pycore's rules plus the page's batch limit."""
    try:
        opts = pycore.TrainerOptions(**options)
    except TypeError as e:
        raise PycoreError(f'unknown trainer option: {e}') from None
    if opts.batch_size > MAX_BATCH:
        raise PycoreError(f'batch_size must be at most {MAX_BATCH}, got {opts.batch_size}')
    return opts


def settings(datasets, config):
    """config: the page's URL values ('dataset', 'seed', 'preset', 'spec' as JSON text, the trainer
    options of OPTION_KEYS; None or absent for unset). -> (Session keyword arguments, [(key, value,
    spec)] to try in order, notes [{'key', 'value', 'why'}] for the values left out)."""
    if hasattr(config, 'to_py'):
        config = config.to_py()
    config = {k: v for k, v in dict(config or {}).items() if v is not None}
    notes = []

    def reject(key, why):
        notes.append({'key': key, 'value': str(config.pop(key)), 'why': why})

    if 'dataset' in config and not (isinstance(config['dataset'], str) and config['dataset'] in datasets):
        reject('dataset', f'this build has no such dataset; it has {", ".join(datasets)}')
    if 'preset' in config and not (isinstance(config['preset'], str) and config['preset'] in PRESETS):
        reject('preset', f'no such preset; the presets are {", ".join(PRESETS)}')
    seed = config.get('seed', 0)
    if isinstance(seed, bool) or not isinstance(seed, (int, float)) or not 0 <= seed < 2**32 or seed != int(seed):
        reject('seed', f'the seed must be a whole number from 0 to {2**32 - 1:,}')
    if 'trainer' in config and not (isinstance(config['trainer'], str) and config['trainer'] in TRAINERS):
        reject('trainer', f'no such trainer; the trainers are {", ".join(TRAINERS)}')
    options = dict(TRAINERS[config.get('trainer', DEFAULT_TRAINER)]['options'])
    for key in OPTION_KEYS:
        if key in config:
            try:
                check_options({**options, key: config[key]})
                options[key] = config[key]
            except PycoreError as e:
                reject(key, str(e))
    base = {'dataset': config.get('dataset', next(iter(datasets))), 'trainer': options,
            'seed': int(config.get('seed', 0))}
    if not isinstance(config.get('spec', ''), str):
        reject('spec', 'the spec must be JSON text')
    specs = [(key, config[key], config[key] if key == 'spec' else PRESETS[config[key]]['spec'])
             for key in ('spec', 'preset') if key in config]
    return base, specs, notes


def options_of(config):
    """The trainer options the URL sets: its named trainer's (if it names one), then {key: value}
    for the keys of OPTION_KEYS it has."""
    if hasattr(config, 'to_py'):
        config = config.to_py()
    config = dict(config or {})
    named = TRAINERS.get(config.get('trainer'), {}).get('options', {})
    return {**named, **{k: v for k, v in config.items() if k in OPTION_KEYS and v is not None}}
