"""pycore under the real WebAssembly NumPy: the built site's Pyodide, run by Node (no browser)."""
import json
import shutil
import subprocess
import zipfile

import numpy as np
import pytest

from pycore import CONVNETJS_MNIST, Net

NODE = shutil.which('node')
pytestmark = pytest.mark.skipif(NODE is None, reason='Node.js is needed to run Pyodide outside a browser')

RUNNER = r"""
const fs = require('fs');
const path = require('path');
const [dist, code] = process.argv.slice(2);
const runtime = path.join(dist, 'pyodide', JSON.parse(fs.readFileSync(path.join(dist, 'manifest.json'))).pyodide_version);
const { loadPyodide } = require(path.join(runtime, 'pyodide.js'));
(async () => {
  const py = await loadPyodide({ indexURL: runtime + path.sep,
                                 stdLibURL: path.join(dist, 'py', 'python-stdlib.zip') });
  await py.loadPackage('numpy', { messageCallback: () => {} });
  const sitePackages = py.runPython('import site; site.getsitepackages()[0]');   // as the worker does
  py.unpackArchive(new Uint8Array(fs.readFileSync(path.join(dist, 'py', 'numpy-bytecode.zip'))), 'zip', { extractDir: sitePackages });
  py.unpackArchive(new Uint8Array(fs.readFileSync(path.join(dist, 'py', 'pycore.zip'))), 'zip', { extractDir: '/live' });
  py.runPython("import sys; sys.path.insert(0, '/live')");
  console.log('RESULT ' + py.runPython(fs.readFileSync(code, 'utf8')));
})().catch((e) => { console.error(e); process.exit(1); });
"""

PROGRAM = r"""
import importlib.machinery
compiled = []          # every module compiled from its source from here on (not read from a .pyc)
_source_to_code = importlib.machinery.SourceFileLoader.source_to_code
def _recording(self, data, path, *args, **kwargs):
    compiled.append(path)
    return _source_to_code(self, data, path, *args, **kwargs)
importlib.machinery.SourceFileLoader.source_to_code = _recording
import json, numpy as np, sys
from pycore import Net, CONVNETJS_MNIST, Trainer
from pycore.bench import speed_run
net = Net.from_spec(CONVNETJS_MNIST, seed=3, dtype=np.float64)
rng = np.random.default_rng(4)
x = rng.random((5, 1, 24, 24))
y = np.array([0, 3, 5, 7, 9])
net.forward(x)
loss = net.backward(y)
grads = {f'{i}.{k}': l.grads[k].tolist() for i, l in enumerate(net.layers) for k in l.grads}
images = np.random.default_rng(5).integers(0, 256, (400, 28, 28)).astype(np.uint8)
labels = np.random.default_rng(6).integers(0, 10, 400).astype(np.uint8)
speed = speed_run(images, labels, seconds=2)
from pycore.metrics import confusion_matrix
matrix = confusion_matrix(labels, labels[::-1], 10).tolist()
import os, site
packages = site.getsitepackages()[0]
pycs = {os.path.relpath(os.path.join(d, f), packages): int.from_bytes(open(os.path.join(d, f), 'rb').read(8)[4:], 'little')
        for d, _, files in os.walk(os.path.join(packages, 'numpy')) for f in files if f.endswith('.pyc')}
stdlib = {name: m.__file__ for name, m in list(sys.modules.items())
          if (getattr(m, '__file__', None) or '').startswith('/lib/python312.zip/')}
import traceback
def trace(fn):
    try:
        fn()
    except Exception:
        return traceback.format_exc()
tracebacks = [trace(lambda: json.loads('{')), trace(lambda: Net.from_spec([{'type': 'conv'}]))]
live = sorted(os.path.relpath(m.__file__, '/live') for m in list(sys.modules.values())
              if (getattr(m, '__file__', None) or '').startswith('/live/'))
json.dumps({'pycs': pycs, 'stdlib': stdlib, 'live': live, 'tracebacks': tracebacks, 'compiled': compiled, 'packages': packages, 'loss': loss, 'grads': grads, 'matrix': matrix, 'numpy': np.__version__, 'platform': sys.platform,
            'examples_per_s': speed['examples_per_s']})
"""


