"""The three engines side by side, in one run: for Chromium, Firefox ESR and WebKitGTK (the drivers
of tests/engines.py), the time from navigation until the page says it trains (the first training
step, in the page's own clock) and the examples trained over the next SECONDS; each engine opens the
default page fresh (an origin of its own). Ratios against Chromium are the figures to quote: the
machine is shared and its speed drifts.

    python3 bench/engines.py [--seconds 30] [--rounds 1] [--out FILE.json]
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]
import build  # noqa: E402
import engines  # noqa: E402
from pagekit import start_server  # noqa: E402

EXAMPLES = '[data-stat="examples"]'
# When the page first said "training": a MutationObserver set before the first step can only be
# added by a script that runs first, which WebDriver has not; the page's state is polled instead,
# every 50 ms, and the first poll that sees it is the time.
POLL_S = 0.05


def measure(engine, base, seconds):
    tab = engine.tab()
    try:
        t0 = time.monotonic()
        tab.goto(base + 'index.html')
        while tab.state() != 'training':
            if time.monotonic() - t0 > 120:
                raise RuntimeError(f'{engine.name}: not training after 120 s ({tab.errors()})')
            time.sleep(POLL_S)
        first = time.monotonic() - t0
        start_n, start_t = tab.number(EXAMPLES) or 0, time.monotonic()
        time.sleep(seconds)
        end_n, end_t = tab.number(EXAMPLES) or 0, time.monotonic()
        errors = tab.errors()
        return {'first_step_s': round(first, 2), 'examples_per_s': round((end_n - start_n) / (end_t - start_t), 1),
                'examples': [start_n, end_n], 'errors': errors,
                'workers': tab.number('[data-stat="workers"]')}
    finally:
        tab.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--seconds', type=float, default=30)
    parser.add_argument('--rounds', type=int, default=1, help='each engine this many times, interleaved')
    parser.add_argument('--out', help='write the figures as JSON here too')
    args = parser.parse_args(argv)
    site = Path(tempfile.mkdtemp()) / 'dist'
    build.build(site, log=lambda *a: None)
    results = {}
    from playwright.sync_api import sync_playwright
    from browser import launch
    with sync_playwright() as p:
        chromium = launch(p)
        opened = {}
        for name in engines.ENGINES:
            why = engines.missing(name)
            if why:
                print(f'{name}: skipped, {why}', file=sys.stderr)
            else:
                opened[name] = engines.Engine(name, chromium)
        try:
            for _ in range(args.rounds):            # rounds interleave the engines
                for name, engine in opened.items():
                    server, base = start_server(site)
                    try:
                        results.setdefault(name, []).append(measure(engine, base, args.seconds))
                    finally:
                        server.shutdown()
                        server.server_close()
                    print(f'{name}: {results[name][-1]}', file=sys.stderr, flush=True)
        finally:
            for engine in opened.values():
                engine.close()
            chromium.close()
    base_rate = sum(r['examples_per_s'] for r in results.get('chromium', [])) / max(1, len(results.get('chromium', [])))
    print(f"{'engine':<10} {'first step (s)':>15} {'examples/s':>11} {'vs Chromium':>12}")
    for name, runs in results.items():
        first = sum(r['first_step_s'] for r in runs) / len(runs)
        rate = sum(r['examples_per_s'] for r in runs) / len(runs)
        ratio = f'{rate / base_rate:.2f}x' if base_rate else '—'
        print(f'{name:<10} {first:>15.2f} {rate:>11.1f} {ratio:>12}')
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
