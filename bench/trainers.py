"""Which trainer learns fastest on the page: seconds from navigation to 97% and 98% on the whole test set.

    python3 bench/trainers.py [--repeats 3] [--seconds 70] [--only a,b] [--out FILE.md] [--json FILE]

Each candidate trains the default network on a freshly loaded default page (a new browser context:
empty cache, no saved run, every view drawing) with all its trainer options in the URL. Every
CHECK_S seconds the harness clicks the page's Save button and keeps the run file. After the run the
files are scored with pycore on all 10,000 test images, centre crop, as the page's own evaluation
does, so the scoring never takes the page's CPU. The repeats go round the candidates in turn, so a
slow spell of the machine hits all of them alike.
"""
import argparse
import json
import statistics
import sys
import tempfile
import time
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parent / "tests")]   # bench/ first: its run.py, not tests/run.py
import pycore                                           # noqa: E402
from pycore.bench import centre_accuracy                 # noqa: E402  centre crop, as the page scores
from browser import launch                              # noqa: E402
from report import with_section                         # noqa: E402
from stage import BOOT_S, load_chunks, log, machine_facts, prepare_site, start_server, watch_errors  # noqa: E402
sys.path.insert(0, str(HERE.parent / "site" / "py"))
from config import DEFAULT_TRAINER, TRAINERS, complete_options as complete, describe_trainer  # noqa: E402  the page's named trainers

HEADING = "Trainers: time to 97% and 98% on the page"   # this run's section of BENCHMARKS.md (bench/run.py keeps it)
CHECK_S = 2.5        # seconds between two saved copies of the run
GOALS = (0.97, 0.98)
L2 = 0.001           # every candidate keeps ConvNetJS's weight decay and momentum 0.9


def candidate(method, rate, batch, **schedule):
    return complete(method=method, learning_rate=rate, momentum=0.9, batch_size=batch, l2_decay=L2, **schedule)


def cosine(steps, floor):
    return {"schedule": "cosine", "total_steps": steps, "min_rate": floor}


# name -> trainer options; a shortlist from `python3 -m pycore.bench train` runs (see BENCHMARKS.md)
CANDIDATES = {
    "nesterov-b32-cosine": candidate("nesterov", 0.03, 32, **cosine(2000, 0.003)),
    "nesterov-b20-cosine": candidate("nesterov", 0.02, 20, **cosine(3000, 0.002)),
    "sgd-b32-cosine": candidate("sgd", 0.03, 32, **cosine(2000, 0.003)),
    "nesterov-b64-cosine": candidate("nesterov", 0.05, 64, **cosine(1000, 0.005)),
    "nesterov-b20": candidate("nesterov", 0.02, 20),
    "sgd-b10": candidate("sgd", 0.01, 10),
    "sgd-b20": candidate("sgd", 0.02, 20),
    "adam-b20": candidate("adam", 0.001, 20),
    "convnetjs": dict(TRAINERS["convnetjs"]["options"]),
}


def checkpoints(browser, base, options, seconds):
    """Train on a fresh page with `options` in its URL; -> [(s since navigation, run file text)]."""
    with closing(browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)) as context:
        errors = []
        watch_errors(context, errors)
        page = context.new_page()
        page.goto(base + "?" + urlencode(options))
        page.wait_for_selector('html[data-state="training"]', timeout=BOOT_S * 1000)
        notes = page.text_content("#url-notes") if page.locator("#url-notes").count() else ""
        saved = []
        while True:
            now = page.evaluate("performance.now() / 1000")
            if now > seconds:
                break
            with page.expect_download() as info:
                t = page.evaluate("""() => { document.querySelector('[data-control="save"]').click();
                                             return performance.now() / 1000; }""")
            saved.append((t, Path(info.value.path()).read_text()))
            page.wait_for_timeout(max(0, (t + CHECK_S - page.evaluate("performance.now() / 1000")) * 1000))
        if page.get_attribute("html", "data-state") == "error":
            raise RuntimeError(f"the page failed: {page.text_content('#error-message')}")
    return saved, errors, notes


def accuracy(text, images, labels):
    """The saved run's accuracy on the test images (centre crop) and its examples seen."""
    net, trainer, _ = pycore.from_json(text)
    return centre_accuracy(net, images, labels), trainer.examples


def score(saved, images, labels):
    """Score the copies in order until the last goal is met (and the last copy); -> a run's figures."""
    points, reached = [], {}
    for i, (t, text) in enumerate(saved):
        if len(reached) == len(GOALS) and i < len(saved) - 1:
            continue
        acc, examples = accuracy(text, images, labels)
        points.append({"s": round(t, 2), "examples": examples, "accuracy": acc})
        for g in GOALS:
            if acc >= g and g not in reached:
                reached[g] = points[-1]
    first, last = points[0], points[-1]
    rate = (last["examples"] - first["examples"]) / (last["s"] - first["s"]) if last["s"] > first["s"] else None
    return {"reached": {f"{round(g * 100)}": reached.get(g) for g in GOALS}, "points": points,
            "examples_per_s": rate, "last": last}


