"""Data-parallel training: a batch cut into pieces, some computed by helpers (here, on CPython, by
a second copy of the net running pycore.parallel.piece_sums as a helper worker does), gives the
update of one pass over the batch, and the same numbers whoever computed which piece."""
import copy
import json

import numpy as np
import pytest

import pycore
from pycore import PycoreError
from pycore.data import to_float
from pycore.parallel import flat_params, piece_bounds, piece_sums, set_flat_params

from test_bridge import CONVNETJS, bridge, loaded_session
import helper  # noqa: E402  (site/py, on sys.path by conftest.py)

SPEC = [{'type': 'input', 'out_sx': 12, 'out_sy': 12, 'out_depth': 1},
        {'type': 'conv', 'sx': 3, 'filters': 4, 'stride': 1, 'pad': 1, 'activation': 'relu'},
        {'type': 'pool', 'sx': 2, 'stride': 2},
        {'type': 'fc', 'num_neurons': 12, 'activation': 'relu'},
        {'type': 'dropout', 'drop_prob': 0.3},
        {'type': 'softmax', 'num_classes': 10}]


def data(n=13, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 12, 12), dtype=np.float32), rng.integers(0, 10, n)


def trained(pieces, remote, part=None, spec=SPEC, steps=3, method='sgd'):
    """Weights after `steps` batches cut into `pieces`; the `remote` ones computed by a helper net."""
    net = pycore.Net.from_spec(spec, seed=1)
    helper = pycore.Net.from_spec(spec, seed=99)              # other weights, other dropout state
    tr = pycore.Trainer(net, method=method, learning_rate=0.05, momentum=0.9, batch_size=13, l2_decay=0.01)
    for step in range(steps):
        x, y = data(seed=step)
        b = pycore.Batch(tr, x, y, pieces=pieces, remote=remote, key=(7, step))
        while not b.waiting and not b.advance(part):
            pass
        for k in sorted(b.remote):
            set_flat_params(helper, flat_params(net))
            lo, hi = b.bounds[k]
            b.add(k, *piece_sums(helper, x[lo:hi], y[lo:hi], part or hi - lo, b.key, k))
        assert b.stats is not None and tr.steps == step + 1
    return flat_params(net), b.stats


def test_pieces_bounds_cover_the_batch():
    assert piece_bounds(13, 3) == [(0, 5), (5, 9), (9, 13)]
    assert piece_bounds(2, 5) == [(0, 1), (1, 2)]
    with pytest.raises(PycoreError):
        piece_bounds(0, 2)


@pytest.mark.parametrize('part', [None, 2])
def test_a_piece_gives_the_same_numbers_here_or_in_a_helper(part):
    local, s1 = trained(3, set(), part)
    remote, s2 = trained(3, {1, 2}, part)
    assert np.array_equal(local, remote)                         # bit for bit, dropout included
    assert s1['loss'] == s2['loss'] and s1['accuracy'] == s2['accuracy']
    assert not np.array_equal(local, trained(3, set(), part, steps=2)[0])   # the test can tell runs apart


def test_pieces_make_the_update_of_one_pass_over_the_batch():
    spec = [d for d in SPEC if d['type'] != 'dropout']         # dropout masks differ by design
    one, _ = trained(1, set(), spec=spec)
    for pieces in (2, 4):
        many, _ = trained(pieces, set(range(1, pieces)), spec=spec)
        assert np.allclose(one, many, rtol=1e-5, atol=1e-6)
        assert not np.array_equal(one, trained(pieces, set(), spec=spec, method='adam')[0])


def test_one_piece_is_exactly_the_old_single_batch():
    """pieces=1 takes the path every earlier run took: no sums, the layers' own mean gradient."""
    net = pycore.Net.from_spec([d for d in SPEC if d['type'] != 'dropout'], seed=1)
    ref = copy.deepcopy(net)
    x, y = data()
    pycore.Batch(pycore.Trainer(net, batch_size=13), x, y).advance()
    ref.forward(x, training=True)
    ref.backward(y)
    rt = pycore.Trainer(ref, batch_size=13)
    rt._update(13)
    assert np.array_equal(flat_params(net), flat_params(ref))


