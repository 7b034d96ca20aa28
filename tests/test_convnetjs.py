"""pycore against the real ConvNetJS (convnetjs@0.3.0 from npm, run in Node): import, forward, training.

ConvNetJS computes in float64 (Float64Array), so the parity checks use float64 pycore nets.
The npm release 0.3.0 predates ConvNetJS's nesterov and adam trainers (it silently falls back to
sgd for them) and defaults eps to 1e-6 where later ConvNetJS, and pycore, use 1e-8; nesterov and
adam are therefore checked against PyTorch, and eps is passed explicitly.
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pytest

import pycore
from pycore import Net, Trainer, from_convnetjs
from pycore.optim import RULES
from pycore.trainer import TrainerOptions

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason='PyTorch is the reference for nesterov and adam')

PACKAGE = 'convnetjs@0.3.0'
TARBALL = 'convnetjs-0.3.0.tgz'
INTEGRITY = 'sha512-qG6VEbJS8FOQFR6xS0NMfUseR3P6GJ/JfAq2Ff8MrpeF5Y2HVmZI6zcakOYz50f34qq2SMumlUhB7gfmypo8lg=='
PRESEEDED = Path('/tmp/dl') / TARBALL    # a copy some machines already have; used only if it verifies

MNIST_DEFS = pycore.CONVNETJS_MNIST    # the demo's layer list, given to both libraries
# Non-square, depth 2, decay multipliers, tanh and the svm loss: catches x/y/depth mix-ups.
SMALL_DEFS = [
    {'type': 'input', 'out_sx': 5, 'out_sy': 3, 'out_depth': 2},
    {'type': 'conv', 'sx': 3, 'filters': 3, 'stride': 1, 'pad': 1, 'activation': 'relu',
     'l1_decay_mul': 1.0, 'l2_decay_mul': 0.5},
    {'type': 'pool', 'sx': 2, 'stride': 1},
    {'type': 'fc', 'num_neurons': 6, 'activation': 'tanh'},
    {'type': 'svm', 'num_classes': 3},
]
COMMON = {'batch_size': 4, 'l2_decay': 0.001}
MNIST_RUNS = {
    'adadelta': {'method': 'adadelta', 'eps': 1e-8},
    'adadelta-eps1e-6': {'method': 'adadelta', 'eps': 1e-6},
    'sgd': {'method': 'sgd', 'momentum': 0.9, 'learning_rate': 0.01},
    'adagrad': {'method': 'adagrad', 'learning_rate': 0.01, 'eps': 1e-8},
    'windowgrad': {'method': 'windowgrad', 'learning_rate': 0.01, 'eps': 1e-8},
}
SMALL_RUNS = {
    'sgd-l1': {'method': 'sgd', 'momentum': 0.0, 'learning_rate': 0.05, 'l1_decay': 0.01, 'l2_decay': 0.01},
    'adagrad-l1': {'method': 'adagrad', 'learning_rate': 0.05, 'l1_decay': 0.01, 'eps': 1e-8},
}

# Reads {defs, inputs: [[flat values in ConvNetJS order]], labels, runs: {name: trainer options}} on stdin.
# Writes the initial net.toJSON(), its weights in pycore's NCHW order (read with Vol.get), the
# forward output of every input, and per run the weights after one train() call per example plus
# every train() result.
NODE_SCRIPT = r"""
const convnetjs = require(process.argv[2]);
const req = JSON.parse(require('fs').readFileSync(0, 'utf8'));

