"""Benchmark the live CNN against the issue's targets, in one headless Chromium run on localhost.

    python3 bench/run.py [--seconds 10] [--out BENCHMARKS.md] [--json results.json]

Measures training throughput (the page, pycore in a Pyodide worker, ConvNetJS 0.3.0 in a worker,
pycore on native CPython), cold and warm start, main-thread responsiveness and the time until the
page's full test-set accuracy passes 95% and 98%. ConvNetJS is fetched with `npm pack` into the
build cache and served only to the benchmark harness (bench/static), never put in dist/.
"""
import argparse
import gzip
import json
import os
import platform
import re
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
import build                      # noqa: E402  the site build and its static-file handler
import numpy as np                # noqa: E402
from browser import launch        # noqa: E402  tests/browser.py: the tests' Chromium and flags

CONVNETJS_PACKAGE = ("convnetjs@0.3.0", "convnetjs-0.3.0.tgz",
                     "d6575958fa62ea25c9a59e884157aca448b8bd949fa7424f2f208732cddd7552")
WARMUP_S = 10        # training time on the page before its throughput window opens
BOOT_S = 90          # budget for Pyodide + NumPy + first data chunk on a loaded machine
EVAL_S = 60          # budget for one full test-set evaluation on the page
CAPTION = re.compile(r"([\d,]+) test images, accuracy ([\d.]+)% after ([\d,]+) training examples")
TEST_COUNT = 10000


def log(*args):
    print(*args, file=sys.stderr, flush=True)


class BenchHandler(build.Handler):
    """The site's handler, plus /bench/* from memory, and a record of every response body sent."""
    extra = {}       # URL path -> bytes
    served = []      # (epoch ms when the body was written, URL path, body bytes)

    def log_message(self, *args):
        pass

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


def prepare_site(site):
    """A built site: `site` as given, or a fresh build of the working tree into a temp folder."""
    if site:
        site = Path(site).resolve()
        if not (site / "manifest.json").is_file():
            raise build.BuildError(f"{site} is not a built site (no manifest.json); run python3 build.py")
        return site
    out = Path(tempfile.mkdtemp(prefix="live-cnn-bench-")) / "dist"
    log(f"building the site into {out}")
    build.build(out, fashion=False, log=lambda *a: None)
    return out


def convnetjs_source(cache):
    """build/convnet.js from the verified npm tarball (fetched with npm pack into the cache once)."""
    tgz = build.fetch_npm(build.resolve_cache(cache), CONVNETJS_PACKAGE, lambda *a: None)
    return build.read_tar_members(tgz, ["package/build/convnet.js"])["package/build/convnet.js"]


def start_server(site, convnet_js):
    extra = {f"/bench/{p.name}": p.read_bytes() for p in (HERE / "static").iterdir() if p.is_file()}
    extra["/bench/convnet.js"] = convnet_js
    handler = type("Handler", (BenchHandler,), {"extra": extra, "served": []})
    server = build.http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(site)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler, f"http://127.0.0.1:{server.server_address[1]}/"


def load_chunks(site, count=2):
    """The first `count` MNIST training chunks of the built site; -> images (N, 28, 28), labels (N,)."""
    manifest = json.loads((site / "data" / "manifest.json").read_text())
    images, labels = [], []
    for c in manifest["datasets"]["mnist"]["train"][:count]:
        raw = np.frombuffer(gzip.decompress((site / c["file"]).read_bytes()), np.uint8)
        labels.append(raw[:c["count"]])
        images.append(raw[c["count"]:].reshape(c["count"], 28, 28))
    return np.concatenate(images), np.concatenate(labels)


def measure_native(images, labels, seconds):
    from pycore.bench import speed_run
    log(f"native CPython: pycore.bench.speed_run for {seconds} s")
    return speed_run(images, labels, seconds=seconds)


def watch_errors(context, errors):
    """Collect console errors and uncaught exceptions of every page and worker in `context`."""
    def on_page(page):
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("worker", lambda w: w.on("console", lambda m: m.type == "error" and errors.append(m.text)))
    context.on("page", on_page)


