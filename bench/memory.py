"""The default page's renderer memory: after 30 s of training, the runtime's floor (a page whose
worker only starts Pyodide and imports NumPy), and where the rest goes."""
import json
import os
import time
from contextlib import closing
from pathlib import Path

from browser import launch
from stage import BOOT_S, log, watch_errors

MEMORY_S = 30        # training before the page's memory is read
FLOOR_SETTLE_S = 5   # and the floor page's, after its NumPy import
AT_REST_S = 8        # and a page's that waits (not training), while all its data arrives


def renderer_pids():
    """Chromium renderer processes now running (Linux /proc; empty elsewhere)."""
    pids = set()
    for pid in (os.listdir("/proc") if os.path.isdir("/proc") else []):
        try:
            if pid.isdigit() and "--type=renderer" in Path(f"/proc/{pid}/cmdline").read_text():
                pids.add(int(pid))
        except OSError:
            pass
    return pids


def process_memory(pid):
    """RSS, PSS and the anonymous (not file-backed) part of the PSS of a process, in bytes."""
    rollup = {k: int(v.split()[0]) * 1024 for k, v in
              (line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])}
    return {"rss": rollup["Rss"], "pss": rollup["Pss"], "pss_anon": rollup.get("Pss_Anon", 0)}


def measure_memory(browser, base, seconds):
    """The default page's renderer memory after `seconds` of training, and its main thread's JS heap."""
    if not os.path.isdir("/proc"):
        return {"error": "not measured: needs Linux's /proc"}, []
    before = renderer_pids()
    with closing(browser.new_context(viewport={"width": 1280, "height": 800})) as context:
        errors = []
        watch_errors(context, errors)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        log(f"page: memory after {seconds:g} s of training")
        page.goto(base)
        page.wait_for_selector('html[data-state="training"]', timeout=BOOT_S * 1000)
        page.wait_for_timeout(seconds * 1000)
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        procs = sorted((process_memory(pid) for pid in renderer_pids() - before), key=lambda m: -m["rss"])
        if not procs:
            raise RuntimeError("no new renderer process was found for the page")
        examples = int(page.text_content('[data-stat="examples"]').replace(",", ""))
    try:                  # a floor that fails to load leaves the page's figures standing
        floor, floor_errors = measure_floor(browser, base)
    except Exception as e:
        log(f"floor: FAILED: {e}")
        floor, floor_errors = {"error": str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}, []
    return {**procs[0], "seconds": seconds, "examples": examples, "js_heap_used": metrics["JSHeapUsedSize"],
            "js_heap_total": metrics["JSHeapTotalSize"], "other_renderers": len(procs) - 1,
            "floor": floor}, errors + floor_errors


def measure_floor(browser, base):
    """The renderer memory of a page whose worker only starts Pyodide and imports NumPy from the site's
    files (bench/static/floor.html): what the runtime takes before anything of ours is loaded."""
    before = renderer_pids()
    with closing(browser.new_context(viewport={"width": 1280, "height": 800})) as context:
        errors = []
        watch_errors(context, errors)
        page = context.new_page()
        log("floor: Pyodide and NumPy alone")
        page.goto(base + "bench/floor.html")
        ready = page.evaluate("window.floor")      # a promise (floor.js, run before the load event)
        if "error" in ready:
            raise RuntimeError(ready["error"])
        page.wait_for_timeout(FLOOR_SETTLE_S * 1000)
        procs = sorted((process_memory(pid) for pid in renderer_pids() - before), key=lambda m: -m["rss"])
        if not procs:
            raise RuntimeError("no new renderer process was found for the floor page")
    return {**procs[0], "wasm_heap": ready["wasm_heap"]}, errors


def measure_memory_parts(playwright, base, site, seconds):
    """Where the default page's renderer memory goes beyond the runtime's floor (RSS, in bytes):
    the default page with its data blocked (Pyodide, NumPy, pycore and the page, no images); with
    its data loaded but not training (?autoplay=0: a paused run, an embed not yet shown); after
    `seconds` of training, and its worker's JavaScript heap; then the same page again after a full
    garbage collection in its worker and page (what the collector had not yet freed). Its own
    browser, with gc exposed to scripts (--expose-gc)."""
    if not os.path.isdir("/proc"):
        return {"error": "not measured: needs Linux's /proc"}, []
    mnist = json.loads((site / "data" / "manifest.json").read_text())["datasets"]["mnist"]
    out = {"images": (mnist["train_count"] + mnist["test_count"]) * mnist["image_size"] ** 2}   # uint8, as the worker holds them
    browser, errors = launch(playwright, extra_args=["--js-flags=--expose-gc"]), []
    try:
        def rss_of(ready, block=None, query="", settle_s=FLOOR_SETTLE_S, then=None):
            before = renderer_pids()
            with closing(browser.new_context(viewport={"width": 1280, "height": 800})) as context:
                if block:
                    context.route(block, lambda route: route.abort())
                else:
                    watch_errors(context, errors)
                page = context.new_page()
                page.goto(base + query)
                page.wait_for_selector(ready, timeout=BOOT_S * 1000)
                page.wait_for_timeout(settle_s * 1000)
                largest = lambda: max((process_memory(pid) for pid in renderer_pids() - before), key=lambda m: m["rss"])
                return largest()["rss"], then and then(page, largest)
        log("memory parts: the page with its data blocked")
        out["page_without_data"], _ = rss_of('html[data-state="error"]', block="**/data/**")
        log("memory parts: the page with its data loaded, not training")
        out["at_rest"], _ = rss_of('html[data-state="waiting"]', query="?autoplay=0", settle_s=AT_REST_S)

        def collect(page, largest):
            worker = next(w for w in page.workers if "/worker.js" in w.url)
            heap = worker_heap(browser, page, worker.url)
            for target in (worker, page):
                target.evaluate("gc()")
            page.wait_for_timeout(2000)
            return heap, largest()["rss"]
        log(f"memory parts: the default page after {seconds:g} s of training, before and after a garbage collection")
        out["page"], (heap, out["page_after_gc"]) = rss_of('html[data-state="training"]', settle_s=seconds, then=collect)
        out["worker_js_heap"] = heap.get("usedSize")
    finally:
        browser.close()
    return out, errors


def worker_heap(browser, page, url):
    """The JavaScript heap of `page`'s dedicated worker at `url` (DevTools' Runtime.getHeapUsage:
    usedSize, totalSize, backingStorageSize), through the browser's DevTools target of it."""
    cdp = browser.new_browser_cdp_session()
    try:
        target = next(t for t in cdp.send("Target.getTargets")["targetInfos"] if t["type"] == "worker" and t["url"] == url)
        replies = []
        cdp.on("Target.receivedMessageFromTarget", lambda e: replies.append(json.loads(e["message"])))
        session = cdp.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": False})["sessionId"]
        cdp.send("Target.sendMessageToTarget", {"sessionId": session,
                                                "message": json.dumps({"id": 1, "method": "Runtime.getHeapUsage"})})
        end = time.monotonic() + 10
        while time.monotonic() < end:
            answer = next((m for m in replies if m.get("id") == 1), None)
            if answer:
                return answer.get("result", {})
            page.wait_for_timeout(50)          # (Playwright hands over events while it waits)
        raise RuntimeError("the worker's DevTools target did not answer")
    finally:
        cdp.detach()
