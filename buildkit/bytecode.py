"""Bytecode the page would otherwise compile on every visit, compiled once here instead.

Pyodide ships its standard library and NumPy as sources only, and nothing it compiles in the
browser outlives the visit: each start-up compiled ~160 standard-library modules (about 1.3 s of
loadPyodide), ~85 NumPy modules (0.35 s) and pycore (0.1 s). This step runs Pyodide's own Python
3.12 under Node, imports what the page's worker imports (NumPy, then `bridge`, which imports the
session and pycore) and writes those modules' bytecode as "unchecked-hash" .pyc files (PEP 552:
used without comparing timestamps, which zips and unpacking do not preserve):

- py/python-stdlib.zip: Pyodide's python_stdlib.zip, every source kept (tracebacks show them),
  plus name.pyc beside each start-up module's name.py, where zipimport looks first;
- py/numpy-bytecode.zip: __pycache__/*.pyc for NumPy's start-up modules, unpacked into
  site-packages after loadPackage('numpy');
- py/pycore.zip: the pycore zip the build made, plus __pycache__/*.pyc for its modules.

The results are cached under a key of everything they depend on, pycore's sources included.
"""
import os
import tempfile
import zipfile
from pathlib import Path

from .assets import PYODIDE_STDLIB, PYODIDE_VERSION, ZIP_TIME, BuildError, run_tool, sha256_bytes

NUMPY_FILE = "py/numpy-bytecode.zip"
STDLIB_FILE = "py/python-stdlib.zip"
PYCORE_FILE = "py/pycore.zip"
KINDS = ("numpy", "stdlib", "pycore")

# Run inside Pyodide, with the pycore zip at /pycore.zip: import what the worker imports, then
# return [numpy zip, standard-library zip, pycore zip] as bytes.
COMPILE_PY = """
import importlib.util, io, marshal, sys, zipfile
from pathlib import Path
LIVE = "/home/pyodide/live"                            # where the worker unpacks it
zipfile.ZipFile("/pycore.zip").extractall(LIVE)
sys.path.insert(0, LIVE)
import numpy, numpy.fft, numpy.linalg, numpy.random   # what pycore uses, some of it lazily
import bridge                                          # the session, pycore and their imports
files = {{m.__file__ for m in list(sys.modules.values()) if (getattr(m, "__file__", None) or "").endswith(".py")}}

def pyc(source, filename):
    # PEP 552 header: magic, flags 0b01 (hash-based, unchecked), source hash; then the code object.
    code = compile(source, filename, "exec", dont_inherit=True)
    return (importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little")
            + importlib.util.source_hash(source) + marshal.dumps(code))

def add(z, name, data):
    info = zipfile.ZipInfo(name, {zip_time!r})
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)

def with_bytecode(sources_zip, root, pyc_name):
    # The zip's entries unchanged, plus pyc_name(entry) for each entry imported from root/entry.
    buf = io.BytesIO()
    with zipfile.ZipFile(sources_zip) as old, zipfile.ZipFile(buf, "w") as z:
        for info in old.infolist():
            source = old.read(info)
            z.writestr(info, source)
            path = f"{{root}}/{{info.filename}}"
            if path in files:
                add(z, pyc_name(info.filename), pyc(source, path))
    return buf.getvalue()

site = Path(sys.modules["numpy"].__file__).parent.parent
numpy_zip = io.BytesIO()
with zipfile.ZipFile(numpy_zip, "w") as z:
    for f in sorted(files):
        if Path(f).is_relative_to(site / "numpy"):
            add(z, importlib.util.cache_from_source(f).removeprefix(str(site) + "/"), pyc(Path(f).read_bytes(), f))

stdlib = f"/lib/python{{sys.version_info[0]}}{{sys.version_info[1]}}.zip"
# zipimport looks for a/b.pyc beside a/b.py; the path finder for a/__pycache__/b.cpython-312.pyc.
[numpy_zip.getvalue(), with_bytecode(stdlib, stdlib, lambda name: name + "c"),
 with_bytecode("/pycore.zip", LIVE, importlib.util.cache_from_source)]
"""
COMPILE_NODE = """
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
const [indexDir, stdlib, pycore, ...outs] = process.argv.slice(1);
const { loadPyodide } = await import(pathToFileURL(indexDir + '/pyodide.mjs').href);
const pyodide = await loadPyodide({ indexURL: indexDir + '/', stdLibURL: stdlib });
await pyodide.loadPackage('numpy', { messageCallback: () => {} });
pyodide.FS.writeFile('/pycore.zip', fs.readFileSync(pycore));
const zips = pyodide.runPython(fs.readFileSync(0, 'utf8')).toJs();
zips.forEach((bytes, i) => fs.writeFileSync(outs[i], bytes));
"""
CHECKS = {"numpy": "numpy/__pycache__/__init__.cpython-312.pyc", "stdlib": "encodings/__init__.pyc",
          "pycore": "pycore/__pycache__/__init__.cpython-312.pyc"}


def compile_bytecode(cache, runtime_dir, stdlib_bytes, wheel_sha, pycore_bytes, log):
    """-> {"numpy", "stdlib", "pycore"}: paths of the three zips, compiled with Node (cached).

    runtime_dir holds Pyodide's files and the NumPy wheel; stdlib_bytes is Pyodide's verified
    python_stdlib.zip; pycore_bytes is the pycore zip the build made (pycore + the worker's modules)."""
    script = COMPILE_PY.format(zip_time=ZIP_TIME)
    key = sha256_bytes(f"{PYODIDE_VERSION} {wheel_sha} {sha256_bytes(stdlib_bytes)} "
                       f"{sha256_bytes(pycore_bytes)}\n{script}\n{COMPILE_NODE}".encode())[:16]
    folder = cache / "bytecode"
    paths = {kind: folder / f"{kind}-{key}.zip" for kind in KINDS}
    if not all(p.exists() for p in paths.values()):
        log("compiling the bytecode of the modules the page starts with (Pyodide under Node)")
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            tmp = Path(tmp)
            (tmp / PYODIDE_STDLIB).write_bytes(stdlib_bytes)
            (tmp / "pycore-sources.zip").write_bytes(pycore_bytes)
            outs = [tmp / f"{kind}.zip" for kind in KINDS]
            run_tool(["node", "--input-type=module", "-e", COMPILE_NODE, str(runtime_dir), str(tmp / PYODIDE_STDLIB),
                      str(tmp / "pycore-sources.zip"), *map(str, outs)],
                     cwd=tmp, task="compile bytecode with Pyodide", stdin=script,
                     when="once, and again whenever pycore changes,", timeout=300)
            for kind, out in zip(KINDS, outs):
                check(out, CHECKS[kind])
            for kind, out in zip(KINDS, outs):
                os.replace(out, paths[kind])
        prune(folder, key)
    sizes = ", ".join(f"{kind} {p.stat().st_size / 1e6:.1f} MB" for kind, p in paths.items())
    log(f"bytecode: ok ({sizes})")
    return paths


def check(path, expected):
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    if expected not in names:
        raise BuildError(f"compiling bytecode gave {path.name} with {len(names)} files and no {expected}")


def prune(folder, key):
    """Drop the zips of other keys: each pycore edit makes a new set."""
    for p in folder.glob("*-*.zip"):
        if p.name.split("-")[0] in KINDS and not p.name.endswith(f"-{key}.zip"):
            p.unlink(missing_ok=True)