def summary(runs):
    """Per goal: the median seconds over the repeats (None when any repeat missed it) and each run's."""
    out = {}
    for g in GOALS:
        key = f"{round(g * 100)}"
        times = [r["reached"][key]["s"] if r["reached"][key] else None for r in runs]
        out[key] = {"runs_s": times, "median_s": statistics.median(times) if None not in times else None,
                    "reached": sum(t is not None for t in times)}
    rates = [r["examples_per_s"] for r in runs if r["examples_per_s"]]
    out["examples_per_s"] = statistics.median(rates) if rates else None
    out["last_accuracy"] = [r["last"]["accuracy"] for r in runs]
    return out


def markdown(results):
    def cell(v):
        return "—" if v is None else f"{v:.1f}"

    lines = ["| trainer | options | to 97% (s, median) | to 98% (s, median) | each run to 98% (s) | examples/s | accuracy at the end |",
             "|---|---|---|---|---|---|---|"]
    order = sorted(results["candidates"].items(),
                   key=lambda kv: (kv[1]["summary"]["98"]["median_s"] or 1e9, kv[1]["summary"]["97"]["median_s"] or 1e9))
    for name, c in order:
        s = c["summary"]
        each = ", ".join("—" if t is None else f"{t:.1f}" for t in s["98"]["runs_s"])
        last = ", ".join(f"{100 * a:.2f}" for a in s["last_accuracy"])
        lines.append(f"| {name} | {describe_trainer(c['options'])}{' (the page default)' if c['options'] == TRAINERS[DEFAULT_TRAINER]['options'] else ''} | {cell(s['97']['median_s'])} | {cell(s['98']['median_s'])} "
                     f"| {each} | {s['examples_per_s']:,.0f} | {last} |")
    m = results["machine"]
    return (f"## {HEADING}\n\n"
            f"Command: `{results['command']}`  \nDate: {results['date']}; {m['cores']} cores, Chromium {m['chromium']}; "
            f"{results['repeats']} runs of each, {results['seconds']:g} s each, a copy saved every {CHECK_S:g} s. "
            "Seconds are from navigation (a first visit: empty cache) to the first saved copy at or above the goal "
            "on all 10,000 test images; — means not within the run. Sorted by the median time to 98%. "
            "The candidates are a shortlist from runs of `python3 -m pycore.bench train --epochs 0.8334 --every 5000 "
            "--crops 1` on native CPython (sgd, nesterov and adam at batch 10 to 64, with and without a cosine "
            "schedule, two seeds each), which measure examples to 98%, not seconds.\n\n"
            + "\n".join(lines) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 bench/trainers.py", description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=70.0, help="train this long after navigation (default 70)")
    ap.add_argument("--only", help="comma-separated candidate names (default: all)")
    ap.add_argument("--out", help="write the markdown table here")
    ap.add_argument("--json", help="write the results as JSON here")
    ap.add_argument("--site", help="an already built site (default: build the working tree into a temp folder)")
    ap.add_argument("--cache", help="download cache (default: as build.py)")
    args = ap.parse_args(argv)
    names = args.only.split(",") if args.only else list(CANDIDATES)
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        sys.exit(f"error: no candidate {', '.join(unknown)}; the candidates are {', '.join(CANDIDATES)}")
    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory(prefix="live-cnn-trainers-") as scratch:
        site = prepare_site(args.site, args.cache, scratch)
        images, labels = load_chunks(site, None, "test")
        server, _, base = start_server(site, b"")
        results = {"command": "python3 bench/trainers.py " + " ".join(sys.argv[1:] if argv is None else argv),
                   "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "repeats": args.repeats,
                   "seconds": args.seconds, "candidates": {n: {"options": CANDIDATES[n], "runs": []} for n in names}}
        with sync_playwright() as p:
            browser = launch(p)
            results["machine"] = machine_facts(browser)
            for repeat in range(args.repeats):
                for name in names:
                    t0 = time.time()
                    saved, errors, notes = checkpoints(browser, base, CANDIDATES[name], args.seconds)
                    run = score(saved, images, labels)
                    run.update(errors=errors[:10], url_notes=notes)
                    results["candidates"][name]["runs"].append(run)
                    log(f"{name} run {repeat + 1}: 97% at {(run['reached']['97'] or {}).get('s')} s, "
                        f"98% at {(run['reached']['98'] or {}).get('s')} s, {run['examples_per_s'] or 0:.0f} examples/s, "
                        f"last {100 * run['last']['accuracy']:.2f}% ({time.time() - t0:.0f} s)")
            browser.close()
        server.shutdown()
    for c in results["candidates"].values():
        c["summary"] = summary(c["runs"])
    table = markdown(results)
    print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    if args.out:          # its own section of the file (bench/run.py writes the rest and keeps it)
        out = Path(args.out)
        out.write_text(with_section(out.read_text() if out.exists() else "", HEADING, table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
