"""End-to-end: the page in a link and on a slide. URL state (every key set, shown and written back;
bad values noted), embed mode at slide-tool sizes, and the vendored reveal.js deck: training only
while an embed can be seen, one run shared by every embed, keys, the speaker view, and a run that
survives its frame."""
import json
import os
import re
import time
from urllib.parse import parse_qsl, urlsplit

import pytest

from config import DEFAULT_TRAINER, TRAINERS
from pagekit import BOOT_S, Watched, start_server, wait_until

pytest.importorskip('playwright.sync_api', reason='install the test extra: pip install -e .[test]')

SIZES = [(960, 700), (1050, 700), (1280, 720), (800, 600)]


@pytest.fixture
def open_page(browser, base):
    pages = []

    def go(path, width=1280, height=800, init=None):
        w = Watched(browser, base)
        w.page.set_viewport_size({'width': width, 'height': height})
        if init:
            w.page.add_init_script(init)
        pages.append(w)
        w.page.goto(path if path.startswith('http') else base + path)
        return w
    yield go
    for w in pages:
        assert w.errors == [], w.errors
        assert w.foreign == [], w.foreign
        w.close()


def query(w):
    """The page's query string as it is now (Playwright's page.url can miss a replaceState)."""
    return dict(parse_qsl(urlsplit(w.page.evaluate('location.href')).query))


def notes(w):
    return w.page.evaluate("() => Object.fromEntries([...document.querySelectorAll('#notes li')].map((li) => [li.dataset.note, li.textContent]))")


def page_theme(w):
    """The theme the page's URL forced (None: none) and the colour scheme in use."""
    return tuple(w.page.evaluate("[document.documentElement.dataset.theme || null, getComputedStyle(document.documentElement).colorScheme]"))


def state_of(frame):
    return frame.evaluate('document.documentElement.dataset.state')


def test_every_key_is_shown_and_written_back(open_page, site):
    fashion = 'fashion-mnist' in json.loads((site / 'data' / 'manifest.json').read_text())['datasets']
    keys = {'preset': 'mlp', 'seed': '3', 'method': 'adam', 'learning_rate': '0.002', 'momentum': '0.8',
            'batch_size': '32', 'l1_decay': '0.0001', 'l2_decay': '0.0005', 'focus': 'test:123', 'refresh': '2',
            'theme': 'dark'}
    if fashion:
        keys['dataset'] = 'fashion-mnist'
    # The query string for some keys and the hash for others, as tools generate both.
    w = open_page('?' + '&'.join(f'{k}={v}' for k, v in list(keys.items())[:5]) + '#'
                  + '&'.join(f'{k}={v}' for k, v in list(keys.items())[5:]))
    w.wait_state('training', BOOT_S)
    page = w.page
    assert notes(w) == {}
    assert '68,810 parameters, seed 3' in page.text_content('#param-count')
    assert json.loads(page.input_value('[data-control="spec"]'))[1] == {'type': 'fc', 'num_neurons': 100, 'activation': 'relu'}
    assert page.input_value('[data-control="method"]') == 'adam'
    for k in ('learning_rate', 'momentum', 'batch_size', 'l1_decay', 'l2_decay'):
        assert float(page.input_value(f'[data-control="{k}"]')) == float(keys[k]), k
    if fashion:
        assert page.input_value('[data-control="dataset"]') == 'fashion-mnist'
    wait_until(lambda: page.text_content('#focus-label').startswith('test image #123'), 20, 'the focused test image')
    assert page.text_content('[data-role="refresh-note"]') == 'views repaint every 2 s'
    assert page_theme(w) == ('dark', 'dark')
    # refresh=2: the layer views repaint every 2 s, not ~12 times a second.
    repaints = page.evaluate('''() => new Promise((resolve) => { let n = 0;
        document.addEventListener('views-painted', () => { n += 1; });
        setTimeout(() => resolve(n), 4500); })''')
    assert 1 <= repaints <= 3, repaints
    assert query(w) == keys and urlsplit(page.evaluate('location.href')).fragment == ''       # written back, into the query string
    # A change made on the page is written back without a new history entry.
    length = page.evaluate('history.length')
    page.fill('[data-control="learning_rate"]', '0.005')
    page.press('[data-control="learning_rate"]', 'Tab')
    wait_until(lambda: query(w).get('learning_rate') == '0.005', 10, 'the new rate in the address bar')
    assert page.evaluate('history.length') == length
    page.click('[data-control="share"]')
    link = page.input_value('[data-role="share-link"]')
    assert dict(parse_qsl(urlsplit(link).query)) == query(w)
    snippet = page.input_value('[data-role="share-iframe"]')
    assert snippet.startswith('<iframe src="http') and 'embed=1' in snippet and 'learning_rate=0.005' in snippet
    slides = page.input_value('[data-role="share-slides"]')
    assert slides.startswith('<section>\n  <iframe data-src="http') and 'data-preload' in slides and 'learning_rate=0.005' in slides
    plugin = re.search(r'<script src="([^"]+)"></script>', slides).group(1)
    assert 'plugins: [RevealLiveCnn]' in slides and page.request.get(plugin).ok, plugin