def test_bad_results_are_refused():
    net = pycore.Net.from_spec(SPEC, seed=1)
    tr = pycore.Trainer(net, batch_size=13)
    x, y = data()
    with pytest.raises(PycoreError, match='remote pieces'):
        pycore.Batch(tr, x, y, pieces=2, remote={0})
    b = pycore.Batch(tr, x, y, pieces=2, remote={1})
    with pytest.raises(PycoreError, match='not awaited'):
        b.add(0, np.zeros(3), 0.0, np.zeros(7))
    with pytest.raises(PycoreError, match='parameters'):
        b.add(1, np.zeros(3, np.float32), 0.0, np.zeros(6, int))
    assert b.advance() is False and b.waiting
    with pytest.raises(PycoreError, match='waits'):
        b.advance()
    b.take_back(1)                                              # its helper is gone: trained here
    assert not b.waiting and b.advance() is True and tr.steps == 1
    with pytest.raises(PycoreError):
        set_flat_params(net, np.zeros(5, np.float32))


class FakeHelpers:
    """What site/static/helpers.js does with a job, with helper.py's own Helper: one per piece."""

    def __init__(self):
        self.helpers = {}
        self.sent = {}            # piece -> the net version whose spec its helper was sent

    def run(self, job):
        out = []
        for p in job['pieces']:
            h = self.helpers.setdefault(p['piece'], helper.Helper())
            version = job['net']['version']
            spec = None if self.sent.get(p['piece']) == version else job['net']['spec']   # once per net
            self.sent[p['piece']] = version
            out.append(h.piece(version, spec, job['weights'], job['part'], job['key'], p['piece'], p['x'], p['y']))
        return out


def test_a_helper_builds_the_net_from_the_first_job_and_refuses_a_new_version_without_its_spec():
    spec, net = json.dumps(pycore.CONVNETJS_MNIST), pycore.Net.from_spec(pycore.CONVNETJS_MNIST, seed=3)
    x, y = np.zeros((2, 24, 24), np.uint8), np.array([1, 2])
    h = helper.Helper()
    first = h.piece(1, spec, flat_params(net), 2, [0, 0, 0], 1, x, y)
    again = h.piece(1, None, flat_params(net), 2, [0, 0, 0], 1, x, y)       # the same net: no spec needed
    assert np.array_equal(first['sums'], again['sums']) and first['loss'] == again['loss']
    with pytest.raises(PycoreError, match='net version 2 came without its spec'):
        h.piece(2, None, flat_params(net), 2, [0, 0, 0], 1, x, y)


def drive(s, helpers, steps, budget=0):
    """The leader worker's loop: post each job, hand back the results (through the bridge, as
    the worker does), until `steps` updates. A zero budget trains one batch a call, so that it
    stops at exactly `steps` however fast the machine is."""
    while s.trainer.steps < steps:
        r = s.train_for(budget)
        if 'send' in r:
            s.pending = (r['send']['serial'], helpers.run(r['send']))
        elif 'wait' in r:
            assert s.pending[0] == r['wait'] and bridge.add_shards(s, *s.pending) == {'ok': True}
    return flat_params(s.net)


def test_a_run_on_workers_is_the_same_whether_or_not_the_helpers_are_up():
    runs = []
    for ready in ([], [1], [1, 2]):
        s = loaded_session()
        s.set_workers(3)
        s.set_ready(ready)
        runs.append(drive(s, FakeHelpers(), 6))
        assert s.trainer.examples == 6 * CONVNETJS['batch_size']
    assert all(np.array_equal(runs[0], r) for r in runs[1:])
    s = loaded_session()
    one = drive(s, FakeHelpers(), 6)
    assert np.allclose(one, runs[0], rtol=1e-4, atol=1e-6)      # the same examples, summed in pieces


def test_helpers_kept_through_a_fresh_session_build_its_net():
    """The page keeps its helpers when a run starts fresh; the new session's net, even another
    one, must reach them: its number differs from every earlier net's."""
    small = [dict(layer) for layer in pycore.CONVNETJS_MNIST]
    small[1] = {**small[1], 'filters': 4}
    kept = FakeHelpers()
    s = loaded_session()
    s.set_workers(2)
    s.set_ready([1])
    drive(s, kept, 2)
    runs = []
    for helpers in (kept, FakeHelpers()):                      # the kept helper, and a new one
        t = loaded_session(spec=small)
        t.set_workers(2)
        t.set_ready([1])
        runs.append(drive(t, helpers, 3))
    assert s.net_version < t.net_version
    assert np.array_equal(runs[0], runs[1])


