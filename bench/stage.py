"""What every benchmark stands on: the built site, served on localhost with the benchmark's own
pages (bench/static) and ConvNetJS beside it, the first MNIST chunks for native runs, a record of
the browser's errors, the machine's facts, and progress lines on stderr."""
import gzip
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT), str(ROOT / "tests")]   # bench/ first: its run.py, not tests/run.py
import build                      # noqa: E402  the site build
from buildkit import assets      # noqa: E402  pinned packages, fetched once into the build cache
from buildkit.server import Handler, make_server  # noqa: E402  the site's static-file server
import numpy as np                # noqa: E402

BOOT_S = 90          # budget for Pyodide + NumPy + first data chunk on a loaded machine


def log(*args):
    print(*args, file=sys.stderr, flush=True)


class BenchHandler(Handler):
    """The site's handler, plus /bench/* from memory, and a record of every response sent."""
    extra = {}       # URL path -> bytes
    served = []      # (epoch ms when the body was written, URL path, body bytes)
    answered = []    # (epoch ms, URL path, HTTP status) of every request, 304s included

    def log_message(self, *args):
        pass

    def log_request(self, code="-", size="-"):
        self.answered.append((time.time() * 1000, urlsplit(self.path).path, int(code)))

    def do_GET(self):
        path = urlsplit(self.path).path
        if not path.startswith("/bench/"):
            return super().do_GET()
        body = self.extra.get(path)
        if body is None:
            return self.send_error(404, "File not found")
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.served.append((time.time() * 1000, path, len(body)))

    def copyfile(self, source, outputfile):
        n = 0
        while block := source.read(1 << 20):
            outputfile.write(block)
            n += len(block)
        self.served.append((time.time() * 1000, urlsplit(self.path).path, n))


def prepare_site(site, cache, scratch):
    """A built site: `site` as given, or a fresh build of the working tree into scratch/dist."""
    if site:
        site = Path(site).resolve()
        if not (site / "manifest.json").is_file():
            raise assets.BuildError(f"{site} is not a built site (no manifest.json); run python3 build.py")
        return site
    out = Path(scratch) / "dist"
    log(f"building the site into {out}")
    build.build(out, cache_dir=cache, fashion=False, log=lambda *a: None)
    return out


CONVNETJS_PACKAGE = ("convnetjs@0.3.0", "convnetjs-0.3.0.tgz",
                     "d6575958fa62ea25c9a59e884157aca448b8bd949fa7424f2f208732cddd7552")


def convnetjs_source(cache):
    """build/convnet.js from the verified npm tarball (fetched with npm pack into the cache once).

    When it cannot be had, a script that throws the reason, so the ConvNetJS measurement fails
    with it and the others still run.
    """
    try:
        tgz = assets.fetch_npm(build.resolve_cache(cache), CONVNETJS_PACKAGE, lambda *a: None)
        return assets.read_tar_members(tgz, ["package/build/convnet.js"])["package/build/convnet.js"]
    except assets.BuildError as e:
        reason = f"ConvNetJS unavailable: {e} (a bad tarball in the cache can be deleted to fetch it again)"
        log(reason)
        return f"throw new Error({json.dumps(reason)});".encode()


def start_server(site, convnet_js):
    extra = {f"/bench/{p.name}": p.read_bytes() for p in (HERE / "static").iterdir() if p.is_file()}
    extra["/bench/convnet.js"] = convnet_js
    handler = type("Handler", (BenchHandler,), {"extra": extra, "served": [], "answered": []})
    server = make_server(site, port=0, handler=handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler, f"http://127.0.0.1:{server.server_address[1]}/"


def load_chunks(site, count=2, split="train"):
    """The first `count` (None: all) MNIST chunks of `split` in the built site; -> images (N, 28, 28), labels (N,)."""
    manifest = json.loads((site / "data" / "manifest.json").read_text())
    images, labels = [], []
    for c in manifest["datasets"]["mnist"][split][:count]:
        raw = np.frombuffer(gzip.decompress((site / c["file"]).read_bytes()), np.uint8)
        labels.append(raw[:c["count"]])
        images.append(raw[c["count"]:].reshape(c["count"], 28, 28))
    return np.concatenate(images), np.concatenate(labels)


def watch_errors(context, errors):
    """Collect console errors and uncaught exceptions of every page and worker in `context`."""
    def on_page(page):
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("worker", lambda w: w.on("console", lambda m: m.type == "error" and errors.append(m.text)))
    context.on("page", on_page)


def machine_facts(browser):
    mem_kib = proc_field("/proc/meminfo", "MemTotal")
    return {"cores": os.cpu_count(), "memory_mib": int(mem_kib.split()[0]) // 1024 if mem_kib else 0,
            "cpu": proc_field("/proc/cpuinfo", "model name") or platform.processor(), "os": platform.platform(),
            "chromium": browser.version, "python": platform.python_version(), "numpy": np.__version__,
            "pyodide": assets.PYODIDE_VERSION}


def proc_field(path, key):
    """The value of `key: value` in a /proc file (Linux), or None."""
    try:
        return next((line.split(":", 1)[1].strip() for line in open(path) if line.startswith(key)), None)
    except OSError:
        return None