BAD = {
    'preset': 'nope', 'dataset': 'cifar', 'seed': '-1', 'method': 'rmsprop', 'learning_rate': 'abc',
    'momentum': '2', 'batch_size': '5000', 'l1_decay': '-1', 'l2_decay': 'x', 'embed': '2',
    'layers': 'conv1;drop', 'show': 'nothing', 'focus': 'train:1', 'autoplay': 'yes', 'refresh': 'fast',
    'start': 'later', 'theme': 'sepia', 'zap': '1',
    # Valid JSON that pycore rejects, exactly as the editor would.
    'spec': '[{"type":"input","out_sx":24,"out_sy":24,"out_depth":1},{"type":"conv","sx":30,"filters":2},'
            '{"type":"softmax","num_classes":10}]',
}


def test_bad_values_are_noted_and_the_defaults_run(open_page):
    from urllib.parse import urlencode
    w = open_page('?' + urlencode({**BAD, 'panels': 'charts,stats,bogus'}))
    w.wait_state('training', BOOT_S)
    found = wait_until(lambda: len(n := notes(w)) > len(BAD) and n, 10, 'a note per bad key')
    assert set(found) == set(BAD) | {'panels'}
    for key, value in BAD.items():
        assert f'{key}={value[:77]}' in found[key], found[key]
    assert 'does not fit' in found['spec'] and 'no such preset' in found['preset'] and 'at most 1000' in found['batch_size']
    assert 'bogus' in found['panels'] and 'one of light, dark' in found['theme']
    assert page_theme(w) == (None, 'light')      # the system's (Playwright's default: light)
    # The defaults run: the default net and trainer, every panel the URL named correctly, and the
    # address bar keeps only what the page uses.
    assert w.page.evaluate("[...document.querySelectorAll('[data-panel]')].map((p) => p.dataset.panel)") == ['stats', 'charts']
    wait_until(lambda: (w.number('examples') or 0) > 200, 20, 'training')
    assert query(w) == {'panels': 'charts,stats'}


def test_embed_fills_each_slide_size_with_the_chosen_panels(open_page, tmp_path):
    w = open_page('?embed=1&panels=charts,network&layers=conv1,pool1&show=activations,weights', *SIZES[0])
    w.wait_state('training', BOOT_S)
    page = w.page
    assert page.locator('header, footer').count() == 0
    assert query(w) == {'embed': '1', 'panels': 'charts,network', 'layers': 'conv1,pool1', 'show': 'activations,weights'}
    assert page.evaluate("[...document.querySelectorAll('[data-panel]')].map((p) => p.dataset.panel)") == ['charts', 'network']
    wait_until(lambda: page.evaluate("[...document.querySelectorAll('.layer')].map((l) => l.dataset.type + ':' + "
                                     "[...l.querySelectorAll('.row')].map((r) => r.dataset.row).join('+'))")
               == ['conv:activations+weights', 'pool:activations'], 10, 'the chosen layer boxes and rows')
    for width, height in SIZES:
        page.set_viewport_size({'width': width, 'height': height})
        time.sleep(0.6)
        el = page.evaluate('() => { const d = document.documentElement; return [d.scrollWidth, d.clientWidth, d.scrollHeight, d.clientHeight]; }')
        assert el[0] <= el[1] and el[2] <= el[3], (width, height, el)
        # Every panel lies inside the frame; what does not fit scrolls inside its panel.
        boxes = page.evaluate("[...document.querySelectorAll('[data-panel], #strip')].map((p) => { const r = p.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })")
        assert all(0 <= l and 0 <= t and r <= width + 0.5 and b <= height + 0.5 for l, t, r, b in boxes), (width, height, boxes)
        page.screenshot(path=str(tmp_path / f'embed-{width}x{height}.png'))
        if os.environ.get('LIVECNN_SHOTS'):
            page.screenshot(path=os.path.join(os.environ['LIVECNN_SHOTS'], f'embed-{width}x{height}.png'))