def test_a_late_answer_for_a_dropped_batch_is_ignored_and_a_lost_helper_is_taken_back():
    s = loaded_session()
    s.set_workers(2)
    s.set_ready([1])
    job = s.train_for(5)['send']
    assert s.train_for(5) == {'wait': job['serial']}
    s.set_options({'batch_size': 10})                          # the batch is dropped
    assert s.add_shards(job['serial'], FakeHelpers().run(job)) is False
    job = s.train_for(5)['send']
    assert len(job['pieces'][0]['y']) == 5
    s.train_for(5)
    s.take_back(job['serial'], [1])                            # its helper died
    assert s.set_ready([]) == []
    while not (r := s.train_for(5))['stats']:                   # piece 1 now trained here
        pass
    st = r['stats']                                            # the dropped batch is not counted
    assert st['examples'] == st['trained'] and st['trained'] % 10 == 0 and r['stats']['workers'] == 2 and r['stats']['helping'] == 0
    with pytest.raises(PycoreError):
        s.set_workers(0)


def test_a_save_while_helpers_compute_continues_exactly():
    s = loaded_session()
    s.set_workers(2)
    s.set_ready([1])
    h = FakeHelpers()
    drive(s, h, 3)
    while 'send' not in (r := s.train_for(5)):                 # (the slice's statistics first)
        assert r['stats']
    job = r['send']                                            # a batch drawn, its job out
    s.pending = (job['serial'], h.run(job))
    text = s.save()
    after = drive(s, h, 8)
    t = loaded_session()
    t.load(text)
    t.set_workers(2)
    t.set_ready([1])
    assert np.array_equal(drive(t, FakeHelpers(), 8), after)


def test_a_slice_sends_the_next_batch_ahead_of_its_report(monkeypatch):
    # The helpers compute the next batch while the leader scores and reports: the slice's end
    # hands out the next batch's job first, and the report (held-out scoring and all) is the next
    # call's answer.
    s = loaded_session()
    s.set_workers(2)
    s.set_ready([1])
    h = FakeHelpers()
    first = s.train_for(0)
    assert set(first) == {'send'}
    assert s.train_for(0) == {'wait': first['send']['serial']}
    assert bridge.add_shards(s, first['send']['serial'], h.run(first['send'])) == {'ok': True}
    scored = []
    real = s._score_held_out
    monkeypatch.setattr(s, '_score_held_out', lambda n: scored.append(n) or real(n))
    ahead = s.train_for(0)
    assert set(ahead) == {'send'} and ahead['send']['serial'] == first['send']['serial'] + 1 and scored == []
    r = s.train_for(0)
    assert r['stats']['trained'] == s.trainer.options.batch_size and 'send' not in r and scored == [r['stats']['trained']]
    assert s.batch is not None and not s.batch.waiting          # its local piece is still to do
    assert s.train_for(0) == {'wait': ahead['send']['serial']}   # a new slice: that piece, then the helper's


def test_the_latest_example_is_drawn_from_the_layers_when_they_hold_it(monkeypatch):
    # With a helper computing piece 1, this worker's last pass was piece 0, which begins with the
    # latest training example: its views come from the layers, with no extra pass. When this worker
    # trained piece 1 after it, they cannot.
    for ready, extra_pass in (([1], False), ([], True)):
        s = loaded_session()
        s.set_workers(2)
        s.set_ready(ready)
        h, passes = FakeHelpers(), []
        real = s.snapshot
        monkeypatch.setattr(s, 'snapshot', lambda *a: passes.append(1) or real(*a))
        r = s.train_for(0, want_snapshot=True)
        while not r.get('stats'):
            if 'send' in r:
                s.pending = (r['send']['serial'], h.run(r['send']))
            elif 'wait' in r:
                bridge.add_shards(s, *s.pending)
            r = s.train_for(0, want_snapshot=True)
        snap = r['snapshot']
        assert snap['source'] == 'the latest training example' and bool(passes) == extra_pass
        np.testing.assert_array_equal(snap['layers'][0]['act']['data'].ravel(), s.last_example[0].ravel())
