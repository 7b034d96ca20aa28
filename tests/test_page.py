"""End-to-end: build the site, serve it on localhost, and drive the page in headless Chromium."""
import json
import re
import time

import pytest

from pagekit import BOOT_S, Watched, saved_examples, start_server, tab_id, wait_until

pytest.importorskip('playwright.sync_api', reason='install the test extra: pip install -e .[test]')


@pytest.fixture
def serve(site):
    servers = []

    def start(faults=None):
        server, url = start_server(site, faults)
        servers.append(server)
        return url
    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.fixture
def open_page(browser):
    pages = []

    def go(url):
        w = Watched(browser, url)
        pages.append(w)
        w.page.goto(url)
        return w
    yield go
    for w in pages:
        w.close()


def test_trains_and_learns(serve, open_page):
    url = serve()
    w = open_page(url)
    t0 = time.monotonic()
    w.wait_state('training', BOOT_S)
    started = time.monotonic() - t0
    first = wait_until(lambda: w.number('examples'), 20, 'the examples counter')
    wait_until(lambda: w.number('examples') > first + 500, 30, 'the examples counter to rise')
    # Chance is 10%: a clear rise shows the network really learns in the page.
    wait_until(lambda: (w.number('test-accuracy') or 0) > 60, 120, 'test accuracy above 60%')
    for name in ('fwd-ms', 'bwd-ms', 'loss', 'l2-loss', 'train-accuracy', 'validation-accuracy'):
        assert w.number(name) is not None and w.number(name) >= 0, name
    assert 0 < w.number('loss') < 2.3
    # Every activation map of the conv layers shows structure (is not one flat colour). The page
    # renders a box's maps only near sight: a tall window has every box in sight.
    w.page.set_viewport_size({'width': 1280, 'height': 6000})
    wait_until(lambda: w.page.evaluate('''() => {
        const maps = [...document.querySelectorAll('.layer[data-type="conv"] canvas[data-map="activations"]')];
        return maps.length === 8 + 16 && maps.every((c) => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let lo = 255, hi = 0;
            for (let i = 0; i < d.length; i += 4) { lo = Math.min(lo, d[i]); hi = Math.max(hi, d[i]); }
            return hi - lo > 50;
        });
    }'''), 10, 'drawn activation maps')
    layer_titles = w.page.locator('.layer h3').all_text_contents()
    assert layer_titles[:2] == ['input · 1×24×24', 'conv · 8×24×24']
    assert 'parameters: 8x5x5x1+8 = 208' in w.page.text_content('.layer[data-type="conv"]')
    assert w.errors == []
    assert w.foreign == []
    assert any('/data/mnist/train-00.bin.gz' in r for r in w.requests), 'worker requests are not observed'
    # The first chunks, fetched while Python starts (dataload.js's prefetch), are the ones used.
    chunks = [r for r in w.requests if '/data/' in r and r.endswith('.bin.gz')]
    assert len(chunks) == len(set(chunks)), sorted(chunks)
    print(f'training started {started:.1f} s after navigation')


FIRST_PAINTS = """(() => {
  const first = new Map();   // canvas -> animation frame of its first paint
  let frame = 0;
  const tick = () => { frame += 1; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  const put = CanvasRenderingContext2D.prototype.putImageData;
  CanvasRenderingContext2D.prototype.putImageData = function (...args) {
    if (!first.has(this.canvas) && this.canvas.closest && this.canvas.closest('#layers')) first.set(this.canvas, frame);
    return put.apply(this, args);
  };
  window.firstPaintsPerFrame = () => {
    const per = {};
    for (const f of first.values()) per[f] = (per[f] || 0) + 1;
    return per;
  };
})();"""