SMALL_SPEC = '[{"type":"input","out_sx":24,"out_sy":24,"out_depth":1},{"type":"fc","num_neurons":7},{"type":"softmax","num_classes":10}]'


def test_autoplay_0_waits_for_a_click_and_a_spec_by_url(open_page):
    from urllib.parse import quote
    w = open_page(f'?autoplay=0&panels=stats,controls,network&spec={quote(SMALL_SPEC)}')
    w.wait_state('waiting', BOOT_S)
    assert query(w) == {'spec': SMALL_SPEC, 'autoplay': '0', 'panels': 'stats,controls,network'}
    assert '4,119 parameters' in w.page.text_content('#param-count')        # 576*7+7 + 7*10+10
    assert w.page.text_content('[data-control="pause"]') == 'Play'
    time.sleep(1.5)
    assert w.number('examples') is None
    w.page.click('[data-control="pause"]')
    w.wait_state('training', 5)
    wait_until(lambda: (w.number('examples') or 0) > 0, 10, 'training after Play')


# The deck: ---------------------------------------------------------------------------------------

def embeds(w):
    """The deck's embeds, in slide order (each a Frame)."""
    frames = [f for f in w.page.frames if 'index.html' in f.url]
    return sorted(frames, key=lambda f: f.frame_element().evaluate('(el) => [...document.querySelectorAll("iframe")].indexOf(el)'))


def strip_examples(frame):
    text = frame.text_content('[data-strip="examples"]').replace(',', '')
    return None if text == '—' else int(text)


def cpu_seconds():
    """CPU time (user + system) of every process below this one: the test browser's included."""
    me, total = os.getpid(), 0.0
    children = {}
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            stat = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(stat[1]), []).append((int(pid), int(stat[11]) + int(stat[12])))
    todo = [me]
    while todo:
        for pid, ticks in children.get(todo.pop(), []):
            total += ticks
            todo.append(pid)
    return total / os.sysconf('SC_CLK_TCK')


def cpu_share(seconds):
    t0, c0 = time.monotonic(), cpu_seconds()
    time.sleep(seconds)
    return (cpu_seconds() - c0) / (time.monotonic() - t0)


def switch_and_time(w, slide, embed):
    """Show slide `slide`; -> seconds until embed `embed` (in page order) says it trains, timed in the page."""
    return w.page.evaluate('''([slide, embed]) => new Promise((resolve, reject) => {
        const root = document.querySelectorAll('iframe')[embed].contentDocument.documentElement;
        const t0 = performance.now();
        new MutationObserver(() => { if (root.dataset.state === 'training') resolve((performance.now() - t0) / 1000); })
          .observe(root, { attributes: true, attributeFilter: ['data-state'] });
        setTimeout(() => reject(new Error('the embed did not train within 5 s')), 5000);
        Reveal.slide(slide);
    })''', [slide, embed])


def open_deck(open_page, path='deck.html', init=None, size=(1280, 800)):
    w = open_page(path, *size, init)
    wait_until(lambda: len(embeds(w)) == 4, 30, 'the four embeds')
    wait_until(lambda: all(state_of(f) in ('waiting', 'training') for f in embeds(w)), BOOT_S, 'every embed ready')
    return w