def measure_workers(browser, base, seconds):
    """pycore-in-Pyodide and ConvNetJS, one worker at a time, on the harness page with no UI."""
    context = browser.new_context()
    errors = []
    watch_errors(context, errors)
    page = context.new_page()
    page.goto(base + "bench/index.html")
    results = {}
    for kind in ("pycore", "convnetjs"):
        log(f"{kind} worker: training for {seconds} s")
        try:
            results[kind] = page.evaluate("([k, s, t]) => window.runBench(k, s, t)", [kind, seconds, seconds + BOOT_S])
        except Exception as e:
            results[kind] = {"error": str(e).strip().splitlines()[0]}
    context.close()
    return results, errors


def navigate(page, url, handler, requests):
    """Load `url` and wait for the first training step; -> seconds from navigation, bytes before it."""
    requests.clear()
    start = time.time() * 1000
    page.goto(url)
    page.wait_for_selector('html[data-state="training"]', timeout=BOOT_S * 1000)
    origin, states = page.evaluate("[performance.timeOrigin, window.__bench.states]")
    flip_ms = next(t for s, t in states if s == "training")
    flip = origin + flip_ms
    served = [n for t, path, n in handler.served if start <= t <= flip]
    seen = [(r, in_worker) for r, in_worker in requests if finished_at(r) <= flip]
    browser_bytes = sum(r.sizes()["responseBodySize"] for r, _ in seen)
    worker_requests = sum(in_worker for _, in_worker in seen)
    return {"first_step_s": flip_ms / 1000, "bytes_served": sum(served), "responses_served": len(served),
            "bytes_browser": browser_bytes, "requests_browser": len(seen), "requests_from_workers": worker_requests}


def finished_at(request):
    """Epoch ms at which the response ended (its start when the timing has no end, e.g. a cache hit)."""
    t = request.timing
    return t["startTime"] + max(t["responseEnd"], 0)


def track_requests(context):
    """Every finished request of the context as (request, made by a worker?) in a list."""
    requests = []

    def on_finished(r):
        try:
            in_worker = r.frame is None     # Playwright raises for requests that no frame made
        except Exception:
            in_worker = True
        requests.append((r, in_worker))
    context.on("requestfinished", on_finished)
    return requests


def page_sample(page):
    return page.evaluate("""() => [performance.now(),
        Number(document.querySelector('[data-stat="examples"]').textContent.replace(/,/g, ''))]""")


def responsiveness(probe, trained_from, t0, t1):
    """Main-thread figures from the page probe: long tasks since training began, frames in [t0, t1]."""
    tasks = [d for s, d in probe["longtasks"] if s >= trained_from and s <= t1]
    frames = np.array([d for t, d in probe["frames"] if t0 <= t <= t1])
    seconds = (t1 - t0) / 1000
    pct = {f"frame_p{q}_ms": float(np.percentile(frames, q)) if len(frames) else None for q in (50, 95, 99)}
    return {"longest_task_ms": max(tasks, default=0.0), "long_tasks": len(tasks),
            "longtask_observer": probe.get("longtaskError") or "ok", "frames": int(len(frames)), **pct,
            "frame_max_ms": float(frames.max()) if len(frames) else None,
            "views_per_s": sum(t0 <= t <= t1 for t in probe["paintFrames"]) / seconds,
            "layer_paints_per_s": sum(t0 <= t <= t1 for t in probe["paints"]) / seconds}