def test_layer_canvases_first_appear_a_few_per_frame(site, serve, browser):
    """A canvas's first paint costs the browser about a millisecond (compositor set-up), so the
    page shows the ~230 layer canvases at most 6 per frame (network.js's SHOWN_PER_FRAME), or one
    row when a row has more."""
    url = serve()
    w = Watched(browser, url)
    try:
        w.page.add_init_script(FIRST_PAINTS)
        w.page.set_viewport_size({'width': 1280, 'height': 6000})   # every box in sight: none is skipped
        w.page.goto(url)
        w.wait_state('training', BOOT_S)
        w.page.evaluate("""() => new Promise((resolve, reject) => {
            document.addEventListener('views-painted', resolve, { once: true });
            setTimeout(() => reject(new Error('no views-painted event within 20 s')), 20000);
        })""")
        per_frame = w.page.evaluate('window.firstPaintsPerFrame()')
        canvases, largest_row = w.page.evaluate("""() => [
            document.querySelectorAll('#layers canvas[data-map]').length,
            Math.max(...[...document.querySelectorAll('#layers .row')].map((r) => r.querySelectorAll('canvas[data-map]').length))]""")
        assert canvases > 200 and sum(per_frame.values()) == canvases
        assert max(per_frame.values()) <= max(6, largest_row), per_frame
        assert w.errors == []
    finally:
        w.close()


def test_layer_boxes_far_from_sight_are_not_rendered_and_are_shown_when_scrolled_to(serve, open_page):
    """Only the layer boxes within 200 px of sight are rendered (layerbox.js's NEAR_PX; the browser's
    own content-visibility margin is about 1.5 screens, and its canvases' layers made the longest
    tasks at start-up), and the page paints no canvas of the others, as they change several times a
    second; a box scrolled to is painted at once."""
    w = open_page(serve())
    w.wait_state('training', BOOT_S)
    w.page.evaluate("""() => new Promise((resolve) => document.addEventListener('views-painted', resolve, { once: true }))""")
    seen = """() => [...document.querySelectorAll('#layers .layer')].map((b) => {
        const row = b.querySelector('.rows .row');   // made once the box comes near sight
        return !!row && row.checkVisibility({ contentVisibilityAuto: true });
    })"""
    made = """() => [...document.querySelectorAll('#layers .layer')].map((b) => b.querySelectorAll('canvas[data-map], .bar-row').length)"""
    gaps = """() => [...document.querySelectorAll('#layers .layer')].map((b) => {
        const r = b.getBoundingClientRect();
        return Math.max(r.top - innerHeight, -r.bottom);   // px from the viewport's edge, <= 0 in sight
    })"""
    at_top, gap, canvases = w.page.evaluate(seen), w.page.evaluate(gaps), w.page.evaluate(made)
    # The network view starts below the fold: a box is rendered when it is within 200 px of sight,
    # and the rows of the others are not even made.
    assert len(at_top) == 9 and not at_top[-1], at_top
    assert [g <= 200 for g in gap if abs(g - 200) > 5] == [s for s, g in zip(at_top, gap) if abs(g - 200) > 5], (at_top, gap)
    assert [c > 0 for c in canvases] == at_top, (canvases, at_top)
    stats = """() => [...document.querySelectorAll('#layers .layer [data-stat="activations"]')].map((p) => p.textContent)"""
    assert all(t.startswith('activations ') and t != 'activations —' for t in w.page.evaluate(stats))   # its text is kept up to date
    probs = """() => [...document.querySelectorAll('.layer[data-type="softmax"] .bar-value')].map((b) => b.textContent)"""
    assert w.page.evaluate(probs) == []                      # ...and the page makes none of the softmax box's bars
    w.page.evaluate("document.querySelector('#layers .layer[data-type=\"softmax\"]').scrollIntoView()")
    wait_until(lambda: w.page.evaluate(seen)[-1], 5, 'the softmax box to be made and rendered once in sight')
    wait_until(lambda: not w.page.evaluate(seen)[0], 5, 'the input box, now far above, to be skipped')
    # Once in sight it is painted: ten probabilities that sum to one.
    shown = wait_until(lambda: all(w.page.evaluate(probs)) and w.page.evaluate(probs), 5, 'the probabilities')
    assert abs(sum(map(float, shown)) - 1) < 0.01, shown
    # Far from sight again, it is skipped, and its rows stay made.
    in_sight = w.page.evaluate(made)[-1]
    w.page.evaluate("scrollTo(0, 0)")
    wait_until(lambda: not w.page.evaluate(seen)[-1], 5, 'the softmax box, far again, to be skipped')
    assert w.page.evaluate(made)[-1] == in_sight > 10
    assert w.errors == []