def test_deck_trains_only_while_an_embed_is_seen(open_page):
    w = open_deck(open_page)
    frames = embeds(w)
    time.sleep(2)
    assert all(state_of(f) == 'waiting' for f in frames)
    idle = cpu_share(4)
    assert all(state_of(f) == 'waiting' for f in frames) and {strip_examples(f) for f in frames} == {None}
    resumed = switch_and_time(w, 1, 0)                       # the charts
    busy = cpu_share(3)
    # One run: the other embeds report the same run and the same count.
    wait_until(lambda: strip_examples(frames[2]) and abs(strip_examples(frames[2]) - strip_examples(frames[0])) <= 2000,
               5, 'the hidden embeds to show the same run')
    assert 'shared run' in frames[1].text_content('[data-role="run-note"]')
    w.page.evaluate('Reveal.slide(0)')
    wait_until(lambda: all(state_of(f) == 'waiting' for f in frames), 3, 'every embed to stop')
    time.sleep(1)
    frozen = strip_examples(frames[0])
    idle_again = cpu_share(4)
    assert strip_examples(frames[0]) == frozen
    w.page.evaluate('Reveal.slide(2)')                       # conv1's filters: the same run goes on
    wait_until(lambda: state_of(frames[1]) == 'training' and strip_examples(frames[1]) > frozen, 5, 'the run to go on')
    print(f'CPU while no embed is seen: {idle:.2f} and {idle_again:.2f} cores; training {busy:.2f}; resumed in {resumed:.2f} s')
    assert resumed < 1.0
    assert idle < 0.15 and idle_again < 0.15 and busy > 0.5


def test_keys_in_a_frame_and_the_deck_keys(open_page):
    w = open_deck(open_page, 'deck.html#/1')
    chart = embeds(w)[0]
    wait_until(lambda: state_of(chart) == 'training', 10, 'the charts embed to train')
    w.page.locator('iframe').first.focus()
    chart.focus('body')
    chart.press('body', ' ')
    wait_until(lambda: state_of(chart) == 'paused', 3, 'space to pause')
    time.sleep(0.5)
    before = strip_examples(chart)
    chart.press('body', 's')
    B = TRAINERS[DEFAULT_TRAINER]['options']['batch_size']
    wait_until(lambda: strip_examples(chart) == before + B, 3, f's to train one batch of {B}')
    chart.press('body', ' ')
    wait_until(lambda: state_of(chart) == 'training', 3, 'space to resume')
    # Far enough that a reset run cannot catch up between two looks (it trains ~1,000 examples/s).
    trained = wait_until(lambda: (n := strip_examples(chart)) > before + 4000 and n, 30, 'some more training')
    chart.press('body', 'r')
    wait_until(lambda: (strip_examples(chart) or 0) < trained - 3000, 5, 'r to reset')
    chart.press('body', 'ArrowRight')                         # the deck's key goes to the deck
    wait_until(lambda: w.page.evaluate('Reveal.getIndices().h') == 2, 3, 'the deck to move on')
    assert w.page.evaluate('document.hasFocus()')


def test_embeds_fit_a_deck_scaled_down(open_page, tmp_path):
    w = open_deck(open_page, 'deck.html#/2', size=(800, 600))
    assert w.page.evaluate('Reveal.getScale()') < 0.9
    for f in embeds(w):
        d = f.evaluate('() => { const d = document.documentElement; return [d.scrollWidth, d.clientWidth, d.scrollHeight, d.clientHeight]; }')
        assert d[0] <= d[1] and d[2] <= d[3], (f.url, d)
    w.page.screenshot(path=str(tmp_path / 'deck-800x600.png'))
    if os.environ.get('LIVECNN_SHOTS'):
        w.page.screenshot(path=os.path.join(os.environ['LIVECNN_SHOTS'], 'deck-800x600.png'))


def test_speaker_view_copies_never_train(open_page):
    w = open_deck(open_page, 'deck.html?receiver#/1')
    time.sleep(3)
    chart = embeds(w)[0]
    assert state_of(chart) == 'waiting' and strip_examples(chart) is None
    assert "speaker view" in chart.text_content('[data-role="state-label"]')


def test_without_shared_worker_each_embed_says_it_has_its_own_run(open_page):
    w = open_deck(open_page, 'deck.html#/1', init='delete window.SharedWorker;')
    chart = embeds(w)[0]
    wait_until(lambda: state_of(chart) == 'training', 10, 'the charts embed to train')
    assert 'no SharedWorker' in chart.text_content('[data-role="run-note"]')