def measure_page(browser, base, handler, seconds):
    """Cold start, then the page's throughput and responsiveness, then a warm start, in one context."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(path=str(HERE / "static" / "page-probe.js"))
    errors = []
    watch_errors(context, errors)
    requests = track_requests(context)
    page = context.new_page()
    log("page: cold start (fresh browser context)")
    cold = navigate(page, base, handler, requests)
    log(f"page: {WARMUP_S} s warm-up, then {seconds} s of throughput and frame timing")
    page.wait_for_timeout(WARMUP_S * 1000)
    (t0, n0) = page_sample(page)
    page.wait_for_timeout(seconds * 1000)
    (t1, n1) = page_sample(page)
    probe = page.evaluate("window.__bench")
    trained_from = next(t for s, t in probe["states"] if s == "training")
    throughput = {"examples_per_s": (n1 - n0) / ((t1 - t0) / 1000), "examples": n1 - n0, "seconds": (t1 - t0) / 1000}
    main_thread = responsiveness(probe, trained_from, t0, t1)
    log("page: warm start (second navigation, same context)")
    warm = navigate(page, base, handler, requests)
    warm["service_worker"] = page.evaluate("!!(navigator.serviceWorker && navigator.serviceWorker.controller)")
    context.close()
    return {"cold": cold, "warm": warm, "throughput": throughput, "main_thread": main_thread}, errors


def run_evaluation(page):
    """Click 'Recompute now' and wait for the new caption; -> (start s since navigation, caption)."""
    before = page.evaluate("document.querySelector('#confusion caption')?.textContent ?? ''")
    started = page.evaluate("""() => { document.querySelector('[data-control="evaluate"]').click();
                                       return performance.now() / 1000; }""")
    try:
        page.wait_for_function("""(prev) => {
            const c = document.querySelector('#confusion caption');
            return (c && c.textContent !== prev) || document.documentElement.dataset.state === 'error'; }""",
                               arg=before, timeout=EVAL_S * 1000)
    except Exception:
        note = page.text_content("#evaluation-note")
        raise RuntimeError(f"no evaluation result within {EVAL_S} s (page says: {note!r})") from None
    if page.get_attribute("html", "data-state") == "error":
        raise RuntimeError(f"the page failed: {page.text_content('#error-message')}")
    return started, page.text_content("#confusion caption")


def measure_accuracy(browser, base, timeout_s):
    """Re-score the full test set back to back on a freshly loaded page until 98% or `timeout_s`."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    errors = []
    watch_errors(context, errors)
    page = context.new_page()
    log(f"page: full test-set accuracy, evaluating back to back for up to {timeout_s} s")
    page.goto(base)
    page.wait_for_selector('html[data-state="training"]', timeout=BOOT_S * 1000)
    found, evaluations = {}, []
    while page.evaluate("performance.now() / 1000") < timeout_s and 98 not in found:
        started, caption = run_evaluation(page)
        m = CAPTION.search(caption)
        if not m:
            raise RuntimeError(f"unexpected confusion-matrix caption: {caption!r}")
        count, acc, examples = int(m[1].replace(",", "")), float(m[2]), int(m[3].replace(",", ""))
        evaluations.append({"started_s": round(started, 2), "images": count, "accuracy": acc, "examples": examples})
        log(f"  evaluation started at {started:.1f} s: {acc:.2f}% on {count:,} images after {examples:,} examples")
        for goal in (95, 98):
            if count == TEST_COUNT and acc >= goal and goal not in found:
                found[goal] = evaluations[-1]
    context.close()
    full = [e for e in evaluations if e["images"] == TEST_COUNT]
    best = max(full, key=lambda e: e["accuracy"], default=None)
    return {"timeout_s": timeout_s, "reached_95": found.get(95), "reached_98": found.get(98),
            "best": best, "evaluations": evaluations}, errors


def machine_facts(browser):
    mem = next((int(line.split()[1]) // 1024 for line in open("/proc/meminfo") if line.startswith("MemTotal")), None) \
        if os.path.exists("/proc/meminfo") else None
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor()) if os.path.exists("/proc/cpuinfo") else platform.processor()
    return {"cores": os.cpu_count(), "memory_mib": mem, "cpu": cpu, "os": platform.platform(),
            "chromium": browser.version, "python": platform.python_version(), "numpy": np.__version__,
            "pyodide": build.PYODIDE_VERSION}


def ratio(a, b):
    return a / b if a and b else None


def value(results, *keys):
    """results[k1][k2]...; None when a measurement is missing or failed."""
    for k in keys:
        if not isinstance(results, dict) or k not in results:
            return None
        results = results[k]
    return results


def headline(r):
    per_s = {name: value(r, "throughput", name, "examples_per_s") for name in ("page", "pycore_worker", "convnetjs", "native")}
    ratios = {"page / ConvNetJS": ratio(per_s["page"], per_s["convnetjs"]),
              "pycore worker / ConvNetJS": ratio(per_s["pycore_worker"], per_s["convnetjs"]),
              "Pyodide / native CPython": ratio(per_s["pycore_worker"], per_s["native"])}
    t98 = value(r, "accuracy", "reached_98", "started_s")
    targets = [
        ("page ≥5x ConvNetJS (stretch 8x)", ratios["page / ConvNetJS"], lambda v: v >= 5, "x"),
        ("pycore in Pyodide ≥50% of native", ratios["Pyodide / native CPython"], lambda v: v >= 0.5, "%"),
        ("first step ≤4 s cold", value(r, "page", "cold", "first_step_s"), lambda v: v <= 4, "s"),
        ("first step ≤2 s warm", value(r, "page", "warm", "first_step_s"), lambda v: v <= 2, "s"),
        ("no main-thread task >50 ms while training", value(r, "page", "main_thread", "longest_task_ms"),
         lambda v: v <= 50, "ms"),
        ("views refresh ≥10 Hz", value(r, "page", "main_thread", "views_per_s"), lambda v: v >= 10, "Hz"),
        ("test accuracy ≥98% within 60 s of page load", t98, lambda v: v <= 60, "s"),
    ]
    return ratios, [{"target": name, "value": v, "unit": unit, "met": None if v is None else bool(ok(v))}
                    for name, v, ok, unit in targets]


def fmt(v, unit=""):
    if v is None:
        return "—"
    if unit == "%":
        return f"{100 * v:.0f}%"
    if unit == "x":
        return f"{v:.2f}x"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}"