def test_layer_rows_are_built_one_canvas_at_a_time(serve, open_page):
    """buildSome makes the rows' canvases one per step (a row of 32 maps made at once took 5-16 ms):
    with no budget each call adds at most one canvas, and the calls add them all; but only for boxes
    near sight (making them made the longest tasks at start-up, for boxes nobody saw)."""
    w = open_page(serve())
    w.wait_state('training', BOOT_S)
    counts = w.page.evaluate("""async () => {
        const m = await import('/page/views/layerbox.js?probe');   // a module instance of its own
        const frames = (n) => new Promise((resolve) => { const f = () => (n-- ? requestAnimationFrame(f) : resolve()); f(); });
        const root = document.body.appendChild(document.createElement('div'));
        root.style.marginTop = `${3 * innerHeight}px`;        // far below sight
        m.buildLayers(root, [{ type: 'input', shape: [1, 24, 24] },
                             { type: 'conv', shape: [8, 24, 24], weight_shapes: { w: [8, 1, 5, 5], b: [8] } }]);
        const count = () => root.querySelectorAll('canvas[data-map]').length;
        await frames(3);                                       // the observer has seen where the boxes are
        const far = [m.buildSome(0), m.buildSome(1000), count()];
        root.scrollIntoView();
        await frames(3);
        const counts = [count()];
        for (let i = 0; i < 1000 && m.buildSome(0) === 'busy'; i++) counts.push(count());
        counts.push(count());
        // Rows part made when their boxes go far (scrolled past) are painted as they are: the
        // next call says 'done' (a paused page paints only then), and then 'idle'.
        m.buildLayers(root, [{ type: 'input', shape: [1, 24, 24] },
                             { type: 'conv', shape: [8, 24, 24], weight_shapes: { w: [8, 1, 5, 5], b: [8] } }]);
        await frames(3);
        const part = [m.buildSome(0), m.buildSome(0), m.buildSome(0), m.buildSome(0)];
        scrollTo(0, 0);
        await frames(3);
        part.push(count(), m.buildSome(0), m.buildSome(0), count());
        root.remove();
        return { far, counts, part };
    }""")
    assert counts['far'] == ['idle', 'idle', 0], counts
    assert counts['part'][:4] == ['busy'] * 4 and 0 < counts['part'][4] < 35, counts['part']
    assert counts['part'][5:] == ['done', 'idle', counts['part'][4]], counts['part']
    counts = counts['counts']
    steps = [b - a for a, b in zip(counts, counts[1:])]
    # input: 1 map; conv: 8 maps, 8 gradient maps, 8 filters + bias, 8 filter gradients + bias
    assert counts[0] == 0 and counts[-1] == 1 + 8 + 8 + 9 + 9, counts
    assert max(steps) <= 1, counts
    assert w.errors == []


def test_pause_and_resume(serve, open_page):
    w = open_page(serve())
    w.wait_state('training', BOOT_S)
    wait_until(lambda: w.number('examples'), 20, 'the examples counter')
    w.page.click('#pause')
    w.wait_state('paused', 5)
    assert w.page.text_content('#pause') == 'Resume'
    time.sleep(0.5)                                   # let the last slice finish reporting
    frozen = w.number('examples')
    time.sleep(2)
    assert w.number('examples') == frozen
    w.page.click('#pause')
    w.wait_state('training', 5)
    wait_until(lambda: w.number('examples') > frozen, 10, 'the counter to restart')
    assert w.errors == []


def error_text(w):
    return w.page.text_content('#error-message')


def test_missing_file_is_reported(serve, open_page):
    w = open_page(serve({'/py/pycore.zip': 'missing'}))
    w.wait_state('error', BOOT_S)
    assert 'could not download pycore.zip: the server answered HTTP 404' in error_text(w)
    assert w.page.is_visible('#error')


def test_wasm_with_wrong_mime_type_is_reported(serve, open_page):
    w = open_page(serve({'wasm-mime': 'text/plain'}))
    w.wait_state('error', 30)
    assert 'pyodide.asm.wasm was served as "text/plain"' in error_text(w)
    assert 'application/wasm' in error_text(w)


def test_python_exception_is_reported(site, serve, open_page):
    manifest = json.loads((site / 'data' / 'manifest.json').read_text())
    manifest['datasets']['mnist']['train'][0]['count'] += 1      # the chunk no longer matches
    w = open_page(serve({'/data/manifest.json': json.dumps(manifest).encode()}))
    w.wait_state('error', BOOT_S)
    assert 'MNIST data could not be loaded' in error_text(w)
    assert 'a data chunk has' in w.page.text_content('#error-detail')


