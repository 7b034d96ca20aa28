"""Benchmark the live CNN against the issue's targets, in one headless Chromium run on localhost.

    python3 bench/run.py [--seconds 10] [--out BENCHMARKS.md] [--json results.json]

Measures training throughput (the page, pycore in a Pyodide worker, ConvNetJS 0.3.0 in a worker,
pycore on native CPython), cold and warm start, main-thread responsiveness and the time until the
page's full test-set accuracy passes 97% and 98% with the default trainer and with ConvNetJS's. ConvNetJS is fetched with `npm pack` into the
build cache and served only to the benchmark harness (bench/static), never put in dist/.
"""
import argparse
import json
import os
import re
import sys
import tempfile
import time
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from stage import (BOOT_S, HERE, assets, convnetjs_source, load_chunks, log, machine_facts,  # (stage puts the
                   prepare_site, start_server, watch_errors)             # repo and tests/ on sys.path)
import numpy as np                # noqa: E402
from browser import CHROMIUM_FLAGS, chromium_path, launch  # noqa: E402  the tests' Chromium and flags
from memory import MEMORY_S, measure_memory, measure_memory_parts, renderer_pids  # noqa: E402
import report                     # noqa: E402
from report import value          # noqa: E402
import trainers                   # noqa: E402  bench/trainers.py, whose section of the report this run keeps

WARMUP_S = 10        # training time on the page before its throughput window opens
WARM_RUNS = 2        # warm-cache navigations (their median is the figure)
WORKER_PATHS = ("/pyodide/", "/py/", "/data/")   # what the page's training worker fetches
STARTUP_RUNS = 6     # cold starts whose start-up long tasks are counted: one is too few, as the
                     # start-up's longest tasks come and go around 50 ms from run to run
STARTUP_S = 8        # training watched after each of those cold starts' first step
IN_SIGHT_S = 3       # after scrolling the network view into sight, before its frame timing


def measure_native(images, labels, seconds):
    from pycore.bench import speed_run
    log(f"native CPython: pycore.bench.speed_run for {seconds:g} s")
    return speed_run(images, labels, seconds=seconds), []


def bracketed(before, after):
    """Two native runs, one each side of the pycore worker's (the machine drifts over minutes): their
    mean examples/s, and each run's. Either alone if the other failed."""
    runs = [r["examples_per_s"] for r in (before, after) if "examples_per_s" in r]
    if not runs:
        return before
    return {**(before if "examples_per_s" in before else after), "examples_per_s": sum(runs) / len(runs), "runs": runs}


def measure_workers(browser, base, seconds):
    """pycore-in-Pyodide and ConvNetJS, one worker at a time, on the harness page with no UI."""
    with closing(browser.new_context()) as context:
        errors = []
        watch_errors(context, errors)
        page = context.new_page()
        page.goto(base + "bench/index.html")
        results = {}
        for kind in ("pycore", "convnetjs"):
            log(f"{kind} worker: training for {seconds:g} s")
            try:
                results[kind] = page.evaluate("([k, s, t]) => window.runBench(k, s, t)", [kind, seconds, seconds + BOOT_S])
            except Exception as e:
                results[kind] = {"error": re.sub(r"^Page\.evaluate: (Error: )?", "", str(e).strip().splitlines()[0])}
    return results, errors


EXAMPLES_NOW = """() => [performance.now(),
    Number(document.querySelector('[data-stat="examples"]').textContent.replace(/,/g, ''))]"""
HELPERS_BUSY_NOW = """() => Number(document.querySelector('[data-stat="helpers-busy"]').dataset.busyMs || 0)"""