def accuracy_text(acc, goal):
    hit = acc.get(f"reached_{goal}") if acc else None
    if hit:
        return f"{hit['started_s']:.1f} s (evaluation started after {hit['examples']:,} examples: {hit['accuracy']:.2f}%)"
    best = acc.get("best") if acc else None
    return "not reached" + (f" (best {best['accuracy']:.2f}% at {best['started_s']:.1f} s)" if best else "")


def table_rows(r):
    tp, pg = r.get("throughput", {}), r.get("page", {})
    mt = pg.get("main_thread", {})
    rows = [(f"{label} (examples/s)", fmt(value(tp, key, "examples_per_s")) if "error" not in tp.get(key, {}) else
             "error: " + tp[key]["error"]) for key, label in
            (("page", "page, views updating"), ("pycore_worker", "pycore in Pyodide worker, no UI"),
             ("convnetjs", "ConvNetJS 0.3.0 worker, tight loop"), ("native", "pycore on native CPython"))]
    for kind in ("cold", "warm"):
        s = pg.get(kind, {})
        rows.append((f"first step, {'empty' if kind == 'cold' else 'warm'} cache (s)", fmt(s.get("first_step_s"))))
        rows.append((f"bytes before first step, {kind} (server / browser)",
                     f"{fmt(s.get('bytes_served'))} / {fmt(s.get('bytes_browser'))}"))
    rows += [("longest main-thread task while training (ms)", fmt(mt.get("longest_task_ms"))),
             ("frame time p50 / p95 / p99 (ms)", " / ".join(fmt(mt.get(f"frame_p{q}_ms")) for q in (50, 95, 99))),
             ("layer views refreshed per second", fmt(mt.get("views_per_s"))),
             ("full test set ≥95% (since navigation)", accuracy_text(r.get("accuracy"), 95)),
             ("full test set ≥98% (since navigation)", accuracy_text(r.get("accuracy"), 98))]
    return rows


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def report(r):
    """The results as markdown: command, date, machine, figures, ratios, targets."""
    m = r["machine"]
    targets = [(t["target"], fmt(t["value"], t["unit"]) + ("" if t["unit"] in ("%", "x") else f" {t['unit']}"),
                {True: "met", False: "not met", None: "not measured"}[t["met"]]) for t in r["targets"]]
    return "\n\n".join([
        "# Benchmarks", f"Command: `{r['command']}`  \nDate: {r['date']}",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_mib']:,} MiB memory, {m['os']}; "
        f"Chromium {m['chromium']} (headless); Python {m['python']} with NumPy {m['numpy']}; "
        f"Pyodide {m['pyodide']}. Throughput windows: {r['seconds']} s each.",
        "## Figures", markdown_table(["measure", "value"], table_rows(r)),
        "## Ratios", markdown_table(["ratio", "value"], [(k, fmt(v, "x")) for k, v in r["ratios"].items()]),
        "## Targets", markdown_table(["target", "measured", "status"], targets),
        "## How these were measured", METHOD.strip(),
    ]) + "\n"