def test_stalled_loading_is_reported(serve, open_page):
    w = open_page(serve({'/data/manifest.json': 'hang'}) + '?stall=15')
    w.wait_state('error', BOOT_S)
    assert 'loading stalled: nothing happened for 15 s while reading the data manifest' in error_text(w)


THROWS = ('text/javascript', b"export default class {}\nthrow new Error('boom at start');\n")


@pytest.mark.parametrize('path, fault, expected', [
    ('/vendor/uplot/uPlot.esm.js', THROWS, 'vendor/uplot/uPlot.esm.js failed: Uncaught Error: boom at start'),
    ('/page/panels/stats.js', 'missing', 'page/panels/stats.js could not be downloaded: HTTP 404'),
    ('/page/views/colormap.js', b'{}', 'page/views/colormap.js was served as application/json, not JavaScript'),
    ('/page/main.js', ('text/javascript', b'import { nothing } from "./state.js";\n'), 'page/main.js failed: '),
    ('/worker/team.js', 'missing', 'the training worker failed to start: worker/team.js could not be downloaded: HTTP 404'),
    ('/worker/pages.js', 'throws', 'the training worker failed to start: worker/pages.js: Uncaught Error: boom at start'),
])
def test_a_module_that_fails_to_load_or_throws_at_start_is_named(site, serve, open_page, path, fault, expected):
    """A page module or one of the worker's, missing, of the wrong type, importing a name that does
    not exist (a SyntaxError at link time) or throwing while it runs: the error box names it within
    seconds (the worker is otherwise seen after its boot, and the page would sit at "Starting…")."""
    if fault == 'throws':   # the module itself, with its exports, then a throw
        fault = ('text/javascript', (site / path.lstrip('/')).read_bytes() + b"\nthrow new Error('boom at start');\n")
    w = open_page(serve({path: fault}))
    w.wait_state('error', 15)
    wait_until(lambda: expected in error_text(w), 5, f'the error box to say {expected!r}')
    assert w.page.is_visible('#error')


def test_an_invalid_browser_language_still_starts_the_page(serve, browser):
    """WebKitGTK under LANG=C reports navigator.language "C", on which uPlot's number formatter threw."""
    url = serve()
    w = Watched(browser, url)
    try:
        w.page.add_init_script("Object.defineProperty(Navigator.prototype, 'language', { get: () => 'C' })")
        w.page.goto(url)
        w.wait_state('training', BOOT_S)
        assert w.page.evaluate('navigator.language') == 'C'
        wait_until(lambda: w.page.evaluate("document.querySelector('[data-panel=charts] .u-axis') !== null"), 20, 'a chart with axes')
        assert w.errors == []
    finally:
        w.close()


MAC_SAFARI = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Safari/605.1.15'
IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Mobile/15E148 Safari/604.1'
ANDROID = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36'


@pytest.mark.parametrize('device, user_agent, platform, touch, ios', [
    ('iPad (iPadOS Safari)', MAC_SAFARI, 'MacIntel', 5, True),
    ('Mac (Safari)', MAC_SAFARI, 'MacIntel', 0, False),
    ('iPhone', IPHONE, 'iPhone', 5, True),
    ('Android phone', ANDROID, 'Linux armv8l', 5, False),
])
def test_ipad_detection_before_pyodide_loads(site, serve, browser, device, user_agent, platform, touch, ios):
    """Pyodide 0.27.7 turns off the feature that breaks on iOS only when the worker's
    navigator.platform names an iPhone or iPad (pyodide#5670), which iPadOS's Safari never does. With
    a device's navigator values emulated on the page (the worker keeps this machine's), the training
    worker must name an iPad for Pyodide's own check (read from the built pyodide.asm.js) exactly on
    iOS devices; the page trains either way."""
    asm = (site / 'pyodide' / '0.27.7' / 'pyodide.asm.js').read_text()
    check = re.search(r'function getPyEMCountArgsPtr\(\)\{let isIOS=([^;]+);', asm).group(1)
    assert 'navigator.platform' in check
    url = serve()
    context = browser.new_context(user_agent=user_agent, has_touch=touch > 0)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send('Emulation.setUserAgentOverride', {'userAgent': user_agent, 'platform': platform})
        if touch:
            cdp.send('Emulation.setTouchEmulationEnabled', {'enabled': True, 'maxTouchPoints': touch})
        page.goto(url + 'index.html')
        page.wait_for_selector('html[data-state="training"]', timeout=BOOT_S * 1000)
        assert page.evaluate('[navigator.platform, navigator.maxTouchPoints]') == [platform, touch]
        # The training worker (a helper is started with the same address: worker.js hands it its query).
        wait_until(lambda: len(page.workers) >= 1, 30, 'the training worker')
        worker = page.workers[0]
        assert worker.url.split('?')[0].endswith('/worker/worker.js')
        assert worker.evaluate(check) is ios, (device, worker.evaluate('navigator.platform'))
    finally:
        context.close()


