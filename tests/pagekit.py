"""Helpers for end-to-end tests: a fault-injecting server, a watched page, polling."""
import threading
import time
from urllib.parse import urlsplit

from buildkit.server import Handler, make_server

BOOT_S = 90          # Pyodide + NumPy + first data chunk, with room for a loaded machine


class FaultyHandler(Handler):
    """The real handler, plus faults a test can inject per path: 'missing' (404), 'hang', bytes
    (served as JSON) or (content type, bytes)."""
    faults = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = urlsplit(self.path).path
        fault = self.faults.get(path)
        if fault == 'missing':
            self.send_error(404, 'File not found')
            return
        if fault == 'hang':
            time.sleep(60)
            return
        if isinstance(fault, (bytes, tuple)):
            content_type, fault = fault if isinstance(fault, tuple) else ('application/json', fault)
            self.send_response(200)
            self.send_header('Content-Type', content_type)
            self.send_header('Content-Length', str(len(fault)))
            self.end_headers()
            self.wfile.write(fault)
            return
        super().do_GET()

    def guess_type(self, path):
        if self.faults.get('wasm-mime') and path.endswith('.wasm'):
            return self.faults['wasm-mime']
        return super().guess_type(path)


def start_server(site, faults=None, csp=True):
    """Serve `site` on a free localhost port; returns (server, base URL). csp=False: a folder that
    is not the built site (a test's own deck page), sent without the site's policy."""
    handler = type('Handler', (FaultyHandler,), {'faults': dict(faults or {}), **({} if csp else {'csp': None})})
    server = make_server(site, port=0, handler=handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f'http://127.0.0.1:{server.server_address[1]}/'


class Watched:
    """A page plus everything that went wrong on it: console errors, uncaught exceptions and
    requests to any host other than the local server."""

    def __init__(self, browser, base, context=None):
        """context: open the page as another tab of that browser context (its profile: storage,
        IndexedDB) instead of a new one of its own."""
        self.owns = context is None
        self.context = context or browser.new_context(viewport={'width': 1280, 'height': 800})
        self.page = self.context.new_page()
        self.errors, self.warnings, self.foreign, self.requests = [], [], [], []
        host = urlsplit(base).netloc
        self.page.on('console', lambda m: m.type == 'error' and self.errors.append(m.text))
        self.page.on('console', lambda m: m.type == 'warning' and self.warnings.append(m.text))
        self.page.on('pageerror', lambda e: self.errors.append(str(e)))

        def on_request(r):
            self.requests.append(r.url)
            if urlsplit(r.url).scheme not in ('data', 'blob') and urlsplit(r.url).netloc != host:
                self.foreign.append(r.url)
        self.page.on('request', on_request)
        self.page.on('worker', lambda w: w.on('console', lambda m: m.type == 'error' and self.errors.append(m.text)))

    def stat(self, name):
        return self.page.text_content(f'[data-stat="{name}"]')

    def number(self, name):
        text = self.stat(name).replace(',', '')
        return None if text == '—' else float(text)

    def state(self):
        return self.page.get_attribute('html', 'data-state')

    def wait_state(self, state, timeout_s):
        self.page.wait_for_selector(f'html[data-state="{state}"]', timeout=timeout_s * 1000)

    def show_layer(self, box, inside='.rows .row'):
        """Scroll the network view's first box matching `box` into sight and wait for the element
        matching `inside` in it to be made and rendered: the page makes and renders a box's rows
        only near sight (layerbox.js), as a reader sees them. The box is scrolled to again while
        waiting, as the page above it may change height meanwhile (a lesson's text, a note)."""
        shown = """([b, s]) => {
            const e = document.querySelector(b).querySelector(s);
            if (e && e.getBoundingClientRect().width > 0) return true;
            document.querySelector(b).scrollIntoView();
            return false;
        }"""
        self.page.evaluate('(b) => document.querySelector(b).scrollIntoView()', box)
        wait_until(lambda: self.page.evaluate(shown, [box, inside]), 10, f'{inside} of {box} to be made and rendered in sight')

    def close(self):
        if self.owns:
            self.context.close()
        else:
            self.page.close()


def training_pages(make, base):
    """A fixture's body: yields go(query, *args) -> a watched page made by make(*args), opened at
    base + query and waited for until it trains; afterwards no page may have had a console error
    or asked another host, and every one is closed."""
    pages = []

    def go(query, *args, **kwargs):
        w = make(*args, **kwargs)
        pages.append(w)
        w.page.goto(base + query)
        w.wait_state('training', BOOT_S)
        return w
    yield go
    for w in pages:
        assert w.errors == [] and w.foreign == [], (w.errors, w.foreign)
    for w in pages:
        w.close()


def watched_in(browser, base, size=(1280, 800), **options):
    """A watched page in a browser context of its own, made with these options (touch, bypass_csp...)."""
    w = Watched(browser, base, context=browser.new_context(viewport={'width': size[0], 'height': size[1]}, **options))
    w.owns = True
    return w


def first_evaluation(w, timeout_s=120):
    """Wait until the page has scored the whole test set once (its confusion matrix's caption says
    so), polling without Playwright's own wait, which gives up on an element not there after 30 s:
    on a loaded machine the first score came 35-44 s after training started."""
    wait_until(lambda: '10,000 test images' in ''.join(w.page.locator('#confusion caption').all_text_contents()),
               timeout_s, 'the first evaluation')


def wait_until(predicate, timeout_s, what):
    """-> predicate()'s first true value, polled for timeout_s; what: the awaited thing, or a
    function that says it (called at the timeout, e.g. to name what was seen instead)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f'timed out after {timeout_s} s waiting for {what() if callable(what) else what}')


# The examples count of the run saved under `key` in the page's IndexedDB, or null: a function body
# of `key`, for Playwright's evaluate and (tests/engines.py) every engine's driver.
SAVED_EXAMPLES = '''return new Promise((resolve) => {
        const open = indexedDB.open('live-cnn', 1);
        open.onsuccess = () => { const get = open.result.transaction('runs').objectStore('runs').get(key);
            get.onsuccess = () => { resolve(get.result ? get.result.examples : null); open.result.close(); }; };
        open.onerror = () => resolve(null); });'''


def saved_examples(w, key):
    """The examples count of the run saved under `key` in the page's IndexedDB, or None."""
    return w.page.evaluate(f'(key) => {{ {SAVED_EXAMPLES} }}', key)


def tab_id(w):
    return w.page.evaluate("sessionStorage.getItem('live-cnn-tab')")