def test_a_run_survives_its_frame(open_page):
    w = open_deck(open_page, 'deck.html#/1')
    chart = embeds(w)[0]
    wait_until(lambda: (strip_examples(chart) or 0) > 0, 20, 'training')
    time.sleep(1)
    # The run is saved every 5 s while it trains: what it had 6.5 s before its frames go is kept.
    saved = strip_examples(chart)
    time.sleep(6.5)
    # What reveal.js does to a lazy iframe when its slide is left, to every embed at once: the
    # shared run loses its last page and ends.
    src = w.page.evaluate("() => { const f = [...document.querySelectorAll('iframe')]; const s = f[0].src; "
                          "f.forEach((i) => i.remove()); return s; }")
    time.sleep(1.5)
    w.page.evaluate("(src) => { const i = document.createElement('iframe'); i.src = src; i.id = 'again'; "
                    "i.style.cssText = 'width:900px;height:560px'; document.querySelector('.present').append(i); }", src)
    again = wait_until(lambda: w.page.query_selector('#again').content_frame(), 10, 'the new frame')
    wait_until(lambda: state_of(again) == 'training', BOOT_S, 'the new frame to train')
    restored = strip_examples(again)
    assert restored >= saved, (restored, saved)
    assert 'continued the run saved at' in again.text_content('[data-role="run-note"]')
    again.click('[data-control="start-fresh"]')                # and "Start fresh" starts over
    wait_until(lambda: (strip_examples(again) or 0) < restored, 10, 'a fresh run')


def test_pretrained_start_is_trained_and_keeps_training(open_page, site):
    entry = json.loads((site / 'data' / 'manifest.json').read_text())['pretrained']['mnist']
    w = open_page('?start=pretrained&panels=stats,evaluation')
    w.wait_state('training', BOOT_S)
    assert query(w) == {'start': 'pretrained', 'panels': 'stats,evaluation'}
    assert w.number('examples') >= entry['examples']
    assert 'pretrained run' in w.page.text_content('#notice')
    wait_until(lambda: 'All images loaded' in w.page.text_content('#data-note'), 60, 'every test image')
    w.page.click('[data-control="evaluate"]')
    caption = wait_until(lambda: w.page.locator('#confusion caption').count() and w.page.text_content('#confusion caption'),
                         60, 'the whole test set scored')
    assert caption.startswith('10,000 test images'), caption
    accuracy = float(caption.split('accuracy ')[1].split('%')[0])
    assert accuracy >= 98.0, caption
    first = w.number('examples')
    wait_until(lambda: w.number('examples') > first + 1000, 20, 'training to go on')


def test_an_embed_on_another_origin_follows_the_screen_and_the_slide(open_page, base, tmp_path):
    """A frame the page cannot look into (another origin): it cannot tell a page from a deck whose
    slides overlap, so unless its URL says autoplay=1 it waits for its slide, a tap or Play; then
    IntersectionObserver, the Page Visibility API and reveal's messages tell it whether it is seen."""
    (tmp_path / 'host.html').write_text(f"""<!doctype html><link rel="icon" href="data:,"><div style="height: 2000px">a long page</div>
        <iframe id="e" src="{base}index.html?embed=1&panels=stats" width="800" height="600"></iframe>
        <iframe id="a" src="{base}index.html?embed=1&panels=stats&seed=5&autoplay=1" width="800" height="600"></iframe>""")
    other, other_url = start_server(tmp_path, csp=False)                  # another port: another origin
    host = other_url + 'host.html'
    w = open_page(host)
    frame = wait_until(lambda: w.page.query_selector('#e').content_frame(), 10, 'the frame')
    told = wait_until(lambda: w.page.query_selector('#a').content_frame(), 10, 'the autoplay=1 frame')
    wait_until(lambda: state_of(frame) == 'waiting' and state_of(told) == 'waiting', BOOT_S, 'the embeds, below the fold, to be ready and wait')
    assert 'off screen' in frame.text_content('[data-role="state-label"]')
    w.page.evaluate("document.getElementById('a').scrollIntoView()")
    wait_until(lambda: state_of(told) == 'training', 3, 'autoplay=1 to train once scrolled into view')
    w.page.evaluate("document.getElementById('e').scrollIntoView()")
    label = lambda: frame.text_content('[data-role="state-label"]')     # noqa: E731
    wait_until(lambda: 'press Play' in label(), 3, lambda: f'the other to say it waits for Play, not {label()!r}')
    time.sleep(1)
    assert state_of(frame) == 'waiting' and strip_examples(frame) is None
    frame.click('[data-strip="examples"]')                                 # a tap: the viewer sees it
    wait_until(lambda: state_of(frame) == 'training', 3, 'training once tapped')
    w.page.evaluate("document.getElementById('e').contentWindow.postMessage('slide:stop', '*')")
    wait_until(lambda: state_of(frame) == 'waiting', 2, 'slide:stop to stop it')
    w.page.evaluate("document.getElementById('e').contentWindow.postMessage('slide:start', '*')")
    wait_until(lambda: state_of(frame) == 'training', 2, 'slide:start to start it')
    w.page.evaluate('window.scrollTo(0, 0)')
    wait_until(lambda: state_of(frame) == 'waiting', 2, 'the embed to stop once off screen')
    w.foreign.remove(host)                  # the test's own page; nothing else came from elsewhere
    other.shutdown()
    other.server_close()