# A slow device: the run's answers to requests reach the page a second late.
SLOW_ANSWERS = """(() => {
  const slot = Object.getOwnPropertyDescriptor(Worker.prototype, 'onmessage');
  Object.defineProperty(Worker.prototype, 'onmessage', {
    get() { return slot.get.call(this); },
    set(fn) {
      slot.set.call(this, fn && function (e) {
        if (e.data && e.data.type === 'reply') setTimeout(() => fn.call(this, e), 1000); else fn.call(this, e);
      });
    },
  });
})();"""


def test_what_a_user_types_is_never_overwritten(serve, browser):
    """Choose a method, then type a learning rate and press Enter: the answer to the method change
    (which holds the old rate) arrives while the rate is being typed, and must not rewrite it. A spec
    being written survives a new network."""
    url = serve()
    w = Watched(browser, url)
    try:
        w.page.add_init_script(SLOW_ANSWERS)
        w.page.goto(url)
        w.wait_state('training', BOOT_S)
        w.page.select_option('[data-control="method"]', 'adam')
        field = w.page.locator('[data-control="learning_rate"]')
        field.click()
        field.press('Control+a')
        field.press_sequentially('0.000123', delay=250)   # 2 s: the answer comes meanwhile
        field.press('Enter')
        wait_until(lambda: 'learning rate set to 0.000123' in w.page.text_content('#trainer-message'), 10, 'the typed rate applied')
        assert field.input_value() == '0.000123'
        assert 'learning_rate=0.000123' in w.page.url and 'method=adam' in w.page.url
        time.sleep(1)                        # later answers and statistics leave it alone too
        assert field.input_value() == '0.000123'
        # A spec being written is kept when a new network arrives from elsewhere (here, Reset).
        draft = '[{"type": "input", "out_sx": 24, "out_sy": 24, "out_depth": 1}, {"type": "fc", "num_neurons": 3'
        w.page.locator('#spec-editor summary').click()
        w.page.fill('[data-control="spec"]', draft)
        before = w.number('examples')
        w.page.click('[data-role="transport"] [data-control="reset"]')
        wait_until(lambda: (w.number('examples') or 0) < before, 20, 'the reset network')
        time.sleep(0.5)
        assert w.page.input_value('[data-control="spec"]') == draft
        assert w.errors == []
    finally:
        w.close()


TILE_LINES = """(sel) => {
    const lines = new Map();   // offsetTop -> [tile count, CSS widths]
    for (const c of document.querySelectorAll(sel)) {
        const line = lines.get(c.offsetTop) || [0, new Set()];
        line[0] += 1; line[1].add(c.style.width);
        lines.set(c.offsetTop, line);
    }
    return [...lines.values()].map(([n, widths]) => [n, [...widths]]);
}"""