METHOD = """
- Throughput: the page's figure is the change of its "Examples seen" stat over the window, after
  10 s of training, with every view updating at its default rate. The pycore worker runs
  `pycore.bench.speed_run` in a module worker with no UI; ConvNetJS trains in a classic worker in a
  tight loop, one `trainer.train(vol, label)` per example (one reused input volume, no timers); native
  runs the same `speed_run` in this Python. All use random 24x24 crops of the first 10,000 training images.
- First step: from navigation (`performance.timeOrigin`) to `html[data-state="training"]`, recorded
  in the page by a MutationObserver. Empty cache = a fresh browser context; warm cache = a second
  navigation in the same context (HTTP cache, and the service worker if the page registers one).
- Bytes before the first step: "server" is the sum of response bodies the local server wrote
  before the state changed (all requests of page, dedicated worker and service worker, 304s count
  0); "browser" is the sum of `responseBodySize` over the context's finished requests whose
  response ended before the change (Playwright sees dedicated-worker requests in Chromium).
- Main thread: a `longtask` PerformanceObserver (longest task from the first training step to the
  end of the window) and a requestAnimationFrame loop (frame-to-frame times in the window).
  A layer view refresh is an animation frame in which any canvas inside `#layers` was painted
  (`putImageData`/`drawImage` are wrapped to notice); headless Chromium paces frames itself.
- Accuracy: on a freshly loaded page (fresh context) the benchmark clicks "Recompute now" as soon
  as the previous result arrives; times are when each evaluation started, since navigation, and
  only results covering all 10,000 test images count.
"""


def run_step(results, key, fn, *args):
    """results[key] = fn(*args); a failure is recorded as {"error": message} and the run goes on."""
    try:
        results[key], errors = fn(*args)
        if errors:
            results.setdefault("console_errors", []).extend(errors[:20])
    except Exception as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        log(f"{key}: FAILED: {message}")
        results[key] = {"error": message}


def run(args):
    from playwright.sync_api import sync_playwright
    site = prepare_site(args.site)
    results = {"command": "python3 bench/run.py " + " ".join(sys.argv[1:]), "seconds": args.seconds,
               "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    images, labels = load_chunks(site)
    throughput = {}
    throughput["native"] = measure_native(images, labels, args.seconds)
    try:
        convnet_js = convnetjs_source(args.cache)
    except build.BuildError as e:
        log(f"ConvNetJS unavailable: {e}")
        throughput["convnetjs"] = {"error": f"ConvNetJS unavailable: {e}"}
        convnet_js = b"throw new Error('convnet.js unavailable');"
    server, handler, base = start_server(site, convnet_js)
    with sync_playwright() as p:
        browser = launch(p)
        results["machine"] = machine_facts(browser)
        run_step(results, "workers", measure_workers, browser, base, args.seconds)
        for key, name in (("pycore", "pycore_worker"), ("convnetjs", "convnetjs")):
            throughput.setdefault(name, value(results, "workers", key) or results["workers"])
        run_step(results, "page", measure_page, browser, base, handler, args.seconds)
        throughput["page"] = value(results, "page", "throughput") or results["page"]
        run_step(results, "accuracy", measure_accuracy, browser, base, args.accuracy_timeout)
        browser.close()
    server.shutdown()
    results["throughput"] = throughput
    results.pop("workers", None)
    results["ratios"], results["targets"] = headline(results)
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 bench/run.py", description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each throughput window (default 10)")
    ap.add_argument("--accuracy-timeout", type=float, default=240.0,
                    help="give up on the accuracy goals this long after page load (default 240 s)")
    ap.add_argument("--out", help="write a markdown report here, e.g. BENCHMARKS.md")
    ap.add_argument("--json", help="write the results as JSON here")
    ap.add_argument("--site", help="an already built site (default: build the working tree into a temp folder)")
    ap.add_argument("--cache", help="download cache (default: as build.py)")
    args = ap.parse_args(argv)
    try:
        results = run(args)
    except build.BuildError as e:
        sys.exit(f"error: {e}")
    print(markdown_table(["measure", "value"], table_rows(results)))
    print()
    print(markdown_table(["ratio", "value"], [(k, fmt(v, "x")) for k, v in results["ratios"].items()]))
    print()
    print(json.dumps(results, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    if args.out:
        Path(args.out).write_text(report(results))
    failed = [k for k, v in {**results["throughput"], **results}.items() if isinstance(v, dict) and "error" in v]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
