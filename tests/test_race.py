"""The activations race (site/worker/py/race.py): seven copies of one network on the same batches."""
import numpy as np
import pytest

import pycore
from config import TRAINERS
from presets import PRESETS
from race import RACERS, Race, with_activation, with_shuffle
from session import Session

META = {'mnist': {'title': 'MNIST', 'classes': [str(k) for k in range(10)], 'train_count': 400, 'test_count': 100}}


def session_with_data(spec=None):
    """A session with ConvNetJS's trainer (batches of 20, which the counts below assume)."""
    rng = np.random.default_rng(0)
    s = Session(META, spec=spec, trainer=TRAINERS['convnetjs']['options'])
    for kind, n in (('train', 400), ('test', 100)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        s.add_chunk('mnist', kind, labels.tobytes() + rng.integers(0, 256, (n, 28, 28)).astype(np.uint8).tobytes(), n)
    return s


def test_every_activation_is_swapped_and_only_that():
    spec = PRESETS['deeper']['spec'] + []
    spec = [*spec[:2], {'type': 'lrelu', 'alpha': 0.1}, *spec[2:]]
    for name in RACERS:
        swapped = pycore.Net.from_spec(with_activation(spec, name))
        kinds = [L.type for L in swapped.layers]
        assert name in kinds and not set(kinds) & (set(RACERS) - {name})
        assert [L.type for L in swapped.layers if L.params] == [L.type for L in pycore.Net.from_spec(spec).layers if L.params]
    with pytest.raises(pycore.PycoreError, match='no activation'):
        with_activation([{'type': 'input', 'out_sx': 24, 'out_sy': 24, 'out_depth': 1}, {'type': 'softmax', 'num_classes': 10}], 'relu')


def test_the_copies_train_on_the_same_batches_from_the_same_weights():
    s = session_with_data()
    race = Race(s, 400)
    first = {k: n.layers[1].params['w'].copy() for k, n in race.nets.items()}
    assert all(np.array_equal(first['relu'], w) for w in first.values())      # activations have no weights
    while (p := race.step(50))['result'] is None:
        pass
    assert p['done'] == 400 and set(p['curves']) == set(RACERS) == set(p['result'])
    assert [x for x, _ in p['curves']['tanh']] == [200, 400]
    # The relu copy saw what a lone copy fed the same batches sees: same losses.
    again = Race(s, 400, 'activations', racers=('relu',))
    while (q := again.step(50))['result'] is None:
        pass
    assert q['curves']['relu'] == p['curves']['relu']
    assert s.trainer.examples == 0                                              # the run itself did not train


def test_bad_races_are_refused():
    s = session_with_data()
    for n in (0, 20_001):
        with pytest.raises(pycore.PycoreError, match='must be 1 to 20,000'):
            Race(s, n)
    with pytest.raises(pycore.PycoreError, match='no training images'):
        Race(Session(META), 100)


def test_the_flatten_race_shuffles_what_the_first_fc_layer_reads():
    s = session_with_data()
    race = Race(s, 200, 'flatten')
    ordered, shuffled = race.nets['ordered'], race.nets['shuffled']
    assert [L.type for L in shuffled.layers] == [L.type for L in ordered.layers][:-2] + ['shuffle', 'fc', 'softmax']
    assert shuffled.layers[-3].in_shape == (16, 4, 4)
    assert with_shuffle(PRESETS['mlp']['spec'])[1] == {'type': 'shuffle', 'seed': 1}     # an MLP: its pixels
    while (p := race.step(50))['result'] is None:
        pass
    assert p['kind'] == 'flatten' and set(p['result']) == {'ordered', 'shuffled', 'moved'}
    # Moved with their inputs, the weights compute the same function: the same losses, step by step.
    assert np.allclose([v for _, v in p['curves']['moved']], [v for _, v in p['curves']['ordered']], rtol=1e-4)
    assert p['result']['moved'] == p['result']['ordered']
    x = np.random.default_rng(1).random((5, 1, 24, 24)).astype(np.float32)
    assert np.allclose(race.nets['moved'].forward(x), race.nets['ordered'].forward(x), atol=1e-5)
    with pytest.raises(pycore.PycoreError, match='no race of kind'):
        Race(s, 200, 'nope')