def test_tiles_refit_when_the_window_narrows(serve, open_page):
    """The 16 maps of the second conv layer sit on one line in a wide window; in a narrow one they
    wrap evenly (4 + 4 + 4 + 4 or 8 + 8, never 6 + 6 + 4 or 5 + 5 + 5 + 1), shrinking to save a line
    but never below 48 CSS px (4 px a value: a phone still shows the strokes)."""
    w = open_page(serve())
    w.wait_state('training', BOOT_S)
    maps = '.layer[data-index="4"] canvas[data-map="activations"]'
    w.show_layer('.layer[data-index="4"]', 'canvas[data-map="activations"]')
    wide = wait_until(lambda: (lines := w.page.evaluate(TILE_LINES, maps)) and lines[0][0] == 16 and lines, 30,
                      'the conv maps on one line')
    w.page.evaluate("window.pageErrors = []; addEventListener('error', (e) => pageErrors.push(e.message))")
    w.page.set_viewport_size({'width': 480, 'height': 800})
    # The browser lays out a layer box only when it is in sight (content-visibility), so look at it.
    w.page.evaluate("document.querySelector('.layer[data-index=\"4\"]').scrollIntoView()")
    def even():
        lines = w.page.evaluate(TILE_LINES, maps)
        return len(lines) > 1 and len({n for n, _ in lines}) == 1 and lines
    narrow = wait_until(even, 10, 'the maps to wrap evenly')
    assert sum(n for n, _ in narrow) == 16
    assert all(len(widths) == 1 for _, widths in narrow)
    assert 48 <= float(narrow[0][1][0].removesuffix('px')) <= float(wide[0][1][0].removesuffix('px'))
    assert w.page.evaluate('pageErrors') == []       # e.g. "ResizeObserver loop completed with ..."
    assert w.state() == 'training' and w.errors == []


# The training worker's 'state' and 'stats' messages in the order the page heard them (an init
# script: the page's run sets its (dedicated) Worker's onmessage, wrapped here).
HEARD = '''(() => {
  const heard = window.__heard = [];
  const d = Object.getOwnPropertyDescriptor(Worker.prototype, 'onmessage');
  Object.defineProperty(Worker.prototype, 'onmessage', { configurable: true, get: d.get, set(fn) {
    d.set.call(this, fn && function (e) {
      const m = e.data;
      if (m && m.type === 'state') heard.push(m.state);
      if (m && m.type === 'stats') heard.push('stats ' + m.stats.examples);
      return fn.call(this, e);
    });
  } });
})();'''


def test_two_workers_train_one_run(serve, open_page):
    """?workers=2: a helper worker boots after the first step and computes half of every batch;
    the run learns as one (the arithmetic is tested in test_parallel.py)."""
    w = open_page(serve() + '?workers=2')
    w.wait_state('training', BOOT_S)
    wait_until(lambda: w.stat('workers') == '2', 60, 'the helper worker to be up')
    first = w.number('examples')
    wait_until(lambda: w.number('examples') > first + 2000, 30, 'the examples counter to rise with two workers')
    wait_until(lambda: (w.number('test-accuracy') or 0) > 60, 120, 'test accuracy above 60%')
    assert w.stat('workers') == '2'
    assert 'stopped' not in (w.page.text_content('#notice') or '')
    # The helper's share of time spent computing: a percentage, from its running total of busy ms.
    busy = w.page.get_attribute('[data-stat="helpers-busy"]', 'data-busy-ms')
    wait_until(lambda: w.page.get_attribute('[data-stat="helpers-busy"]', 'data-busy-ms') != busy, 10, 'the helper\'s busy total to grow')
    assert float(w.page.get_attribute('[data-stat="helpers-busy"]', 'data-busy-ms')) > float(busy) > 0
    assert 1 <= w.number('helpers-busy') <= 100
    # A reload continues the run (its helper boots again); Start fresh then keeps the helper (no
    # Pyodide boot again): the stat never shows it down.
    wait_until(lambda: (saved_examples(w, f'tab {tab_id(w)}') or 0) > 0, 30, 'the run saved')
    w.page.add_init_script(HEARD)
    w.page.reload()
    w.wait_state('training', BOOT_S)
    wait_until(lambda: w.stat('workers') == '2', 60, 'the helper worker to be up again')
    # Paused at many moments, some while the training worker waits for its helper: no batch is
    # trained, no statistics come, after the 'paused' (before the fix, 7 of 20 pauses were followed
    # by one more slice's statistics).
    for i in range(20):
        w.page.click('#pause')
        w.wait_state('paused', 5)
        time.sleep(0.1)
        w.page.click('#pause')
        w.wait_state('training', 5)
        time.sleep(0.05 * (i % 4))
    heard = w.page.evaluate('window.__heard')
    assert heard.count('paused') == 20, heard
    after_pause = [heard[i + 1:heard.index('training', i)] for i, m in enumerate(heard) if m == 'paused']
    assert all(not [m for m in msgs if m.startswith('stats')] for msgs in after_pause), after_pause
    before = w.number('examples')
    w.page.click('[data-control="start-fresh"]')
    seen = set()
    def fresh_run_trained():
        seen.add(w.stat('workers'))
        return (w.number('examples') or 1e9) < before and w.number('examples') > 500
    wait_until(fresh_run_trained, 30, 'the fresh run to train')
    assert '2' in seen and not [v for v in seen if 'up' in v], seen     # never "2 (1 up)"
    # The Workers menu changes it live: the helpers stop (what they owed is trained here) and others
    # start; back to this machine's default (1 on 2 cores), the URL drops the key.
    menu = '[data-control="workers"]'
    assert w.page.text_content(f'{menu} option[value="1"]') == '1 (default here)'
    w.page.select_option(menu, '3')
    wait_until(lambda: w.stat('workers') == '3', 90, 'two helpers to be up')
    assert 'workers=3' in w.page.url
    at = w.number('examples')
    wait_until(lambda: w.number('examples') > at + 1000, 30, 'training on with three workers')
    w.page.select_option(menu, '1')
    wait_until(lambda: w.stat('workers') == '1', 30, 'one worker')
    assert 'workers' not in w.page.url
    at = w.number('examples')
    wait_until(lambda: w.number('examples') > at + 1000, 30, 'training on with one worker')
    assert w.stat('helpers-busy') == '—'               # no helpers
    assert w.errors == []


