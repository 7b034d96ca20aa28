"""Fuzzed inputs on CPython (Hypothesis): network specs, the page's URL settings, run files and user
pictures. Each either works or gives a PycoreError with a message; nothing else escapes, and a
run that refuses a file is left exactly as it was."""
import json

import numpy as np
import pytest

import pycore
from pycore import PycoreError
from pycore.data import prepare_digit

hypothesis = pytest.importorskip('hypothesis', reason='install the test extra: pip install -e .[test]')
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from session import Session  # noqa: E402  (site/worker/py is on sys.path: conftest.py)

# derandomize: the same 300 inputs per test on every run, so CI is repeatable; for a wider search,
# raise max_examples or drop derandomize locally (random runs found the NaN seed below).
FUZZ = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
META = {'mnist': {'title': 'MNIST', 'classes': [str(k) for k in range(10)], 'train_count': 200, 'test_count': 50}}
KEYS = sorted({k for keys in pycore.spec.KEYS.values() for k in keys} | {'type'})
TYPES = sorted(pycore.spec.KEYS) + ['nope', '', 'Conv']

# JSON values as a careless user (or a broken file) writes them: odd numbers included.
numbers = st.one_of(st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, 1, 2, 3, 5, 24, 28, -1, 1e9, 0.5]))
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=12), st.sampled_from(TYPES))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=5)),
                           max_leaves=20)
layer = st.dictionaries(st.sampled_from(KEYS), st.one_of(scalars, json_values), max_size=6).map(
    lambda d: d if 'type' in d else {**d, 'type': 'conv'})
specs = st.one_of(json_values, st.lists(layer, min_size=0, max_size=7),
                  st.lists(layer, max_size=5).map(lambda ls: [{'type': 'input', 'out_sx': 24, 'out_sy': 24, 'out_depth': 1},
                                                              *ls, {'type': 'softmax', 'num_classes': 10}]))


@FUZZ
@given(specs)
def test_any_spec_plans_or_says_why(spec):
    try:
        layers = pycore.plan(spec)
    except PycoreError as e:
        assert str(e)
        return
    total = sum(d['params'] for d in layers)
    assert total <= pycore.spec.MAX_PARAMS
    if total < 200_000:                   # small enough to build: it runs too
        net = pycore.Net.from_spec(spec)
        x = np.zeros((1,) + net.input_shape, np.float32)
        out = net.forward(x)
        assert out.shape[0] == 1 and np.isfinite(out).all()


@FUZZ
@given(st.text(max_size=200))
def test_any_spec_text_parses_or_says_why(text):
    try:
        pycore.Net.from_spec(text)
    except PycoreError as e:
        assert str(e)


url_values = st.one_of(scalars, st.text(max_size=40), json_values.map(json.dumps))
configs = st.dictionaries(st.sampled_from(['preset', 'spec', 'dataset', 'seed', 'method', 'learning_rate', 'momentum',
                                           'batch_size', 'l1_decay', 'l2_decay', 'beta1', 'junk']),
                          url_values, max_size=6)


@FUZZ
@given(configs)
def test_any_url_settings_make_a_session_with_notes(config):
    s, notes = Session.from_config(META, config)
    assert isinstance(s.net, pycore.Net)
    for n in notes:
        assert set(n) == {'key', 'value', 'why'} and n['why']


def session_with_data(seed=0):
    rng = np.random.default_rng(seed)
    s = Session(META)
    for kind, n in (('train', 200), ('test', 50)):
        s.add_chunk('mnist', kind, rng.integers(0, 10, n).astype(np.uint8).tobytes()
                    + rng.integers(0, 256, (n, 28, 28)).astype(np.uint8).tobytes(), n)
    while s.trainer.examples < 100:
        s.train_for(0)
    return s


GOOD = session_with_data(1).save()


def fingerprint(s):
    return (s.describe()['spec'], s.trainer.examples, s.trainer.steps, json.dumps(s.trainer.options.__dict__),
            [float(np.sum(layer.params[k], dtype=np.float64)) for layer in s.net.layers for k in sorted(layer.params)],
            json.dumps(s.charts()), s.rng.bit_generator.state['state']['state'])


