"""Turn bench/run.py's results into the headline ratios, the issue's targets, a table and markdown."""


def value(results, *keys):
    """results[k1][k2]...; None when a measurement is missing or failed."""
    for k in keys:
        if not isinstance(results, dict) or k not in results:
            return None
        results = results[k]
    return results


def ratio(a, b):
    return a / b if a and b else None


def ratios(r):
    per_s = {name: value(r, "throughput", name, "examples_per_s")
             for name in ("page", "pycore_worker", "convnetjs", "native")}
    return {"page / ConvNetJS": ratio(per_s["page"], per_s["convnetjs"]),
            "pycore worker / ConvNetJS": ratio(per_s["pycore_worker"], per_s["convnetjs"]),
            "Pyodide / native CPython": ratio(per_s["pycore_worker"], per_s["native"])}


def longest_task(r):
    """The longest main-thread task since the first step: the page as opened, with the network view
    in sight, and the start-up runs (cold starts)."""
    startup = [run["longest_task_ms"] for run in value(r, "startup", "runs") or []]
    found = [v for v in (value(r, "page", "main_thread", "longest_task_ms"),
                         value(r, "page", "main_thread_in_sight", "longest_task_ms"), *startup) if v is not None]
    return max(found) if found else None


def views_rate(r):
    """Views refreshed per second: the lower of the page as opened and with the network in sight.
    As opened, the network view is below the fold and the page paints none of its canvases, so
    only the figure in sight measures painting; the lower one is the target's."""
    found = [v for v in (value(r, "page", "main_thread", "views_per_s"),
                         value(r, "page", "main_thread_in_sight", "views_per_s")) if v is not None]
    return min(found) if found else None


def targets(r):
    """The issue's targets with the measured value and whether each is met (None: not measured)."""
    page_x = r["ratios"]["page / ConvNetJS"]
    rows = [
        ("page ≥5x ConvNetJS (stretch 8x)", page_x, "x", lambda v: v >= 5),
        ("pycore in Pyodide ≥50% of native", r["ratios"]["Pyodide / native CPython"], "%", lambda v: v >= 0.5),
        ("first step ≤4 s cold", value(r, "page", "cold", "first_step_s"), "s", lambda v: v <= 4),
        ("first step ≤2 s warm", value(r, "page", "warm", "first_step_s"), "s", lambda v: v <= 2),
        ("no main-thread task >50 ms while training", longest_task(r), "ms", lambda v: v <= 50),
        ("views refresh ≥10 Hz", views_rate(r), "Hz", lambda v: v >= 10),
        ("renderer memory ≤250 MB (RSS, default page)", value(r, "memory", "rss"), "MB", lambda v: v <= 250e6),
        ("2 workers ≥1.4x the examples/s of 1, views on", value(r, "parallel", "ratio"), "x", lambda v: v >= 1.4),
        ("test accuracy ≥98% within 60 s of page load", value(r, "accuracy", "default", "reached", "98", "s"),
         "s", lambda v: v <= 60),
    ]
    out = [{"target": name, "value": v, "unit": unit, "met": None if v is None else bool(ok(v))}
           for name, v, unit, ok in rows]
    out[0]["stretch_met"] = None if page_x is None else page_x >= 8
    floor = value(r, "memory", "floor", "rss")
    if floor is not None:
        memory = next(t for t in out if t["target"].startswith("renderer memory"))
        memory["floor"] = floor       # what Pyodide and NumPy alone take, measured in the same run
    if out[-1]["value"] is None and value(r, "accuracy", "default", "points"):
        out[-1]["met"] = False        # measured, but 98% was not reached
    return out


def fmt(v, unit=""):
    if v is None:
        return "—"
    if unit == "%":
        return f"{100 * v:.0f}%"
    if unit == "x":
        return f"{v:.2f}x"
    if unit == "MB":
        return f"{v / 1e6:.2f} MB"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}"