def measure_parallel(browser, base, seconds, workers, rounds=2, query=""):
    """The default page's examples/s with 1 and with `workers` workers (data-parallel), views on,
    alternating (1, N, 1, N, ...) so that a drift of the machine hits both alike, and in each round
    the machine's bound for N (side_by_side). Beside each run,
    the cores in use over the same window: the page's main thread (its tasks, from DevTools), its
    renderer process (the main thread and every worker; Linux /proc) and the whole machine.
    query: more of the page's URL keys ("refresh=hold&": the views held, to see what drawing costs)."""
    errors, runs, cores, busy, side = [], {1: [], workers: []}, {1: [], workers: []}, [], []
    for _ in range(rounds):
        for n in (1, workers):
            with closing(browser.new_context(viewport={"width": 1280, "height": 800})) as context:
                watch_errors(context, errors)
                before = renderer_pids()
                page = context.new_page()
                cdp = context.new_cdp_session(page)
                cdp.send("Performance.enable")
                page.goto(f"{base}?{query}workers={n}")
                page.wait_for_function(f"""() => document.querySelector('[data-stat="workers"]').textContent === '{n}'""",
                                       timeout=(BOOT_S + 60) * 1000)
                log(f"parallel: {n} worker(s): {WARMUP_S} s warm-up, then {seconds:g} s")
                page.wait_for_timeout(WARMUP_S * 1000)
                pids = renderer_pids() - before
                t0, e0 = page.evaluate(EXAMPLES_NOW)
                c0, b0 = cpu_seconds(cdp, pids), page.evaluate(HELPERS_BUSY_NOW)
                page.wait_for_timeout(seconds * 1000)
                t1, e1 = page.evaluate(EXAMPLES_NOW)
                c1, b1 = cpu_seconds(cdp, pids), page.evaluate(HELPERS_BUSY_NOW)
                wall = (t1 - t0) / 1000
                runs[n].append((e1 - e0) / wall)
                if n > 1:       # the helpers' computing time as a share of theirs (the page's own figure)
                    busy.append((b1 - b0) / 1000 / wall / (n - 1))
                cores[n].append({k: (c1[k] - c0[k]) / wall if c1[k] is not None else None for k in c1})
        side.append(side_by_side(browser, base, seconds, workers, errors))
    one, many = float(np.median(runs[1])), float(np.median(runs[workers]))
    return {"workers": workers, "examples_per_s_1": one, f"examples_per_s_{workers}": many,
            "runs": {str(k): v for k, v in runs.items()}, "cores": {str(k): v for k, v in cores.items()},
            "helpers_busy": busy, "ratio": many / one,
            "side_by_side": side, "side_by_side_ratio": float(np.median(side)) / one}, errors


def side_by_side(browser, base, seconds, n, errors):
    """The machine's bound for n workers: n default pages with one worker each, training at once
    with nothing shared (the first with its views on, the others held), over one window;
    -> their examples/s summed. Data-parallel training cannot beat it: it does the same work and
    waits for the slowest piece of every batch besides."""
    contexts, pages = [], []
    try:
        for i in range(n):
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            contexts.append(context)
            watch_errors(context, errors)
            page = context.new_page()
            page.goto(f"{base}?workers=1" + ("&refresh=hold" if i else ""))
            page.wait_for_selector('html[data-state="training"]', timeout=BOOT_S * 1000)
            pages.append(page)
        log(f"parallel: {n} pages of 1 worker side by side: {WARMUP_S} s warm-up, then {seconds:g} s")
        pages[0].wait_for_timeout(WARMUP_S * 1000)
        first = [page.evaluate(EXAMPLES_NOW) for page in pages]
        pages[0].wait_for_timeout(seconds * 1000)
        last = [page.evaluate(EXAMPLES_NOW) for page in pages]
        return sum((e1 - e0) / ((t1 - t0) / 1000) for (t0, e0), (t1, e1) in zip(first, last))
    finally:
        for context in contexts:
            context.close()