def mutate(doc, path, value):
    """doc with the value at `path` (a list of keys/indices, followed as far as they go) replaced."""
    node = doc
    for i, key in enumerate(path[:-1]):
        nxt = node[key] if isinstance(node, dict) and key in node else (
            node[key % len(node)] if isinstance(node, list) and node and isinstance(key, int) else None)
        if nxt is None or not isinstance(nxt, (dict, list)):
            break
        node = nxt
    last = path[-1] if path else 'format'
    if isinstance(node, dict):
        keys = list(node)
        node[keys[hash(str(last)) % len(keys)] if keys else last] = value
    elif isinstance(node, list) and node:
        node[(last if isinstance(last, int) else 0) % len(node)] = value
    return doc


paths = st.lists(st.one_of(st.sampled_from(['spec', 'params', 'trainer', 'extra', 'session', 'state', 'rng', 'array',
                                            'options', 'history', 'windows', 'data', 'shape', 'layer', 'name']),
                           st.integers(0, 30)), min_size=1, max_size=6)
bad_values = st.one_of(json_values, st.just(float('nan')), st.just([[1e308] * 3]), st.just('x' * 50),
                       st.lists(numbers, max_size=10))


@FUZZ
@given(st.one_of(
    st.integers(0, len(GOOD) - 1).map(lambda k: GOOD[:k]),                                   # truncated
    st.tuples(paths, bad_values).map(lambda pv: json.dumps(mutate(json.loads(GOOD), *pv))),  # a value changed
    json_values.map(json.dumps), st.text(max_size=60), st.binary(max_size=60)))
def test_a_bad_run_file_is_refused_and_the_run_is_untouched(text):
    s = session_with_data(2)
    before = fingerprint(s)
    try:
        result = s.load(text)
    except PycoreError as e:
        assert str(e)
        assert fingerprint(s) == before
        s.train_for(0)                       # and it still trains
        return
    assert result['examples'] == s.trainer.examples           # a change it could make sense of
    s.train_for(0)


pictures = st.one_of(
    st.tuples(st.integers(1, 60), st.integers(1, 60)).flatmap(
        lambda hw: st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=hw[0] * hw[1],
                            max_size=hw[0] * hw[1]).map(lambda v: np.array(v, np.float32).reshape(hw))),
    st.sampled_from([np.zeros((5, 5)), np.ones((28, 28)), np.full((3, 900), 0.5), np.eye(40)]))


@FUZZ
@given(pictures)
def test_any_picture_becomes_an_mnist_digit_or_says_why(gray):
    try:
        image = prepare_digit(gray)
    except PycoreError as e:
        assert str(e)
        return
    assert image.shape == (28, 28) and image.dtype == np.uint8


def test_huge_values_in_a_run_file_do_not_blow_up_memory():
    doc = json.loads(GOOD)
    doc['params'][0]['array']['shape'] = [10**6, 10**6]
    with pytest.raises(PycoreError):
        session_with_data(3).load(json.dumps(doc))


def test_a_run_file_with_another_dtype_is_refused():
    """Found by the fuzz run above: "dtype": [] made a structured dtype, loaded, and training then failed."""
    for bad in ([], 'int8', {'a': 1}, None):
        doc = json.loads(GOOD)
        doc['dtype'] = bad
        with pytest.raises(PycoreError, match='dtype must be'):
            session_with_data(4).load(json.dumps(doc))


@pytest.mark.parametrize('seed', [float('nan'), float('inf'), -1, 2**32, 1.5, '3', True])
def test_a_bad_seed_in_the_url_is_a_note(seed):
    """Found by the fuzz runs: NaN and infinite seeds raised from int() instead of being noted."""
    s, notes = Session.from_config(META, {'seed': seed})
    assert s.seed == 0 and [n['key'] for n in notes] == ['seed']
