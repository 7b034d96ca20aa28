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
import pycore.parallel
from pycore.parallel import flat_params, piece_bounds, piece_sums, set_flat_params

from test_bridge import CONVNETJS, bridge, loaded_session
import helper  # noqa: E402  (site/worker/py, on sys.path by conftest.py)

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
    """What site/worker/helpers.js and helper.js do with a batch's jobs, with helper.py's own Helper,
    one per piece: each job is computed as soon as it is posted, in order."""

    def __init__(self):
        self.helpers = {}
        self.syncs = 0            # jobs that came with the whole run
        self.pending = {}         # serial -> the results of its jobs, until handed back

    def run(self, send):
        out = []
        for j in send['jobs']:
            h = self.helpers.setdefault(j['piece'], helper.Helper())
            self.syncs += j['sync'] is not None
            out.append(h.job(j['serial'], j['piece'], j['part'], j['key'], j['x'], j['y'], sync=j['sync'], share=j['share'],
                             score=j['score']))
            h.score()                     # helper.js: after posting the result
        return out


def test_a_helper_starts_from_the_run_it_is_sent_and_says_when_it_is_out_of_step():
    s = loaded_session()
    x, y = np.zeros((2, 24, 24), np.uint8), np.array([1, 2])
    h = helper.Helper()
    assert h.job(1, 1, 2, [0, 0, 0], x, y) == {'piece': 1, 'stale': 'no run yet'}
    first = h.job(1, 1, 2, [0, 0, 0], x, y, sync=s.save())
    assert first['fp'] == pycore.parallel.fingerprint(s.trainer) and first['sums'].dtype == np.float32
    share = {'serial': 5, 'n': 4, 'options': dict(s.trainer.options.__dict__), 'pieces': [0], 'sums': [first['sums']]}
    assert h.job(2, 1, 2, [0, 0, 1], x, y, share=share) == {'piece': 1, 'stale': 'no piece of batch 5 computed here'}
    assert h.job(2, 1, 2, [0, 0, 1], x, y, share={**share, 'serial': 1})['stale'] == 'no piece of batch 1 computed here'
    assert h.job(3, 1, 2, [0, 0, 2], x, y)['stale'] == 'no run yet'       # it forgot the run: it needs it anew


def drive(s, helpers, steps, budget=0, before_step=None):
    """The leader worker's loop: post each batch's jobs, hand back their results (through the
    bridge, as the worker does), until `steps` updates. A zero budget trains one batch a call, so
    that it stops at exactly `steps` however fast the machine is. before_step(step) runs once
    before each update from the second."""
    pending, called = helpers.pending, set()
    while s.trainer.steps < steps:
        if before_step and 0 < s.trainer.steps not in called:
            called.add(s.trainer.steps)
            before_step(s.trainer.steps)
        r = s.train_for(budget)
        if 'send' in r:
            pending[r['send']['serial']] = helpers.run(r['send'])
        elif 'wait' in r:
            assert bridge.add_shards(s, r['wait'], pending.pop(r['wait'])) == {'ok': True}
    return flat_params(s.net)


def test_a_run_on_workers_is_the_same_whether_or_not_the_helpers_are_up():
    runs = []
    for ready in ([], [1], [1, 2]):
        s = loaded_session()
        s.set_workers(3)
        s.set_ready(ready)
        h = FakeHelpers()
        runs.append(drive(s, h, 6))
        assert s.trainer.examples == 6 * CONVNETJS['batch_size']
        # Every helper's copy agreed with this worker's at every batch, and was sent the run once.
        assert s.out_of_step == 0 and h.syncs == len(ready)
    assert all(np.array_equal(runs[0], r) for r in runs[1:])
    s = loaded_session()
    one = drive(s, FakeHelpers(), 6)
    assert np.allclose(one, runs[0], rtol=1e-4, atol=1e-6)      # the same examples, summed in pieces