def cpu_seconds(cdp, pids):
    """CPU seconds so far: the page's main thread (DevTools' TaskDuration), its renderer processes
    and the machine (None where /proc is missing)."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    renderer = machine = None
    if os.path.isdir("/proc"):
        renderer = 0.0
        for pid in pids:
            try:   # utime and stime, the 14th and 15th fields (after the command's closing parenthesis)
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                renderer += (int(fields[11]) + int(fields[12])) / tick
            except OSError:
                pass
        busy = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        machine = (sum(map(int, busy)) - int(busy[3]) - int(busy[4])) / tick   # all but idle and iowait
    return {"main_thread": metrics["TaskDuration"], "renderer": renderer, "machine": machine}


def navigate(page, url, handler, requests):
    """Load `url` and wait for the first training step; -> seconds from navigation, bytes before it."""
    requests.clear()
    start = time.time() * 1000
    page.goto(url)
    page.wait_for_selector('html[data-state="training"]', timeout=BOOT_S * 1000)
    origin, probe = page.evaluate("[performance.timeOrigin, window.__bench]")
    flip_ms = training_since(probe)
    flip = origin + flip_ms
    bodies = [n for t, _, n in handler.served if start <= t <= flip]
    answered = [code for t, _, code in handler.answered if start <= t <= flip]
    seen = [r for r in requests if finished_at(r) <= flip]
    return {"first_step_s": flip_ms / 1000,
            "stages_s": [[text, round(t / 1000, 2)] for text, t in probe["stages"]],
            "bytes_served": sum(bodies), "requests_served": len(answered),
            "not_modified": answered.count(304),
            "bytes_browser": sum(max(0, r.sizes()["responseBodySize"]) for r in seen),
            "requests_browser": len(seen),
            "worker_requests_browser": sum(any(p in urlsplit(r.url).path for p in WORKER_PATHS) for r in seen)}


def finished_at(request):
    """Epoch ms at which the response ended (its start when the timing has no end, e.g. a cache hit)."""
    t = request.timing
    return t["startTime"] + max(t["responseEnd"], 0)


def track_requests(context):
    """Every finished request of the context (page, its dedicated workers, service worker) in a list."""
    requests = []
    context.on("requestfinished", lambda r: requests.append(r))
    return requests


def page_sample(page):
    """-> (performance.now() ms, "Examples seen" as a number, layer-canvas paints so far)."""
    return page.evaluate("""() => [performance.now(),
        Number(document.querySelector('[data-stat="examples"]').textContent.replace(/,/g, '')),
        window.__bench.paints]""")


def responsiveness(probe, trained_from, first, last):
    """Main-thread figures from the page probe: long tasks since training began, frames in the window.

    first, last: page_sample() at the start and the end of the throughput window.
    """
    (t0, _, paints0), (t1, _, paints1) = first, last
    tasks = [d for s, d in probe["longtasks"] if trained_from <= s <= t1]
    window_tasks = [d for s, d in probe["longtasks"] if t0 <= s <= t1]
    frames = np.array([d for t, d in probe["frames"] if t0 <= t <= t1])
    seconds = (t1 - t0) / 1000
    pct = {f"frame_p{q}_ms": float(np.percentile(frames, q)) if len(frames) else None for q in (50, 95, 99)}
    return {"longest_task_ms": max(tasks, default=0.0), "long_tasks": len(tasks),
            "longest_task_in_window_ms": max(window_tasks, default=0.0), "long_tasks_in_window": len(window_tasks),
            "longtask_observer": probe.get("longtaskError") or "ok", "frames": int(len(frames)), **pct,
            "frame_max_ms": float(frames.max()) if len(frames) else None,
            "views_per_s": sum(t0 <= t <= t1 for t in probe["refreshes"]) / seconds,
            "layer_paints_per_s": (paints1 - paints0) / seconds}


def fresh_profile_context(playwright, profile):
    """A browser context on a new, empty on-disk profile, with the tests' Chromium and flags.

    Unlike browser.new_context() (an incognito-style context whose in-memory HTTP cache does not keep
    the 10 MB pyodide.asm.wasm), it has a disk cache as a returning visitor does.
    """
    path = chromium_path()
    return playwright.chromium.launch_persistent_context(
        profile, args=CHROMIUM_FLAGS, viewport={"width": 1280, "height": 800},
        **({"executable_path": path} if path else {}))


def training_window(page, seconds):
    """After WARMUP_S of training, the page's examples/s and main-thread figures over `seconds`."""
    log(f"page: {WARMUP_S} s warm-up, then {seconds:g} s of throughput and frame timing")
    page.wait_for_timeout(WARMUP_S * 1000)
    first = page_sample(page)
    page.wait_for_timeout(seconds * 1000)
    last = page_sample(page)
    probe = page.evaluate("window.__bench")
    trained_from = training_since(probe)
    (t0, n0, _), (t1, n1, _) = first, last
    throughput = {"examples_per_s": (n1 - n0) / ((t1 - t0) / 1000), "examples": n1 - n0, "seconds": (t1 - t0) / 1000}
    return throughput, responsiveness(probe, trained_from, first, last)


