"""Bytecode the page would otherwise compile on every visit, compiled once here instead.

Pyodide ships its standard library and NumPy as sources only, and nothing it compiles in the
browser outlives the visit: each start-up compiled ~160 standard-library modules (about 1.3 s of
loadPyodide) and ~85 NumPy modules (0.35 s). This step runs Pyodide's own Python 3.12 under Node,
imports what the page imports, and writes those modules' bytecode as "unchecked-hash" .pyc files
(PEP 552: used without comparing timestamps, which zips and unpacking do not preserve):

- py/python-stdlib.zip: Pyodide's python_stdlib.zip, every source kept (tracebacks show them),
  plus name.pyc beside each start-up module's name.py, where zipimport looks first;
- py/numpy-bytecode.zip: __pycache__/*.pyc for NumPy's start-up modules, unpacked into
  site-packages after loadPackage('numpy').

The result is cached under a key of everything it depends on.
"""
import ast
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

from .assets import PYODIDE_STDLIB, PYODIDE_VERSION, ZIP_TIME, BuildError, run_tool, sha256_bytes

NUMPY_FILE = "py/numpy-bytecode.zip"
STDLIB_FILE = "py/python-stdlib.zip"
NUMPY_MODULES = ["numpy", "numpy.fft", "numpy.linalg", "numpy.random"]   # what pycore imports

# Run inside Pyodide: import everything, then return [numpy zip, standard-library zip] as bytes.
COMPILE_PY = """
import importlib, importlib.util, io, json, marshal, sys, zipfile
from pathlib import Path
for name in json.loads({required!r}):
    importlib.import_module(name)
for name in json.loads({optional!r}):     # pycore's imports: one Pyodide lacks fails at run time
    try:
        importlib.import_module(name)
    except ImportError:
        pass

def pyc(source, filename):
    # PEP 552 header: magic, flags 0b01 (hash-based, unchecked), source hash; then the code object.
    code = compile(source, filename, "exec", dont_inherit=True)
    return (importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little")
            + importlib.util.source_hash(source) + marshal.dumps(code))

def add(z, name, data):
    info = zipfile.ZipInfo(name, {zip_time!r})
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)

files = sorted({{m.__file__ for m in list(sys.modules.values()) if (getattr(m, "__file__", None) or "").endswith(".py")}})
site = Path(sys.modules["numpy"].__file__).parent.parent
numpy_zip = io.BytesIO()
with zipfile.ZipFile(numpy_zip, "w") as z:
    for f in files:
        src = Path(f)
        if src.is_relative_to(site / "numpy"):
            add(z, importlib.util.cache_from_source(f).removeprefix(str(site) + "/"), pyc(src.read_bytes(), f))

stdlib = f"/lib/python{{sys.version_info[0]}}{{sys.version_info[1]}}.zip"
stdlib_zip = io.BytesIO()
with zipfile.ZipFile(stdlib) as old, zipfile.ZipFile(stdlib_zip, "w") as z:
    for info in old.infolist():
        source = old.read(info)
        z.writestr(info, source)
        if f"{{stdlib}}/{{info.filename}}" in files:
            add(z, info.filename + "c", pyc(source, f"{{stdlib}}/{{info.filename}}"))
[numpy_zip.getvalue(), stdlib_zip.getvalue()]
"""
COMPILE_NODE = """
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
const [indexDir, stdlib, numpyOut, stdlibOut] = process.argv.slice(1);
const { loadPyodide } = await import(pathToFileURL(indexDir + '/pyodide.mjs').href);
const pyodide = await loadPyodide({ indexURL: indexDir + '/', stdLibURL: stdlib });
await pyodide.loadPackage('numpy', { messageCallback: () => {} });
const [numpyZip, stdlibZip] = pyodide.runPython(fs.readFileSync(0, 'utf8')).toJs();
fs.writeFileSync(numpyOut, numpyZip);
fs.writeFileSync(stdlibOut, stdlibZip);
"""


def stdlib_imports(*folders):
    """Standard-library modules imported anywhere in the .py files under `folders`, sorted."""
    names = set()
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
                if isinstance(node, ast.Import):
                    names.update(a.name for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module)
    return sorted(n for n in names if n.split(".")[0] in sys.stdlib_module_names)


def compile_bytecode(cache, runtime_dir, stdlib_bytes, wheel_sha, imports, log):
    """-> (NumPy bytecode zip, standard library zip with bytecode), compiled once with Node (cached).

    runtime_dir holds Pyodide's files and the NumPy wheel; stdlib_bytes is Pyodide's verified
    python_stdlib.zip; imports are the standard-library modules pycore needs besides NumPy's."""
    script = COMPILE_PY.format(required=json.dumps(NUMPY_MODULES), optional=json.dumps(list(imports)),
                               zip_time=ZIP_TIME)
    key = sha256_bytes(f"{PYODIDE_VERSION} {wheel_sha} {sha256_bytes(stdlib_bytes)}\n{script}".encode())[:16]
    folder = cache / "bytecode"
    numpy_zip, stdlib_zip = folder / f"numpy-{key}.zip", folder / f"stdlib-{key}.zip"
    if not (numpy_zip.exists() and stdlib_zip.exists()):
        log("compiling the standard library's and NumPy's bytecode with Pyodide under Node (once)")
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            tmp = Path(tmp)
            (tmp / PYODIDE_STDLIB).write_bytes(stdlib_bytes)
            run_tool(["node", "--input-type=module", "-e", COMPILE_NODE, str(runtime_dir),
                      str(tmp / PYODIDE_STDLIB), str(tmp / "numpy.zip"), str(tmp / "stdlib.zip")],
                     cwd=tmp, task="compile bytecode with Pyodide", stdin=script)
            check(tmp / "numpy.zip", "numpy/__pycache__/__init__.cpython-312.pyc")
            check(tmp / "stdlib.zip", "encodings/__init__.pyc")
            os.replace(tmp / "numpy.zip", numpy_zip)
            os.replace(tmp / "stdlib.zip", stdlib_zip)
    log(f"bytecode: ok (NumPy {numpy_zip.stat().st_size / 1e6:.1f} MB, "
        f"standard library {stdlib_zip.stat().st_size / 1e6:.1f} MB)")
    return numpy_zip, stdlib_zip


def check(path, expected):
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    if expected not in names:
        raise BuildError(f"compiling bytecode gave {path.name} with {len(names)} files and no {expected}")