def test_every_copy_makes_the_same_updates():
    # With a helper, its copy after the run is this worker's, bit for bit, buffers included; the
    # page's changes of options on the way (rate, schedule, update rule) reach it with the pieces.
    changes = {2: {'learning_rate': 0.003}, 3: {'schedule': 'cosine', 'total_steps': 50}, 5: {'method': 'adam'}}
    runs = []
    for ready in ([], [1]):
        s = loaded_session()
        s.set_workers(2)
        s.set_ready(ready)
        h = FakeHelpers()
        runs.append(drive(s, h, 8, before_step=lambda step: step in changes and s.set_options(changes[step])))
        assert s.out_of_step == 0 and h.syncs == len(ready)
    assert np.array_equal(runs[0], runs[1])
    # The batch under way (its job is out): once both copies have made its update, they agree.
    while 'send' not in (r := s.train_for(0)):                 # (the slice's report first)
        assert r['stats']
    ahead = r['send']                                           # this worker's piece is done: the next batch's job
    result = h.run(ahead)[0]                                    # the helper updates, and computes its piece
    assert s.train_for(0) == {'wait': ahead['serial'] - 1}
    assert bridge.add_shards(s, ahead['serial'] - 1, h.pending.pop(ahead['serial'] - 1)) == {'ok': True}
    assert result['fp'] == pycore.parallel.fingerprint(s.trainer) and s.trainer.options.method == 'adam'
    copy = h.helpers[1].trainer
    assert copy.options == s.trainer.options and copy.steps == s.trainer.steps and copy.examples == s.trainer.examples
    assert copy.state.keys() == s.trainer.state.keys() and all(
        np.array_equal(copy.state[k][b], v) for k in s.trainer.state for b, v in s.trainer.state[k].items())


def test_a_copy_out_of_step_is_refused_and_sent_the_run_again():
    clean = drive(loaded_session(), FakeHelpers(), 6)
    s = loaded_session()
    s.set_workers(2)
    s.set_ready([1])
    h = FakeHelpers()

    def spoil(step):                          # the helper's copy goes wrong (here, by hand)
        if step == 2:
            w = h.helpers[1].net.layers[1].params['w']
            w += 1e-3
    run = drive(s, h, 6, before_step=spoil)
    # Its pieces computed from the spoiled copy are trained here instead; it is sent the run again
    # and is back in step: the run is the one without helpers.
    assert s.out_of_step >= 1 and h.syncs == 2
    assert np.allclose(run, clean, rtol=1e-4, atol=1e-6)
    three = loaded_session()
    three.set_workers(2)
    assert np.array_equal(drive(three, FakeHelpers(), 6), run)


def test_a_helper_started_anew_is_sent_the_run():
    clean = drive(loaded_session(), FakeHelpers(), 6)
    s = loaded_session()
    s.set_workers(3)
    s.set_ready([1, 2])
    h = FakeHelpers()
    drive(s, h, 3)
    assert s.unshared is not None and not h.pending          # the last batch's shares go out with the next
    s.set_ready([1])                                           # helper 2's worker stopped (helpers.js)...
    h.helpers[2] = helper.Helper()                             # ...and a new one came up
    s.set_ready([1, 2])
    run = drive(s, h, 6)
    assert s.out_of_step == 0 and h.syncs == 3                 # the two at the start, and the new one
    assert np.allclose(run, clean, rtol=1e-4, atol=1e-6)


def test_a_helper_scores_the_held_out_images_in_its_own_time(monkeypatch):
    counts = {}
    for ready in ([], [1]):
        s = loaded_session()
        s.set_workers(2)
        s.set_ready(ready)
        seen, here = {'val': 0, 'test': 0}, []
        for name, window in (('val', s.val_acc), ('test', s.test_acc)):
            real = window.add
            monkeypatch.setattr(window, 'add', lambda out, real=real, name=name: seen.__setitem__(name, seen[name] + len(out)) or real(out))
        real_predict = s.predict
        monkeypatch.setattr(s, 'predict', lambda images: here.append(len(images)) or real_predict(images))
        drive(s, FakeHelpers(), 30)
        counts[tuple(ready)] = (seen, sum(here))
    trained = 30 * CONVNETJS['batch_size']
    (alone, scored_here), (helped, scored_by_lead) = counts[()], counts[(1,)]
    assert scored_here > 0 and scored_by_lead == 0                # with a helper up, none in this worker's time
    for name in ('val', 'test'):                                   # about one of each per EVAL_RATIO trained
        assert trained // 10 - 3 * s.HELPER_EVAL <= helped[name] <= trained // 10      # (a job or two behind)
        assert trained // 10 - s.EVAL_BATCH <= alone[name] <= trained // 10
    # A helper's outcomes are this worker's with the same weights.
    h = helper.Helper()
    h.job(1, 1, 2, [0, 0, 0], np.zeros((2, 24, 24), np.uint8), np.array([1, 2]), sync=s.save(),
          score={'val_x': s.ds.train.images[:30].ravel(), 'val_y': s.ds.train.labels[:30].astype(np.int32),
                 'test_x': s.ds.test.images[:7].ravel(), 'test_y': s.ds.test.labels[:7].astype(np.int32)})
    assert h.score() == 37
    assert np.array_equal(h.scored['val'], real_predict(s.ds.train.images[:30]).argmax(1) == s.ds.train.labels[:30])
    assert np.array_equal(h.scored['test'], real_predict(s.ds.test.images[:7]).argmax(1) == s.ds.test.labels[:7])


