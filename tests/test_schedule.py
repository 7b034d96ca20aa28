"""Learning-rate schedules (pycore/schedule.py): PyTorch's schedulers as the reference, the rate
the update rules really get, and runs that save and continue on the schedule bit for bit."""
import numpy as np
import pytest

import pycore
from pycore import PycoreError, TrainerOptions
from pycore.schedule import rate

torch = pytest.importorskip('torch', reason='install the test extra: pip install -e .[test]')
S = torch.optim.lr_scheduler
STEPS = 300


def torch_rates(make, lr=0.1, steps=STEPS):
    """The rate of each of `steps` updates under the scheduler make(optimizer), stepped per update."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = make(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
    return out


CASES = {
    'constant': ({}, lambda o: S.ConstantLR(o, factor=1.0, total_iters=0)),
    'step': ({'schedule': 'step', 'step_size': 40, 'gamma': 0.3}, lambda o: S.StepLR(o, step_size=40, gamma=0.3)),
    'exponential': ({'schedule': 'exponential', 'gamma': 0.99}, lambda o: S.ExponentialLR(o, gamma=0.99)),
    'cosine': ({'schedule': 'cosine', 'total_steps': STEPS, 'min_rate': 0.001},
               lambda o: S.CosineAnnealingLR(o, T_max=STEPS, eta_min=0.001)),
    'warm-up': ({'warmup_steps': 25}, lambda o: S.LinearLR(o, start_factor=1 / 26, end_factor=1.0, total_iters=25)),
    'warm-up then step': ({'schedule': 'step', 'step_size': 40, 'gamma': 0.3, 'warmup_steps': 25},
                          lambda o: S.ChainedScheduler([S.LinearLR(o, start_factor=1 / 26, total_iters=25),
                                                        S.StepLR(o, step_size=40, gamma=0.3)])),
}


@pytest.mark.parametrize('name', CASES)
def test_every_schedule_gives_pytorchs_rates(name):
    options, make = CASES[name]
    o = TrainerOptions(learning_rate=0.1, **options)
    ours = [rate(o, t) for t in range(STEPS)]
    np.testing.assert_allclose(ours, torch_rates(make), rtol=1e-9, atol=1e-15)
    assert len(set(ours)) > 1 or name == 'constant'


def test_cosine_stays_at_its_floor_after_its_steps_and_warmup_multiplies_any_schedule():
    o = TrainerOptions(learning_rate=0.1, schedule='cosine', total_steps=100, min_rate=0.002, warmup_steps=10)
    assert rate(o, 100) == rate(o, 1000) == pytest.approx(0.002)
    bare = TrainerOptions(learning_rate=0.1, schedule='cosine', total_steps=100, min_rate=0.002)
    assert [rate(o, t) for t in range(15)] == [rate(bare, t) * min(1 + t, 10 + 1) / 11 for t in range(15)]


def test_the_update_rule_gets_the_scheduled_rate():
    net = pycore.Net.from_spec(pycore.CONVNETJS_MNIST)
    tr = pycore.Trainer(net, method='sgd', momentum=0.0, learning_rate=0.1, batch_size=4,
                        schedule='step', step_size=2, gamma=0.5)
    x = np.random.default_rng(0).random((4, 1, 24, 24)).astype(np.float32)
    y = np.arange(4)
    seen = []
    for _ in range(5):
        w = net.layers[-2].params['w'].copy()
        assert tr.rate() == 0.1 * 0.5 ** (tr.steps // 2)
        rate_now = tr.rate()
        tr.train_batch(x, y)
        # sgd without momentum: w_new = w - rate * g, so the rate is (w - w_new) / g
        g = net.layers[-2].grads['w']
        nz = np.abs(g) > 1e-3
        seen.append(float(np.median((w - net.layers[-2].params['w'])[nz] / g[nz])))
        assert seen[-1] == pytest.approx(rate_now, rel=1e-3)
    assert seen[0] > seen[2] > seen[4]
    assert tr.options.learning_rate == 0.1          # each update's rate is its own: the options stay as set


def test_adadelta_has_no_rate_to_schedule():
    net = pycore.Net.from_spec(pycore.CONVNETJS_MNIST)
    x = np.random.default_rng(0).random((4, 1, 24, 24)).astype(np.float32)
    plain, scheduled = (pycore.Trainer(pycore.Net.from_spec(pycore.CONVNETJS_MNIST, seed=3), method='adadelta',
                                       batch_size=4, **extra) for extra in ({}, {'schedule': 'exponential', 'gamma': 0.1}))
    assert plain.rate() is None and scheduled.rate() is None
    for t in (plain, scheduled):
        t.train_batch(x, np.arange(4))
    for la, lb in zip(plain.net.layers, scheduled.net.layers):   # a schedule changes nothing adadelta does
        for k in la.params:
            np.testing.assert_array_equal(la.params[k], lb.params[k])
    assert pycore.Trainer(net, method='sgd').rate() == 0.01


def test_a_saved_run_continues_on_its_schedule_bit_for_bit():
    spec = pycore.CONVNETJS_MNIST
    x = np.random.default_rng(1).random((40, 1, 24, 24)).astype(np.float32)
    y = np.arange(40) % 10
    opts = dict(method='adam', learning_rate=0.01, batch_size=10, schedule='cosine', total_steps=20, warmup_steps=3)
    a = pycore.Net.from_spec(spec, seed=2)
    ta = pycore.Trainer(a, **opts)
    ta.train_batch(x, y)
    b, tb, _ = pycore.from_json(pycore.to_json(a, ta))
    assert tb.options == ta.options and tb.rate() == ta.rate()
    for _ in range(3):
        ta.train_batch(x, y)
        tb.train_batch(x, y)
    for la, lb in zip(a.layers, b.layers):
        for k in la.params:
            assert np.array_equal(la.params[k], lb.params[k])


@pytest.mark.parametrize('bad, message', [
    ({'schedule': 'linear'}, 'unknown learning-rate schedule'),
    ({'step_size': 0}, 'step_size must be a whole number of at least 1'),
    ({'total_steps': 2.5}, 'total_steps must be a whole number'),
    ({'warmup_steps': -1}, 'warmup_steps must be a whole number of at least 0'),
    ({'gamma': 0}, 'gamma must be above 0'),
    ({'gamma': 1.5}, 'gamma must be above 0 and at most 1'),
    ({'min_rate': float('nan')}, 'min_rate must be a non-negative number'),
])
def test_bad_schedule_options_are_refused(bad, message):
    with pytest.raises(PycoreError, match=message):
        TrainerOptions(**bad)


def test_the_charts_record_the_rate_when_the_rule_has_one():
    import history
    h = history.History()
    p = h.add(500, 500.0, 0.0, 500, (None, None, None), rate=0.02)   # loss sums over 500 examples
    assert p['loss'][1] == {'loss': 1.0, 'total': 1.0, 'rate': 0.02}
    p = h.add(1000, 1.0, 0.0, 500, (None, None, None))               # adadelta: no rate to draw
    assert 'rate' not in p['loss'][1]