def deck_elsewhere(open_page, base, tmp_path, plugin):
    """A reveal.js deck on another origin, as a teacher makes it from the Share dialog's "for slides"
    snippet (without its plugin lines when plugin is False): a title slide, two embeds of one run
    (no autoplay=0) on neighbouring slides, a slide without one; transition none, so that every
    slide is drawn on top of the others. -> (page, the two embeds' frames, the server)."""
    from buildkit import vendor
    views = []
    for panels in ('charts', 'stats'):
        w = open_page(f'?embed=1&panels={panels}')
        views.append(wait_until(lambda: w.page.click('[data-control="share"]') or w.page.input_value('[data-role="share-slides"]'),
                                20, 'the Share dialog'))
        w.page.close()                      # its run must not train beside the deck
    slides = [v.split('\n\n')[0] for v in views]
    setup = views[0].split('\n\n')[1].split('\n')
    assert setup[1].startswith('<script src="') and 'RevealLiveCnn' in setup[2], setup
    script = setup[1] if plugin else ''
    init = "Reveal.initialize({ transition: 'none', hash: true" + (', plugins: [RevealLiveCnn]' if plugin else '') + ' });'
    (tmp_path / 'deck.html').write_text(f"""<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
        <link rel="stylesheet" href="{base}{vendor.REVEAL_DIR}/reveal.css">
        <div class="reveal"><div class="slides">
        <section><h1>A lecture</h1></section>{''.join(slides)}<section><h2>Questions?</h2></section>
        </div></div><script src="{base}{vendor.REVEAL_DIR}/reveal.js"></script>{script}<script>{init}</script>""")
    other, other_url = start_server(tmp_path, csp=False)
    w = open_page(other_url + 'deck.html', 1280, 800)
    frames = wait_until(lambda: len(f := [x for x in w.page.frames if 'embed=1' in x.url]) == 2 and f, 30, 'the two embeds')
    w.foreign.remove(other_url + 'deck.html')      # the test's own deck; nothing else came from elsewhere
    wait_until(lambda: all(state_of(f) == 'waiting' for f in frames), BOOT_S, 'both embeds ready and waiting')
    return w, frames, other, other_url


@pytest.mark.parametrize('plugin', [False, True], ids=['snippet-only', 'with-plugin'])
def test_a_deck_on_another_origin_trains_only_its_shown_slide(open_page, base, tmp_path, plugin):
    w, frames, other, other_url = deck_elsewhere(open_page, base, tmp_path, plugin)
    time.sleep(2)
    title = cpu_share(4)
    assert all(state_of(f) == 'waiting' and strip_examples(f) is None for f in frames)
    w.page.evaluate('Reveal.slide(1)')                        # the charts' slide
    wait_until(lambda: state_of(frames[0]) == 'training', 5, "the shown slide's embed to train")
    busy = cpu_share(3)
    w.page.evaluate('Reveal.slide(2)')                        # the stats' slide: the same run goes on there
    moved = strip_examples(frames[1]) or 0
    wait_until(lambda: state_of(frames[1]) == 'training' and (strip_examples(frames[1]) or 0) > moved + 500, 5,
               'the run to go on on the next slide')
    w.page.evaluate('Reveal.slide(3)')                        # no embed
    wait_until(lambda: all(state_of(f) == 'waiting' for f in frames), 5, 'every embed to stop')
    time.sleep(1)
    frozen = strip_examples(frames[1])
    after = cpu_share(4)
    assert strip_examples(frames[1]) == frozen
    label = frames[0].text_content('[data-role="state-label"]')
    print(f'plugin={plugin}: CPU on the title slide {title:.2f} cores, training {busy:.2f}, on a slide without an embed {after:.2f}')
    assert title < 0.2 and after < 0.2 and busy > 0.3, (title, busy, after)    # (busy: the measure sees training)
    assert 'its slide' in label, label
    if plugin:
        # The plugin is exact beyond reveal's messages: the overview shows no slide, a tap inside
        # changes nothing, and going back to a slide starts its embed at once.
        w.page.evaluate('Reveal.slide(1)')
        wait_until(lambda: state_of(frames[0]) == 'training', 5, 'the charts to train again')
        w.page.evaluate('Reveal.toggleOverview(true)')
        wait_until(lambda: state_of(frames[0]) == 'waiting', 5, 'the overview to stop it')
        w.page.evaluate('Reveal.toggleOverview(false)')
        wait_until(lambda: state_of(frames[0]) == 'training', 5, 'leaving the overview to resume it')
    other.shutdown()
    other.server_close()