def throughput_cell(r, key):
    t = value(r, "throughput", key) or {}
    if "error" in t:
        return f"error: {t['error']}"
    runs = f" (mean of runs: {', '.join(f'{v:,.0f}' for v in t['runs'])})" if len(t.get("runs", [])) > 1 else ""
    return fmt(t.get("examples_per_s")) + runs


def bytes_cell(start):
    if not start:
        return "—"
    return (f"{fmt(start['bytes_served'], 'MB')} served ({start['requests_served']} requests reached the server, "
            f"{start['not_modified']} answered 304); browser: {fmt(start['bytes_browser'], 'MB')} over "
            f"{start['requests_browser']} requests, {start['worker_requests_browser']} of them the worker's")


def accuracy_cell(acc, trainer, goal):
    """When the page with `trainer` ('default', 'convnetjs') first held `goal`% on the whole test set."""
    if value(acc, "error"):
        return f"error: {acc['error']}"
    run = value(acc, trainer)
    if not run:
        return "—"
    hit = value(run, "reached", str(goal))
    if hit:
        return f"{hit['s']:.1f} s ({hit['examples']:,} examples: {100 * hit['accuracy']:.2f}%)"
    last = run["last"]
    return f"not within {run['seconds']:g} s ({100 * last['accuracy']:.2f}% at {last['s']:.1f} s)"


def parallel_cell(p):
    """1 worker against N, alternated in one run (bench/run.py --workers N)."""
    if not p:
        return "—"
    if "error" in p:
        return f"error: {p['error']}"
    n = p["workers"]
    runs = "; ".join(f"{k}: " + ", ".join(fmt(v) for v in vs) for k, vs in p["runs"].items())
    text = f"{fmt(p['examples_per_s_1'])} with 1, {fmt(p[f'examples_per_s_{n}'])} with {n}: {fmt(p['ratio'], 'x')} (runs {runs})"
    if p.get("cores"):
        text += "; cores in use (main thread / renderer / machine): " + "; ".join(
            f"{k}: " + " / ".join(mean_cores(runs_k, key) for key in ("main_thread", "renderer", "machine"))
            for k, runs_k in p["cores"].items())
    if p.get("helpers_busy"):
        text += f"; helpers busy with {n}: " + ", ".join(f"{100 * b:.0f}%" for b in p["helpers_busy"])
    if p.get("side_by_side"):
        text += (f"; the machine's bound, {n} pages of 1 worker side by side: {fmt(p['side_by_side_ratio'], 'x')} "
                 f"(" + ", ".join(fmt(v) for v in p["side_by_side"]) + " examples/s summed)")
    return text


def mean_cores(runs, key):
    values = [c.get(key) for c in runs]
    return "—" if not values or None in values else f"{sum(values) / len(values):.2f}"


def in_sight_cell(mt):
    if not mt:
        return "—"
    return (f"{fmt(mt['longest_task_ms'])} ({mt['long_tasks']} tasks >50 ms; in the window: "
            f"{fmt(mt['longest_task_in_window_ms'])}); " + " / ".join(fmt(mt.get(f"frame_p{q}_ms")) for q in (50, 95, 99))
            + f"; {fmt(mt['views_per_s'])} ({fmt(mt['layer_paints_per_s'])} layer-canvas paints/s)")


def startup_cell(st):
    """The start-up runs: the longest task of all, how many runs had one over 50 ms, each run's longest."""
    runs = value(st, "runs")
    if not runs:
        return f"error: {st['error']}" if isinstance(st, dict) and "error" in st else "—"
    longest = [run["longest_task_ms"] for run in runs]
    over = sum(run["long_tasks"] > 0 for run in runs)
    return (f"{fmt(max(longest))} ({over} of {len(runs)} runs had a task >50 ms; each run's longest: "
            + ", ".join(f"{v:.0f}" for v in longest) + ")")


def floor_cell(m):
    f = (m or {}).get("floor")
    if not f:
        return "—"
    if "error" in f:
        return f"error: {f['error']}"
    return (f"{fmt(f['rss'], 'MB')} RSS, {fmt(f['pss'], 'MB')} PSS, WebAssembly heap {fmt(f['wasm_heap'], 'MB')}; "
            f"the page takes {fmt(m['rss'] - f['rss'], 'MB')} RSS ({fmt(m['pss'] - f['pss'], 'MB')} PSS) more")