def in_sight_window(page, seconds):
    """The main-thread figures over `seconds` with the network view scrolled into sight, after
    IN_SIGHT_S: the page renders and paints only the layer boxes within 200 px of sight, so the
    default scroll position, with the network below the fold, is its lightest case. The longest
    task counts from the scroll on, which includes first painting the boxes that came into sight."""
    log(f"page: network view in sight, {IN_SIGHT_S} s, then {seconds:g} s of frame timing")
    scrolled = page.evaluate("() => { document.querySelector('#layers').scrollIntoView(); return performance.now(); }")
    page.wait_for_timeout(IN_SIGHT_S * 1000)
    first = page_sample(page)
    page.wait_for_timeout(seconds * 1000)
    last = page_sample(page)
    return responsiveness(page.evaluate("window.__bench"), scrolled, first, last)


def warm_starts(page, base, handler, requests):
    """Navigate to the page again WARM_RUNS times; the last run's figures with the median time."""
    runs = []
    for i in range(WARM_RUNS):
        log(f"page: warm start {i + 1}/{WARM_RUNS} (navigating again in the same profile)")
        runs.append(navigate(page, base, handler, requests))
    return {**runs[-1], "first_step_s": float(np.median([r["first_step_s"] for r in runs])),
            "runs_first_step_s": [r["first_step_s"] for r in runs],
            "service_worker": page.evaluate("!!(navigator.serviceWorker && navigator.serviceWorker.controller)")}


def measure_page(playwright, profile, base, handler, seconds):
    """Cold start, the page's throughput and responsiveness, then warm starts, in one fresh profile."""
    with closing(fresh_profile_context(playwright, profile)) as context:
        context.add_init_script(path=str(HERE / "static" / "page-probe.js"))
        errors = []
        watch_errors(context, errors)
        requests = track_requests(context)
        page = context.new_page()
        log("page: cold start (fresh profile: empty cache)")
        cold = navigate(page, base, handler, requests)
        throughput, main_thread = training_window(page, seconds)
        in_sight = in_sight_window(page, seconds)
        warm = warm_starts(page, base, handler, requests)
    return {"cold": cold, "warm": warm, "throughput": throughput, "main_thread": main_thread,
            "main_thread_in_sight": in_sight}, errors


def training_since(probe):
    """When the page first said "training" (the first step), in the page's ms (bench/static/page-probe.js)."""
    return next(t for s, t in probe["states"] if s == "training")


def measure_startup(playwright, scratch, base, runs):
    """Main-thread long tasks from the first step until STARTUP_S later, in `runs` cold starts,
    each in a new, empty profile."""
    errors, out = [], []
    for i in range(runs):
        log(f"start-up: cold start {i + 1}/{runs}, {STARTUP_S} s of training watched")
        with closing(fresh_profile_context(playwright, Path(scratch) / f"startup-{i}")) as context:
            context.add_init_script(path=str(HERE / "static" / "page-probe.js"))
            watch_errors(context, errors)
            page = context.new_page()
            page.goto(base)
            page.wait_for_selector('html[data-state="training"]', timeout=BOOT_S * 1000)
            page.wait_for_timeout(STARTUP_S * 1000)
            probe = page.evaluate("window.__bench")
            first = training_since(probe)
            tasks = [d for s, d in probe["longtasks"] if s >= first]
            out.append({"longest_task_ms": max(tasks, default=0.0), "long_tasks": len(tasks),
                        "first_step_s": first / 1000, "longtask_observer": probe.get("longtaskError") or "ok"})
    return {"runs": out, "seconds": STARTUP_S}, errors