def test_charts_say_what_they_show_and_give_their_values_as_tables(serve, open_page):
    w = open_page(serve())
    w.wait_state('training', BOOT_S)
    label = lambda name: w.page.get_attribute(f'[data-chart="{name}"]', 'aria-label') or ''    # noqa: E731
    points = lambda name: int(w.page.get_attribute(f'[data-chart="{name}"]', 'data-points') or 0)    # noqa: E731
    wait_until(lambda: points('accuracy') >= 2 and 'points up to' in label('accuracy'), 60, 'the charts labelled with where they stand')
    assert re.match(r'Loss against examples seen: \d+ points up to [\d,]+ examples; at the last, classification loss [\d.e+-]+',
                    label('loss')), label('loss')
    w.page.click('[data-role="chart-data"] summary')
    read = """() => [...document.querySelectorAll('[data-role=chart-data] table')].map((t) => ({
        head: [...t.tHead.rows[0].cells].map((c) => c.textContent),
        xs: [...t.tBodies[0].rows].map((r) => Number(r.cells[0].textContent.replace(/,/g, ''))),
        cells: [...t.tBodies[0].rows].map((r) => [...r.cells].slice(1).map((c) => c.textContent)) }))"""
    loss, accuracy = w.page.evaluate(read)
    assert loss['head'] == ['examples seen', 'classification loss', 'total (with weight decay)', 'learning rate (right)']
    assert accuracy['head'] == ['examples seen', 'training', 'validation', 'test']
    for t in (loss, accuracy):
        assert 2 <= len(t['xs']) <= 41 and t['xs'] == sorted(set(t['xs'])), t['xs']
    assert all(re.fullmatch(r'[\d.e+-]+', row[0]) for row in loss['cells']), loss['cells']
    # While it is open the table follows the run.
    wait_until(lambda: w.page.evaluate(read)[0]['xs'][-1] > loss['xs'][-1], 10, 'the table to follow the run')


def test_a_lesson_link_opens_at_the_lesson_and_jumps_land_where_they_aim(serve, open_page):
    """Layer boxes build their rows as they come near sight and grow: a jump past them must still
    land on its target."""
    w = open_page(serve() + '?lesson=pooling')
    w.wait_state('training', BOOT_S)
    top = lambda sel: w.page.evaluate(f"document.querySelector('{sel}').getBoundingClientRect().top")   # noqa: E731
    time.sleep(4)
    assert -2 <= top('[data-lesson="pooling"]') <= 40, top('[data-lesson="pooling"]')
    w.page.evaluate('window.scrollTo(0, document.body.scrollHeight)')         # the bottom, then a test image
    card = w.page.locator('[data-panel="predictions"] canvas.digit').first
    card.wait_for(timeout=30_000)
    card.click()
    time.sleep(4)
    assert -2 <= top('#network') <= 10, top('#network')
