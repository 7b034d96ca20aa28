"""The one module between the page's worker and Python: it turns session results into plain JS
values (objects, numbers, typed arrays) and bad user input into messages."""
import pycore
from pycore import PycoreError
from config import DEFAULT_TRAINER, TRAINERS
from presets import PRESETS  # noqa: F401  (the worker hands them to the page, with TRAINER_MENU)
import probes
from race import Race
from session import Session

TRAINER_MENU = {'trainers': TRAINERS, 'default': DEFAULT_TRAINER}


def export(value):
    """Python result -> JS value inside Pyodide (dicts become objects, arrays typed arrays);
    unchanged on CPython, where the tests call the bridge."""
    try:
        import js
        from pyodide.ffi import to_js
    except ImportError:
        return value
    return to_js(value, dict_converter=js.Object.fromEntries)


def call(session, method, *args):
    """Call a Session method from JS: returns {'ok': value} or {'error': message} for PycoreError,
    so bad user input (a spec, a file) becomes a message instead of a crashed worker."""
    return guarded(getattr(session, method), *args)


def guarded(fn, *args):
    """fn(*args) as {'ok': value} or {'error': message} (a PycoreError's)."""
    try:
        return export({'ok': fn(*args)})
    except PycoreError as e:
        return export({'error': str(e)})


REFERENCES = {}   # name -> a trained pycore Net from the build (data/pretrained/), to compare with


def load_reference(name, text):
    """Keep the net of a pretrained run (JSON text) as reference `name`; -> {'ok': True} or {'error'}."""
    try:
        REFERENCES[name] = pycore.from_json(text)[0]
        return export({'ok': True})
    except PycoreError as e:
        return export({'error': f'the pretrained {name} run: {e}'})


def shift_test(session, index, shifts):
    """probes.shift_test with the reference nets loaded so far."""
    return guarded(probes.shift_test, session, index, shifts.to_py() if hasattr(shifts, 'to_py') else shifts, REFERENCES)


def shift_accuracy(session, count, shifts):
    """probes.shift_accuracy with the reference nets loaded so far."""
    return guarded(probes.shift_accuracy, session, count, shifts.to_py() if hasattr(shifts, 'to_py') else shifts, REFERENCES)


def top_images(session, layer, unit, count):
    return guarded(probes.top_images, session, layer, unit, count)


RACE = {'now': None}   # the activations race being run (race.Race), if any


def race_start(session, examples, kind):
    """Start a race (race.KINDS) on copies of the session's network; -> {'ok': racer names} or {'error'}."""
    try:
        RACE['now'] = Race(session, examples, kind)
        return export({'ok': list(RACE['now'].nets)})
    except PycoreError as e:
        return export({'error': str(e)})


def race_step(budget_ms):
    """Train the race for about budget_ms; -> {'ok': its progress}, the last one with 'result'."""
    progress = RACE['now'].step(budget_ms)
    if progress['result'] is not None:
        RACE['now'] = None
    return export({'ok': progress})


def race_stop():
    RACE['now'] = None
    return export({'ok': True})


def open_session(datasets, config):
    """The worker's session from the page's URL state; what was rejected waits in session.notes."""
    session, notes = Session.from_config(datasets, config)
    session.notes = notes
    return session


def add_shards(session, serial, results):
    """The helpers' results (helper.job's, as JS objects) for batch `serial` -> session.add_shards."""
    from helper import field, from_js
    rows = []
    for r in results:
        p, stale, scored = field(r, 'predictions'), field(r, 'stale'), field(r, 'scored')
        if stale is not None:
            rows.append((int(field(r, 'piece')), None, 0.0, None, None, str(stale), None))
            continue
        if scored is not None:
            scored = tuple(from_js(field(scored, k), 'uint8').astype(bool) for k in ('val', 'test'))
        rows.append((int(field(r, 'piece')), from_js(field(r, 'sums'), 'float32'), float(field(r, 'loss')),
                     None if p is None else from_js(p, 'int32'),
                     int(field(r, 'fp')), None, scored))
    return guarded(session.add_shards, int(serial), rows)