def measure_accuracy(browser, base, site, seconds):
    """Seconds from navigation to 97% and 98% on the whole test set, for the page's default trainer
    (the plain URL) and ConvNetJS's (?trainer=convnetjs), on fresh pages one after the other.
    seconds: name -> how long that page trains. As bench/trainers.py: copies saved by the page's Save
    button every few seconds, scored afterwards with pycore."""
    images, labels = load_chunks(site, None, "test")
    out, errors = {}, []
    for name, options in (("default", {}), ("convnetjs", {"trainer": "convnetjs"})):
        log(f"page: {name} trainer, a copy of the run every {trainers.CHECK_S:g} s for {seconds[name]:g} s")
        saved, errs, notes = trainers.checkpoints(browser, base, options, seconds[name])
        errors += errs
        out[name] = {**trainers.score(saved, images, labels), "seconds": seconds[name], "url_notes": notes,
                     "options": json.loads(saved[-1][1])["trainer"]["options"]}
        hit = out[name]["reached"]
        log(f"  97% at {(hit['97'] or {}).get('s')} s, 98% at {(hit['98'] or {}).get('s')} s")
    return out, errors


METHOD = """
- Throughput (examples/s): the page's figure is the change of its "Examples seen" stat over the
  window, after 10 s of training, with every view updating at its default rate. The pycore worker
  runs `pycore.bench.speed_run` (batches of 200 examples, after one warm-up batch) in a module worker
  with no UI; ConvNetJS 0.3.0 trains in a classic worker in a tight loop, one `trainer.train(vol,
  label)` per example, reusing one input volume and no timers (its best case, not its demo's
  one-example-per-timer-tick); native runs the same `speed_run` in this Python with its NumPy,
  before the browser starts and again right after the two workers' windows: its figure is the mean
  of the two runs, as the machine's speed drifts over minutes.
  All use random 24x24 crops of the first 10,000 MNIST training images, scaled to [0, 1], and
  pycore's default kernels (FFT convolution at stride 1, by far the faster in Pyodide; natively,
  im2col for the first conv layer is 15-30% faster, so native pycore can beat its figure here).
- First step: from navigation (`performance.timeOrigin`) to `html[data-state="training"]`, recorded
  in the page by a MutationObserver. Empty cache: the first navigation in a new, empty browser
  profile. Warm cache: navigating to the page again in that profile (median of the runs), with its
  disk cache, and its service worker if the page registers one. A persistent profile is used because
  an incognito-style context's in-memory cache does not keep the 10 MB `pyodide.asm.wasm`, which
  then downloads on every visit.
- Bytes before the first step: "served" is the sum of response bodies the local server finished
  writing before the state changed, whoever asked (page, its dedicated worker, a service worker;
  a 304 sends no body). "Browser" is the sum of Playwright's `responseBodySize` over the browser
  context's finished requests whose response ended before the change; Chromium reports the
  dedicated worker's requests (Pyodide, NumPy, pycore, data: the ones counted as "the worker's")
  to the context too.
- Main thread: a `longtask` PerformanceObserver (longest task from the first training step to the
  end of the throughput window, which includes the page's start-up work right after the first
  step) and a requestAnimationFrame loop (frame-to-frame times in the window). A layer view refresh
  is a complete repaint of every layer box from one snapshot (the page paints a few milliseconds
  per frame and signals the end with a `views-painted` event); canvas paints/s counts every
  `putImageData` and `drawImage` on a canvas inside `#layers`. The page opens with the network view
  below the fold, and the page renders and paints the canvases of only the layer boxes within 200 px
  of sight, so the same figures are taken again with the network view scrolled into sight (its longest
  task counted from the scroll, which includes the first paint of the boxes that came into view);
  the long-task target takes the longest of these and of the start-up runs, the views target the
  lower rate (as opened, the page paints no layer canvas). Start-up runs: the page's start is its
  busiest time (the first step's charts and stats, the network view's boxes) and its longest tasks
  vary from run to run, so `--startup-runs` more cold starts (fresh profiles) each count the long
  tasks from the first step until 8 s later.
- Accuracy: a freshly loaded page (new incognito-style context: empty cache, no saved run, every
  view drawing) trains with the default trainer (the plain URL), then another with
  `?trainer=convnetjs`. Every 2.5 s the benchmark clicks the page's Save button and keeps the run
  file; afterwards each file is scored with pycore on all 10,000 test images (centre crop, as the
  page's own evaluation), so scoring takes none of the page's CPU. A time is when the first copy at
  or above the goal was saved, in seconds since navigation. The page's own whole-test-set
  evaluation (a few seconds after the test images arrive, then every minute) runs as usual.
- Memory: the default page's renderer process (the largest new one) after 30 s of training, from
  /proc/PID/smaps_rollup (RSS, PSS and its anonymous part), and its main thread's JS heap (DevTools).
  The floor, in the same run: a page (bench/static/floor.html) whose module worker starts Pyodide
  and imports NumPy from the site's own files and does nothing else, read 5 s after the import.
  The page minus the floor is what is ours: the images (55 MB as uint8 in the WebAssembly heap), the
  training's temporaries, the views and the page. Where it goes, in a browser of its own started with
  `--js-flags=--expose-gc`: the page with its data's requests refused (Pyodide, NumPy, pycore, the
  session and the page, no images), the page with its data loaded but not training (`?autoplay=0`,
  8 s after it says waiting: a paused run, an embed not yet shown), the default page after 30 s of
  training, and the same page again after gc() in its worker and its page (the garbage V8 had not
  yet collected: it lets array buffers pile up by tens of MB between collections).
- Data-parallel (`--workers N`): the default page with `?workers=1` and `?workers=N` alternated,
  each in a new browser context, after the helpers are up and 10 s of training; examples/s over the
  window as above (median of the rounds). Beside each run, the cores in use over the same window:
  the main thread's (DevTools' TaskDuration), the renderer process's (its main thread and every
  worker, from /proc/PID/stat) and the machine's (/proc/stat, all but idle and iowait); and with N
  workers, the share of the helpers' time spent computing their pieces (the page's "Helpers busy"
  figure: the busy time each helper reports with its results, over the window). In each round, the
  machine's bound: N default pages with one worker each train side by side, sharing nothing (the
  first with its views on, the others held), and their examples/s are summed over one window;
  data-parallel training does the same work and also waits for the slower piece of every batch, so
  it cannot beat that figure.
  How the workers share a batch (since 2026-12-07): every worker keeps a copy of the run. The
  training worker sends each helper its piece's crops together with its own gradient sums of the
  previous batch (as soon as its piece is done, with the next batch drawn); each copy adds all the
  pieces' sums in piece order and makes the same update, and each result carries a CRC-32 of the
  weights it came from, checked by the training worker. The held-out images of the moving
  validation and test accuracy are scored by a helper after it has sent its result, while it
  would wait for the next job. Before, the training worker sent the weights with every job and
  made the update alone, so a helper waited for the result's message, the update, the next draw
  and the job's message in turn (2 workers: 1.28x in the run of 2026-12-06 03:33). Interleaved
  2-worker windows of the two designs (scratch script, 6 rounds, 10 s each after 8 s of training):
  1.07x the examples/s for the copies (per-round ratios 0.95-1.14); taking the held-out scoring off
  the training worker added about 7% more in 3 rounds, with the helper busy 74-78% of the time
  instead of 59-64%.
  Timed inside the page with the copies (a scratch build with timers in both workers, 2 workers,
  batch 32, before the scoring moved): a batch took about 16.5 ms; the training worker spent
  11.4 ms on its 16 examples and the next draw, 2.1 ms on the slice's report (mostly the held-out
  scoring), 1 ms adding the helper's sums and updating, and 1.3 ms waiting; the helper spent
  12.4 ms updating and computing its 16, and 3.9 ms waiting. Cutting the training worker's piece to
  14 or 13 of 32 moved the waiting from one worker to the other and left the batch time unchanged.
  A message between two bare workers takes 0.1-0.3 ms here, even with two more threads spinning,
  so the waits are each worker's event loop being busy, not the messages. Expected scaling, with a
  core for each worker and two more for the page and the browser (estimated, not measured): a batch
  costs about its slowest piece (16 examples take about 11 ms here and 32 about 20, so a pass costs
  about 2.4 ms plus 0.55 ms an example: 8 about 6.8 ms, 4 about 4.6) plus
  3-4 ms that do not divide (both copies' update, the draw, the report, adding the sums, the
  waits), against about 26 ms for 32 on one worker: 1.5-1.75x for 2, 2.3-2.6x for 4, 2.5-3x for 8.
  With more than two workers a helper also waits for the others' sums, which reach it through the
  training worker once all are in (a helper-to-helper exchange would remove that wait). On 2 cores
  the page's drawing and the browser take part of the second core (the bound above). Not
  measured here: this machine has 2 cores.
"""