def test_helpers_kept_through_a_fresh_session_are_sent_its_run():
    """The page keeps its helpers when a run starts fresh; the new session's net, even another
    one, must reach them."""
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
        assert t.out_of_step == 0
    assert kept.syncs == 2
    assert np.array_equal(runs[0], runs[1])


def test_a_late_answer_for_a_dropped_batch_is_ignored_and_a_lost_helper_is_taken_back():
    s = loaded_session()
    s.set_workers(2)
    s.set_ready([1])
    send = s.train_for(5)['send']
    ahead = s.train_for(5)['send']                             # its own piece done, the next batch out
    assert s.train_for(5) == {'wait': send['serial']} and ahead['serial'] == send['serial'] + 1
    s.set_options({'batch_size': 10})                          # the batch is dropped
    assert s.add_shards(send['serial'], FakeHelpers().run(send)) is False
    send = s.train_for(5)['send']
    assert len(send['jobs'][0]['y']) == 5 and send['jobs'][0]['sync'] is not None
    s.train_for(5)
    s.take_back(send['serial'], [1])                           # its helper died
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
    pending = h.pending
    while 'wait' not in (r := s.train_for(5)):                 # a batch under way, the next one's jobs out
        if 'send' in r:
            pending[r['send']['serial']] = h.run(r['send'])
    assert s.ahead is not None
    text = s.save()
    bridge.add_shards(s, r['wait'], pending.pop(r['wait']))
    after = drive(s, h, 8)
    t = loaded_session()
    t.load(text)
    t.set_workers(2)
    t.set_ready([1])
    assert np.array_equal(drive(t, FakeHelpers(), 8), after)


def test_the_next_batch_goes_out_with_this_workers_pieces_ahead_of_the_report(monkeypatch):
    # As soon as this worker's piece of a batch is done, the next batch's job goes out with it, so
    # that the helper updates and goes on at once; the slice's report (held-out scoring and all)
    # comes while it computes.
    s = loaded_session()
    s.set_workers(2)
    s.set_ready([1])
    h = FakeHelpers()
    first = s.train_for(0)['send']
    assert first['jobs'][0]['sync'] is not None and first['jobs'][0]['share'] is None
    pending = {first['serial']: h.run(first)}
    scored = []
    real = s._score_held_out
    monkeypatch.setattr(s, '_score_held_out', lambda n: scored.append(n) or real(n))
    for step in range(3):
        ahead = s.train_for(0)['send']
        job = ahead['jobs'][0]
        assert ahead['serial'] == first['serial'] + step + 1 and job['sync'] is None
        assert job['share']['serial'] == ahead['serial'] - 1 and job['share']['pieces'] == [0]
        assert np.array_equal(job['share']['sums'][0], s.batch.share(1)[0][1])
        pending[ahead['serial']] = h.run(ahead)
        assert s.train_for(0) == {'wait': ahead['serial'] - 1} and len(scored) == step
        assert bridge.add_shards(s, ahead['serial'] - 1, pending.pop(ahead['serial'] - 1)) == {'ok': True}
        r = s.train_for(0)
        assert r['stats']['trained'] == s.trainer.options.batch_size and len(scored) == step + 1
        assert s.batch.serial == ahead['serial'] and not s.batch.waiting   # its local piece is still to do
    assert s.out_of_step == 0


def test_the_latest_example_is_drawn_from_the_layers_when_they_hold_it(monkeypatch):
    # With a helper computing piece 1, this worker's last pass was piece 0, which begins with the
    # latest training example: its views come from the layers, with no extra pass. When this worker
    # trained piece 1 after it, they cannot.
    for ready, extra_pass in (([1], False), ([], True)):
        s = loaded_session()
        s.set_workers(2)
        s.set_ready(ready)
        h, passes, pending = FakeHelpers(), [], {}
        real = s.snapshot
        monkeypatch.setattr(s, 'snapshot', lambda *a: passes.append(1) or real(*a))
        r = s.train_for(0, want_snapshot=True)
        while not r.get('stats'):
            if 'send' in r:
                pending[r['send']['serial']] = h.run(r['send'])
            elif 'wait' in r:
                bridge.add_shards(s, r['wait'], pending.pop(r['wait']))
            r = s.train_for(0, want_snapshot=True)
        snap = r['snapshot']
        assert snap['source'] == 'the latest training example' and bool(passes) == extra_pass
        np.testing.assert_array_equal(snap['layers'][0]['act']['data'].ravel(), s.last_example[0].ravel())