let seed = 12345;                        // deterministic weights: ConvNetJS draws them from Math.random
Math.random = function () {              // mulberry32
  seed = (seed + 0x6D2B79F5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const [sx, sy, depth] = req.shape;
function vol(flat) {
  const V = new convnetjs.Vol(sx, sy, depth, 0.0);
  for (let i = 0; i < flat.length; i++) V.w[i] = flat[i];
  return V;
}

function nchw(net) {                     // [{w, b}] per conv/fc layer, w in pycore's order
  const out = [];
  net.layers.forEach((L, i) => {
    if (L.layer_type === 'conv') {
      const w = [];
      for (const f of L.filters)
        for (let d = 0; d < f.depth; d++)
          for (let y = 0; y < f.sy; y++)
            for (let x = 0; x < f.sx; x++) w.push(f.get(x, y, d));
      out.push({w: w, b: Array.from(L.biases.w)});
    } else if (L.layer_type === 'fc') {
      const P = net.layers[i - 1];       // fc weights index the input volume as ((W*y)+x)*depth+d
      const w = [];
      for (const f of L.filters)
        for (let d = 0; d < P.out_depth; d++)
          for (let y = 0; y < P.out_sy; y++)
            for (let x = 0; x < P.out_sx; x++) w.push(f.w[((P.out_sx * y) + x) * P.out_depth + d]);
      out.push({w: w, b: Array.from(L.biases.w)});
    }
  });
  return out;
}

const net0 = new convnetjs.Net();
net0.makeLayers(req.defs);
const json0 = JSON.parse(JSON.stringify(net0.toJSON()));
const result = {
  json: json0,
  params: nchw(net0),
  shapes: net0.layers.map(L => [L.layer_type, L.out_depth, L.out_sy, L.out_sx]),
  outputs: req.inputs.map(x => Array.from(net0.forward(vol(x), false).w)),
  runs: {},
};
for (const [name, options] of Object.entries(req.runs)) {
  const net = new convnetjs.Net();
  net.fromJSON(json0);
  const trainer = new convnetjs.Trainer(net, options);
  const stats = req.inputs.map((x, i) => trainer.train(vol(x), req.labels[i]));
  result.runs[name] = {params: nchw(net), stats: stats};
}
process.stdout.write(JSON.stringify(result));
"""


def cache_dir():
    if os.environ.get('LIVECNN_CACHE'):
        return Path(os.environ['LIVECNN_CACHE']).expanduser()
    return Path(os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache') / 'live-cnn'


def integrity(path):
    return 'sha512-' + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def fetch_convnetjs():
    """The verified npm tarball of ConvNetJS in the cache, fetched with `npm pack` when missing."""
    folder = cache_dir() / 'npm'
    path = folder / TARBALL
    if path.exists() and integrity(path) == INTEGRITY:
        return path
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        got = Path(tmp) / TARBALL
        if PRESEEDED.is_file() and integrity(PRESEEDED) == INTEGRITY:
            shutil.copyfile(PRESEEDED, got)
        else:
            npm = shutil.which('npm')
            if npm is None:
                pytest.fail(f'npm is needed once to fetch {PACKAGE} into {folder}')
            run = subprocess.run([npm, 'pack', PACKAGE], cwd=tmp, capture_output=True, text=True,
                                 timeout=300)
            if run.returncode != 0 or not got.exists():
                pytest.fail(f'npm pack {PACKAGE} failed:\n{run.stderr[-2000:]}')
        if integrity(got) != INTEGRITY:
            pytest.fail(f'{PACKAGE} from npm does not have the expected integrity {INTEGRITY}')
        os.replace(got, path)
    return path


@pytest.fixture(scope='session')
def convnet_js(tmp_path_factory):
    """Path to ConvNetJS's build/convnet.js, extracted from the npm tarball."""
    if shutil.which('node') is None:
        pytest.skip('node is not on PATH; the ConvNetJS parity tests run the real library in Node.js')
    tarball = fetch_convnetjs()
    out = tmp_path_factory.mktemp('convnetjs')
    with tarfile.open(tarball) as tar:
        member = tar.getmember('package/build/convnet.js')
        (out / 'convnet.js').write_bytes(tar.extractfile(member).read())
    return out / 'convnet.js'


def to_convnetjs(x):
    """(N, C, H, W) -> N flat lists in ConvNetJS's Vol order ((W*y)+x)*depth+d."""
    return [xi.transpose(1, 2, 0).ravel().tolist() for xi in x]


def run_convnetjs(script, defs, x, labels, runs, tmp_path):
    request = {'defs': defs, 'shape': [x.shape[3], x.shape[2], x.shape[1]], 'inputs': to_convnetjs(x),
               'labels': [int(v) for v in labels], 'runs': {k: COMMON | v for k, v in runs.items()}}
    js = tmp_path / 'run.js'
    js.write_text(NODE_SCRIPT)
    run = subprocess.run(['node', str(js), str(script)], input=json.dumps(request), capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, f'node failed:\n{run.stderr[-3000:]}'
    return json.loads(run.stdout)


def examples(shape, n, classes, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n,) + shape), rng.integers(0, classes, n)


@pytest.fixture(scope='session')
def mnist(convnet_js, tmp_path_factory):
    x, y = examples((1, 24, 24), 8, 10, seed=0)
    return x, y, run_convnetjs(convnet_js, MNIST_DEFS, x, y, MNIST_RUNS, tmp_path_factory.mktemp('mnist'))


@pytest.fixture(scope='session')
def small(convnet_js, tmp_path_factory):
    x, y = examples((2, 3, 5), 8, 3, seed=1)
    return x, y, run_convnetjs(convnet_js, SMALL_DEFS, x, y, SMALL_RUNS, tmp_path_factory.mktemp('small'))


def weighted(net):
    return [layer for layer in net.layers if layer.type in ('conv', 'fc')]


def float64_copy(js):
    """A float64 pycore net with ConvNetJS's exact weights (from_convnetjs builds float32 nets)."""
    net = Net.from_spec(from_convnetjs(js['json']).spec, dtype=np.float64)
    for layer, p in zip(weighted(net), js['params'], strict=True):
        layer.params['w'][...] = np.reshape(p['w'], layer.params['w'].shape)
        layer.params['b'][...] = p['b']
    return net


@pytest.mark.parametrize('case', ['mnist', 'small'])
def test_import_structure_and_weights(case, request):
    x, y, js = request.getfixturevalue(case)
    net = from_convnetjs(json.dumps(js['json']))
    assert net.dtype == np.float32
    # the same layers, with the same output shapes, as ConvNetJS made from the same definitions
    assert [(t, d, h, w) for t, d, h, w in js['shapes']] == \
           [(layer.type, *layer.out_shape) for layer in net.layers]
    defs = MNIST_DEFS if case == 'mnist' else SMALL_DEFS
    ours = Net.from_spec(defs)
    assert [layer.type for layer in ours.layers] == [layer.type for layer in net.layers]
    for a, b, p in zip(weighted(net), weighted(ours), js['params'], strict=True):
        # from_convnetjs's reordering agrees with reading every weight through Vol.get
        np.testing.assert_array_equal(a.params['w'], np.float32(np.reshape(p['w'], a.params['w'].shape)))
        np.testing.assert_array_equal(a.params['b'], np.float32(p['b']))
        # pycore's own spec expansion: same biases (0.1 before relu), decay multipliers, init scale
        np.testing.assert_array_equal(b.params['b'], np.float32(p['b']))
        assert a.decay_mul == b.decay_mul
        scale = np.sqrt(1.0 / np.prod(a.params['w'].shape[1:]))
        for w in (np.asarray(p['w']), b.params['w']):
            assert abs(w.std() / scale - 1) < (0.25 if w.size < 100 else 0.12), (a.type, w.size)
    if case == 'small':
        assert weighted(net)[0].decay_mul['w'] == (1.0, 0.5)


@pytest.mark.parametrize('case', ['mnist', 'small'])
def test_forward_matches(case, request):
    x, y, js = request.getfixturevalue(case)
    want = np.array(js['outputs'])
    got64 = float64_copy(js).forward(x)
    np.testing.assert_allclose(got64, want, rtol=1e-9, atol=1e-12)
    got32 = from_convnetjs(js['json']).forward(x.astype(np.float32))
    np.testing.assert_allclose(got32, want, rtol=2e-4, atol=1e-6)
    if case == 'mnist':
        np.testing.assert_allclose(want.sum(axis=1), 1, rtol=1e-12)
        assert want.std(axis=0).max() > 1e-4      # the inputs give different outputs


def check_training(js, x, y, name, options):
    cj = js['runs'][name]
    net = float64_copy(js)
    before = [{k: v.copy() for k, v in layer.params.items()} for layer in weighted(net)]
    trainer = Trainer(net, **(COMMON | options))
    stats = trainer.train_batch(x, y)
    assert trainer.steps == 2 and stats['steps'] == 2
    for i, (layer, p, p0) in enumerate(zip(weighted(net), cj['params'], before, strict=True)):
        for k in ('w', 'b'):
            after_js = np.reshape(p[k], p0[k].shape)
            step_js, step = after_js - p0[k], layer.params[k] - p0[k]
            assert np.abs(step_js).max() > 0, 'ConvNetJS did not train'
            # compare the change, not just the values, which barely move in two steps
            np.testing.assert_allclose(step, step_js, rtol=1e-8, atol=1e-9 * np.abs(step_js).max(),
                                       err_msg=f'{name}: {layer.type} layer {i} {k}')
            np.testing.assert_allclose(layer.params[k], after_js, rtol=1e-9, atol=1e-14)
    js_stats = cj['stats']
    assert [s['l2_decay_loss'] > 0 for s in js_stats] == [False, False, False, True] * 2
    np.testing.assert_allclose(stats['l2_decay_loss'], js_stats[-1]['l2_decay_loss'], rtol=1e-12)
    np.testing.assert_allclose(stats['l1_decay_loss'], js_stats[-1]['l1_decay_loss'], rtol=1e-12)
    js_loss = np.mean([s['cost_loss'] for s in js_stats])
    if net.layers[-1].type == 'svm':
        js_loss -= 1   # ConvNetJS's svm loop also counts the true class: margin 1, zero gradient
    np.testing.assert_allclose(stats['loss'], js_loss, rtol=1e-9)


@pytest.mark.parametrize('name', list(MNIST_RUNS))
def test_training_matches_mnist(mnist, name):
    x, y, js = mnist
    check_training(js, x, y, name, MNIST_RUNS[name])


@pytest.mark.parametrize('name', list(SMALL_RUNS))
def test_training_matches_small(small, name):
    x, y, js = small
    check_training(js, x, y, name, SMALL_RUNS[name])
    assert js['runs'][name]['stats'][-1]['l1_decay_loss'] > 0


def test_eps_default(mnist):
    """pycore's default eps is later ConvNetJS's 1e-8; npm 0.3.0 used 1e-6, which matters to adadelta."""
    assert TrainerOptions().eps == 1e-8
    x, y, js = mnist
    a, b = js['runs']['adadelta']['params'][0]['w'], js['runs']['adadelta-eps1e-6']['params'][0]['w']
    assert not np.allclose(a, b, rtol=1e-3, atol=0)


@needs_torch
@pytest.mark.parametrize('method, options, make', [
    ('adam', {'learning_rate': 0.05}, lambda p: torch.optim.Adam([p], lr=0.05)),
    ('adam', {'learning_rate': 0.01, 'beta1': 0.8, 'beta2': 0.95, 'eps': 1e-6},
     lambda p: torch.optim.Adam([p], lr=0.01, betas=(0.8, 0.95), eps=1e-6)),
    ('nesterov', {'learning_rate': 0.05, 'momentum': 0.9},
     lambda p: torch.optim.SGD([p], lr=0.05, momentum=0.9, nesterov=True)),
    ('sgd', {'learning_rate': 0.05, 'momentum': 0.8}, lambda p: torch.optim.SGD([p], lr=0.05, momentum=0.8)),
    ('sgd', {'learning_rate': 0.05, 'momentum': 0.0}, lambda p: torch.optim.SGD([p], lr=0.05)),
])
def test_update_rule_matches_torch(method, options, make):
    """Ten steps on log(cosh(d)) + d^2 / 4, so each gradient depends on the previous updates."""
    p0 = np.random.default_rng(4).standard_normal((3, 4))
    target = np.random.default_rng(5).standard_normal((3, 4))
    tp = torch.tensor(p0, requires_grad=True)
    opt = make(tp)
    p, state, o = p0.copy(), {}, TrainerOptions(method=method, **options)
    for _ in range(10):
        opt.zero_grad()
        d = tp - torch.tensor(target)
        (torch.log(torch.cosh(d)) + d ** 2 / 4).sum().backward()
        opt.step()
        RULES[method](p, np.tanh(p - target) + (p - target) / 2, state, o)
    assert np.abs(p - p0).max() > 0.05
    np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-10, atol=1e-12)


@needs_torch
def test_adam_through_trainer_matches_torch():
    """Adam on a whole net through Trainer (mean-loss gradient, l2 decay folded in) against torch."""
    spec = [{'type': 'input', 'out_sx': 3, 'out_sy': 2, 'out_depth': 1},
            {'type': 'fc', 'num_neurons': 4, 'activation': 'tanh'}, {'type': 'softmax', 'num_classes': 3}]
    net = Net.from_spec(spec, seed=1, dtype=np.float64)
    (w1, b1), (w2, b2) = [[torch.tensor(layer.params[k].copy(), requires_grad=True) for k in 'wb']
                          for layer in weighted(net)]
    opt = torch.optim.Adam([w1, b1, w2, b2], lr=0.02)
    trainer = Trainer(net, method='adam', learning_rate=0.02, batch_size=5, l2_decay=0.1)
    x, y = examples((1, 2, 3), 20, 3, seed=2)
    for start in range(0, 20, 5):
        xb, yb = torch.tensor(x[start:start + 5].reshape(5, -1)), torch.tensor(y[start:start + 5])
        scores = torch.tanh(xb @ w1.T + b1) @ w2.T + b2
        loss = torch.nn.functional.cross_entropy(scores, yb) + 0.1 * ((w1 ** 2).sum() + (w2 ** 2).sum()) / 2 / 5
        opt.zero_grad()
        loss.backward()
        opt.step()
    trainer.train_batch(x, y)
    assert trainer.steps == 4
    for layer, (w, b) in zip(weighted(net), [(w1, b1), (w2, b2)]):
        np.testing.assert_allclose(layer.params['w'], w.detach().numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(layer.params['b'], b.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_constants_match_convnetjs_demo():
    assert pycore.CONVNETJS_MNIST == MNIST_DEFS
    assert pycore.CONVNETJS_TRAINER == {'method': 'adadelta', 'batch_size': 20, 'l2_decay': 0.001}