def memory_cell(m):
    if not m:
        return "—"
    if "error" in m:
        return f"error: {m['error']}"
    return (f"{fmt(m['rss'], 'MB')} RSS, {fmt(m['pss'], 'MB')} PSS ({fmt(m['pss_anon'], 'MB')} of it anonymous); "
            f"main thread's JS heap {fmt(m['js_heap_used'], 'MB')} used of "
            f"{fmt(m['js_heap_total'], 'MB')} (after {m['examples']:,} examples)")


def memory_parts_cell(r):
    """Where the default page's memory goes beyond the runtime's floor, each part measured (bench/run.py
    measure_memory_parts)."""
    p, floor = r.get("memory_parts"), value(r, "memory", "floor", "rss")
    if not p:
        return "—"
    if "error" in p:
        return f"error: {p['error']}"
    base = f"runtime floor {fmt(floor, 'MB')}; " if floor else ""
    rest = f"with its data loaded, not training {fmt(p['at_rest'], 'MB')}; " if "at_rest" in p else ""
    return (f"{base}the page with its data blocked (Pyodide, NumPy, pycore, the page) {fmt(p['page_without_data'], 'MB')}; "
            f"{rest}"
            f"the data, the training and the views add {fmt(p['page_after_gc'] - p['page_without_data'], 'MB')} "
            f"(the images {fmt(p['images'], 'MB')} of it); garbage a full collection frees "
            f"{fmt(p['page'] - p['page_after_gc'], 'MB')} (of {fmt(p['page'], 'MB')}); "
            f"the worker's JS heap {fmt(p['worker_js_heap'], 'MB')}")


def table_rows(r):
    pg = r.get("page", {})
    mt, cold, warm = pg.get("main_thread", {}), pg.get("cold"), pg.get("warm")
    warm_runs = ", ".join(f"{t:.2f}" for t in value(warm, "runs_first_step_s") or [])
    return [
        ("page, views updating (examples/s)", throughput_cell(r, "page")),
        ("pycore in a Pyodide worker, no UI (examples/s)", throughput_cell(r, "pycore_worker")),
        ("ConvNetJS 0.3.0 in a worker, tight loop (examples/s)", throughput_cell(r, "convnetjs")),
        ("pycore on native CPython (examples/s)", throughput_cell(r, "native")),
        ("first step, empty cache (s)", fmt(value(cold, "first_step_s"))),
        ("first step, warm cache (s, median)", fmt(value(warm, "first_step_s")) + (f" (runs: {warm_runs})" if warm_runs else "")),
        ("bytes before first step, empty cache", bytes_cell(cold)),
        ("bytes before first step, warm cache", bytes_cell(warm)),
        ("longest main-thread task since the first step (ms)", f"{fmt(mt.get('longest_task_ms'))} "
         f"({mt.get('long_tasks', '—')} tasks >50 ms; in the window: {fmt(mt.get('longest_task_in_window_ms'))})"),
        (f"start-up: longest main-thread task from the first step to {value(r, 'startup', 'seconds') or '—'} s later, "
         "over several cold starts (ms)", startup_cell(r.get("startup"))),
        ("frame time p50 / p95 / p99 (ms)", " / ".join(fmt(mt.get(f"frame_p{q}_ms")) for q in (50, 95, 99))),
        ("layer views refreshed per second", f"{fmt(mt.get('views_per_s'))} "
         f"({fmt(mt.get('layer_paints_per_s'))} layer-canvas paints/s)"),
        ("with the network view in sight: longest main-thread task since scrolling to it (ms); frame "
         "time p50 / p95 / p99 (ms); views refreshed per second", in_sight_cell(pg.get("main_thread_in_sight"))),
        ("renderer memory of the default page after 30 s of training", memory_cell(r.get("memory"))),
        ("renderer memory floor: a page whose worker only starts Pyodide and imports NumPy", floor_cell(r.get("memory"))),
        ("where the default page's memory goes (RSS after 30 s of training, its own run)", memory_parts_cell(r)),
        ("data-parallel: examples/s with 1 and N workers, views on (median)", parallel_cell(r.get("parallel"))),
        *((f"full test set ≥{goal}% since navigation, {label}", accuracy_cell(r.get("accuracy"), trainer, goal))
          for trainer, label in (("default", "default trainer"), ("convnetjs", "ConvNetJS's trainer"))
          for goal in (97, 98)),
    ]


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def summary(r):
    """The figures and the ratios as two markdown tables (what the command prints)."""
    return (markdown_table(["measure", "value"], table_rows(r)) + "\n\n"
            + markdown_table(["ratio", "value"], [(k, fmt(v, "x")) for k, v in r["ratios"].items()]))