def pss_mb(pids):
    """Proportional set size of these processes, in MB (shared pages split between their users)."""
    total = 0
    for pid in pids:
        try:
            for line in open(f'/proc/{pid}/smaps_rollup'):
                if line.startswith('Pss:'):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def chromium_processes():
    """pid -> the process's --type (browser for the main one), for every Chromium process."""
    out = {}
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            cmd = open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\0', b' ').decode(errors='replace')
        except OSError:
            continue
        # Chromium rewrites its command line into one string: the binary, then its flags.
        if os.path.basename(cmd.split(' ', 1)[0]).startswith('chrom'):
            kind = re.search(r'--type=(\S+)', cmd)
            out[int(pid)] = kind.group(1) if kind else 'browser'
    return out


def test_a_deck_of_embeds_costs_about_one_page(browser, base):
    """Memory (PSS) of a browser showing one page, against one showing the deck (four embeds of one
    run): each in a browser of its own, the least of six readings after 10 s of training."""
    from browser import CHROMIUM_FLAGS, chromium_path
    figures = {}
    for name, path in (('page', 'index.html'), ('deck', 'deck.html#/1')):
        before = set(chromium_processes())
        extra = {'executable_path': chromium_path()} if chromium_path() else {}
        b = browser.browser_type.launch(args=CHROMIUM_FLAGS, **extra)
        try:
            w = Watched(b, base)
            w.page.goto(base + path)
            frame = w.page if name == 'page' else wait_until(
                lambda: next((f for f in w.page.frames if 'index.html' in f.url), None), 30, 'an embed')
            wait_until(lambda: state_of(frame) == 'training', BOOT_S, 'training')
            time.sleep(10)
            # The least of a few samples: garbage waiting for collection makes single readings noisy.
            samples = []
            for _ in range(6):
                mine = {pid: kind for pid, kind in chromium_processes().items() if pid not in before}
                samples.append((pss_mb([p for p, k in mine.items() if k == 'renderer']), pss_mb(mine)))
                time.sleep(1)
            figures[name] = min(samples)
            assert w.errors == [] and w.foreign == []
        finally:
            b.close()
    renderers, everything = figures['deck'][0] / figures['page'][0], figures['deck'][1] / figures['page'][1]
    print(f"memory (PSS): one page {figures['page'][0]:.0f} MB in renderers, {figures['page'][1]:.0f} MB in all; "
          f"the deck {figures['deck'][0]:.0f} MB and {figures['deck'][1]:.0f} MB: {renderers:.2f}x and {everything:.2f}x")
    assert renderers <= 1.3, figures


def test_a_short_embed_keeps_room_for_its_charts(open_page):
    """640x400 (a 1280x800 screen at 200% zoom): the panels side by side, the charts' heading and
    legend values given up for the plots, nothing scrolls sideways."""
    w = open_page('?embed=1', 640, 400)
    w.wait_state('training', BOOT_S)
    wait_until(lambda: int(w.page.get_attribute('[data-chart="accuracy"]', 'data-points') or 0) >= 1, 30, 'the charts drawn')
    plots = w.page.evaluate("[...document.querySelectorAll('.chart .u-over')].map((p) => p.getBoundingClientRect().height)")
    assert len(plots) == 2 and min(plots) >= 32, plots
    d = w.page.evaluate('() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]')
    assert d[0] <= d[1], d