def run_step(results, key, fn, *args):
    """results[key] = fn(*args)[0]; a failure is recorded as {"error": message} and the run goes on."""
    try:
        results[key], errors = fn(*args)
        results.setdefault("console_errors", []).extend(errors[:20])
    except Exception as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        log(f"{key}: FAILED: {message}")
        results[key] = {"error": message}


def collect_throughput(r):
    """The four examples/s measurements side by side (a failed step's error in place of its figure)."""
    workers = r.pop("workers")
    return {"page": value(r, "page", "throughput") or r["page"],
            "pycore_worker": value(workers, "pycore") or workers,
            "convnetjs": value(workers, "convnetjs") or workers,
            "native": r.pop("native")}


def run(args, scratch):
    from playwright.sync_api import sync_playwright
    site = prepare_site(args.site, args.cache, scratch)
    results = {"command": "python3 bench/run.py " + " ".join(sys.argv[1:]), "seconds": args.seconds,
               "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    images, labels = load_chunks(site)
    run_step(results, "native", measure_native, images, labels, args.seconds)
    server, handler, base = start_server(site, convnetjs_source(args.cache))
    with sync_playwright() as p:
        browser = launch(p)
        results["machine"] = machine_facts(browser)
        run_step(results, "workers", measure_workers, browser, base, args.seconds)
        run_step(results, "native_after", measure_native, images, labels, args.seconds)
        results["native"] = bracketed(results["native"], results.pop("native_after"))
        run_step(results, "parallel", measure_parallel, browser, base, args.seconds, args.workers)
        run_step(results, "page", measure_page, p, Path(scratch) / "profile", base, handler, args.seconds)
        run_step(results, "startup", measure_startup, p, scratch, base, args.startup_runs)
        run_step(results, "memory", measure_memory, browser, base, MEMORY_S)
        run_step(results, "memory_parts", measure_memory_parts, p, base, site, MEMORY_S)
        run_step(results, "accuracy", measure_accuracy, browser, base, site,
                 {"default": args.accuracy_seconds, "convnetjs": args.convnetjs_seconds})
        browser.close()
    server.shutdown()
    results["throughput"] = collect_throughput(results)
    results["ratios"] = report.ratios(results)
    results["targets"] = report.targets(results)
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 bench/run.py", description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each throughput window (default 10)")
    ap.add_argument("--accuracy-seconds", type=float, default=75.0,
                    help="train the default trainer's page this long for the accuracy goals (default 75 s)")
    ap.add_argument("--convnetjs-seconds", type=float, default=180.0,
                    help="and ConvNetJS's trainer's page this long (default 180 s)")
    ap.add_argument("--workers", type=int, default=2, help="workers of the data-parallel throughput run (default 2)")
    ap.add_argument("--startup-runs", type=int, default=STARTUP_RUNS,
                    help=f"cold starts whose start-up long tasks are counted (default {STARTUP_RUNS})")
    ap.add_argument("--out", help="write a markdown report here, e.g. BENCHMARKS.md")
    ap.add_argument("--json", help="write the results as JSON here")
    ap.add_argument("--site", help="an already built site (default: build the working tree into a temp folder)")
    ap.add_argument("--cache", help="download cache (default: as build.py)")
    args = ap.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="live-cnn-bench-") as scratch:
            results = run(args, scratch)
    except assets.BuildError as e:
        sys.exit(f"error: {e}")
    text = json.dumps(results, indent=1)
    print(report.summary(results) + "\n\n" + text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    if args.out:          # bench/trainers.py's section of the file is kept
        out = Path(args.out)
        kept = report.section(out.read_text(), trainers.HEADING) if out.exists() else ""
        text = report.markdown(results, METHOD)
        out.write_text(report.with_section(text, trainers.HEADING, kept) if kept else text)
    failed = [k for k, v in {**results["throughput"], **results}.items() if isinstance(v, dict) and "error" in v]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