def target_rows(r):
    rows = []
    for t in r["targets"]:
        shown = fmt(t["value"], t["unit"]) + ("" if t["unit"] in ("%", "x", "MB") or t["value"] is None else f" {t['unit']}")
        if t["target"].startswith("test accuracy") and t["value"] is None:
            shown = accuracy_cell(r.get("accuracy"), "default", 98)
        status = {True: "met", False: "not met", None: "not measured"}[t["met"]]
        if t.get("floor") is not None and not t["met"]:
            status += (f"; blocked by the runtime: Pyodide and NumPy alone take {fmt(t['floor'], 'MB')}"
                       if t["floor"] > 250e6 else f" (the runtime's floor is {fmt(t['floor'], 'MB')})")
        if t.get("stretch_met") is not None:
            status += f" (stretch: {'met' if t['stretch_met'] else 'not met'})"
        rows.append((t["target"], shown, status))
    return rows


def stage_lines(r):
    lines = []
    for kind in ("cold", "warm"):
        stages = value(r, "page", kind, "stages_s") or []
        if stages:
            steps = "; ".join(f"{t:.2f} {text.rstrip('…')}" for text, t in stages)
            lines.append(f"- {kind}: {steps}; {value(r, 'page', kind, 'first_step_s'):.2f} first training step")
    return "\n".join(lines) or "- not measured"


def markdown(r, method):
    """The results as markdown: command, date, machine, figures, ratios, targets, method."""
    m = r.get("machine", {})
    parts = [
        "# Benchmarks",
        f"Command: `{r['command']}`  \nDate: {r['date']}",
        f"Machine: {m.get('cores')} cores ({m.get('cpu')}), {m.get('memory_mib', 0):,} MiB memory, {m.get('os')}; "
        f"Chromium {m.get('chromium')} (headless); Python {m.get('python')} with NumPy {m.get('numpy')}; "
        f"Pyodide {m.get('pyodide')}. Throughput windows: {r['seconds']:g} s each.",
        "## Figures", markdown_table(["measure", "value"], table_rows(r)),
        "## Ratios", markdown_table(["ratio", "value"], [(k, fmt(v, "x")) for k, v in r["ratios"].items()]),
        "## Targets", markdown_table(["target", "measured", "status"], target_rows(r)),
        "## Loading stages (s since navigation, as the page showed them)", stage_lines(r),
        "## How these were measured", method.strip(),
    ]
    if r.get("console_errors"):
        parts += ["## Console errors during the run", "\n".join(f"- `{e}`" for e in r["console_errors"])]
    return "\n\n".join(parts) + "\n"


def section(text, heading):
    """The '## heading' section of a markdown text (up to the next '## '), or ''."""
    start = text.find(f"\n## {heading}\n")
    if start < 0:
        return ""
    end = text.find("\n## ", start + 1)
    return text[start + 1:end + 1 if end >= 0 else len(text)].rstrip() + "\n"


def with_section(text, heading, body):
    """text with its '## heading' section replaced by (or, if it has none, followed by) `body`."""
    old = section(text, heading)
    if old:
        return text.replace(old, body)
    return text.rstrip() + "\n\n" + body