@pytest.fixture(scope='module')
def pyodide_result(site, tmp_path_factory):
    folder = tmp_path_factory.mktemp('pyodide')
    (folder / 'run.js').write_text(RUNNER)
    (folder / 'program.py').write_text(PROGRAM)
    done = subprocess.run([NODE, str(folder / 'run.js'), str(site), str(folder / 'program.py')],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(l for l in done.stdout.splitlines() if l.startswith('RESULT '))
    return json.loads(line[len('RESULT '):])


def test_runs_on_pyodide_numpy(pyodide_result):
    assert pyodide_result['platform'] == 'emscripten'
    assert pyodide_result['numpy'] == '2.0.2'
    assert pyodide_result['examples_per_s'] > 0
    labels = np.random.default_rng(6).integers(0, 10, 400).astype(np.uint8)
    from pycore.metrics import confusion_matrix
    assert pyodide_result['matrix'] == confusion_matrix(labels, labels[::-1], 10).tolist()
    print(f"pycore in Pyodide under Node: {pyodide_result['examples_per_s']:.0f} examples/s")


def test_numpy_imports_from_the_built_bytecode(pyodide_result, site):
    """NumPy is imported from py/numpy-bytecode.zip's .pyc files (PEP 552 unchecked-hash, flags
    0b01): the program, which imports numpy first, compiled none of its modules from source."""
    with zipfile.ZipFile(site / 'py' / 'numpy-bytecode.zip') as z:
        built = set(z.namelist())
    assert len(built) > 50 and 'numpy/__pycache__/__init__.cpython-312.pyc' in built
    assert set(pyodide_result['pycs']) == built
    assert set(pyodide_result['pycs'].values()) == {1}
    assert not [p for p in pyodide_result['compiled'] if p.startswith(pyodide_result['packages'] + '/numpy/')]


def test_standard_library_imports_from_the_built_bytecode(pyodide_result, site):
    """Each standard-library module the run imported that has a .pyc in py/python-stdlib.zip was
    loaded from that .pyc (zipimport's module __file__ names the file it used): none recompiled."""
    with zipfile.ZipFile(site / 'py' / 'python-stdlib.zip') as z:
        pycs = {n for n in z.namelist() if n.endswith('.pyc')}
    loaded = {file.removeprefix('/lib/python312.zip/') for file in pyodide_result['stdlib'].values()}
    compiled = {f.removesuffix('c') for f in loaded if f.endswith('.pyc')}
    assert {'encodings/__init__.py', 'json/__init__.py', 'asyncio/__init__.py', 'gzip.py'} <= compiled
    assert not {f for f in loaded if f.endswith('.py') and f + 'c' in pycs}
    assert len(compiled) > 100


def test_pycore_imports_from_the_built_bytecode(pyodide_result, site):
    """pycore's modules come from py/pycore.zip's .pyc files: of those the program imported, only
    pycore/bench.py, which the worker never imports and so has none, was compiled from source."""
    with zipfile.ZipFile(site / 'py' / 'pycore.zip') as z:
        built = {n for n in z.namelist() if n.endswith('.pyc')}
    assert {'pycore/__pycache__/__init__.cpython-312.pyc', 'pycore/__pycache__/conv.cpython-312.pyc',
            '__pycache__/session.cpython-312.pyc', '__pycache__/bridge.cpython-312.pyc'} <= built
    imported = set(pyodide_result['live'])
    assert {'pycore/__init__.py', 'pycore/conv.py', 'pycore/bench.py'} <= imported
    assert [p for p in pyodide_result['compiled'] if p.startswith('/live/')] == ['/live/pycore/bench.py']


def test_tracebacks_through_bytecode_show_the_source(pyodide_result):
    """The bytecode comes with its sources: a traceback through the standard library's .pyc files
    or pycore's still quotes each line."""
    stdlib, pycore = pyodide_result['tracebacks']
    assert 'File "/lib/python312.zip/json/decoder.py"' in stdlib and 'obj, end = self.scan_once(s, idx)' in stdlib
    assert 'File "/live/pycore/spec.py"' in pycore and 'PycoreError' in pycore
    lines = pycore.splitlines()
    quoted = [lines[i + 1].strip() for i, line in enumerate(lines[:-1]) if line.strip().startswith('File "/live/pycore/')]
    assert quoted and all(q and not q.startswith('File ') for q in quoted)


def test_same_gradients_as_cpython(pyodide_result):
    """Same spec, seed and data: the WebAssembly NumPy gives CPython's loss and gradients
    (which tests/test_gradients.py checks numerically)."""
    net = Net.from_spec(CONVNETJS_MNIST, seed=3, dtype=np.float64)
    rng = np.random.default_rng(4)
    x = rng.random((5, 1, 24, 24))
    net.forward(x)
    assert net.backward(np.array([0, 3, 5, 7, 9])) == pytest.approx(pyodide_result['loss'], rel=1e-12)
    for i, layer in enumerate(net.layers):
        for k, g in layer.grads.items():
            np.testing.assert_allclose(np.array(pyodide_result['grads'][f'{i}.{k}']), g, rtol=1e-9, atol=1e-13)

