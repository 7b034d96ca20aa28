"""The cross-engine set: what a class does with the page, in Chromium, Firefox ESR and WebKitGTK
(Safari's engine), one browser per engine for the session (tests/engines.py). Boot and train, a
reload that continues, a deck that trains only its visible slide, a lesson's numbers, the drawing
pad, offline after one visit; and no page or worker error, read from the page itself."""
import time

import pytest

import engines
from pagekit import BOOT_S, SAVED_EXAMPLES, start_server

pycore = pytest.importorskip('pycore')
presets = pytest.importorskip('presets')      # site/worker/py is on sys.path (conftest.py)

EXAMPLES = '[data-stat="examples"]'


@pytest.fixture(scope='session', params=engines.ENGINES)
def engine(request):
    """One browser of each engine for the session; one that is not installed is skipped, saying why."""
    why = engines.missing(request.param)
    if why:
        pytest.skip(f'{request.param} is not available: {why}')
    browser = request.getfixturevalue('browser') if request.param == 'chromium' else None
    e = engines.Engine(request.param, browser)
    yield e
    e.close()


@pytest.fixture
def origin(site):
    """The built site on a server of its own: an origin of its own, so no test sees another's saved
    run, service worker or tab id in the engine's one profile. -> (base URL, server)."""
    server, url = start_server(site)
    yield url, server
    server.shutdown()
    server.server_close()


@pytest.fixture
def tab(engine):
    t = engine.tab()
    yield t
    t.close()


def no_errors(tab):
    assert tab.errors() == [], f'{tab.engine}: {tab.errors()}'


def saved_examples(tab):
    """The examples count of this tab's run as saved in IndexedDB, or 0."""
    return tab.js(f"const key = `tab ${{sessionStorage.getItem('live-cnn-tab')}}`; {SAVED_EXAMPLES}") or 0


def test_trains_and_a_reload_continues(tab, origin):
    base, _ = origin
    t0 = time.monotonic()
    tab.goto(base + 'index.html')
    tab.wait_state('training', BOOT_S)
    started = time.monotonic() - t0
    tab.wait('return Number(document.querySelector(args[0]).textContent.replace(/,/g, "")) >= 1000', 90,
             'a thousand examples trained', EXAMPLES)
    end = time.monotonic() + 30
    while saved_examples(tab) < 1000:
        assert time.monotonic() < end, f'{tab.engine}: the run was not saved within 30 s'
        time.sleep(0.5)
    kept = saved_examples(tab)
    tab.reload()
    tab.wait_state('training', BOOT_S)
    assert 'continued the run saved at' in tab.text('#notice')
    assert tab.number(EXAMPLES) >= kept, (tab.number(EXAMPLES), kept)
    print(f'{tab.engine}: training {started:.1f} s after navigation; {kept:,} examples kept over a reload')
    no_errors(tab)


def embed_states(tab):
    """Each embed's data-state and strip examples count, in page order (the deck's frames are of its origin)."""
    return tab.js("""return [...document.querySelectorAll('iframe')].map((f) => {
        const d = f.contentDocument;
        const n = d && d.querySelector('[data-strip="examples"]');
        const t = n ? n.textContent.replace(/,/g, '') : '';
        return [d ? d.documentElement.dataset.state || '' : '', t === '' || t === '—' ? null : Number(t)];
    });""")


def test_a_deck_trains_only_its_visible_slide(tab, origin):
    """The example deck: four embeds of one run (one shared worker) on slides 1-4; slide 0 has none.
    The run trains while one of them is shown, and stops on the slide with none."""
    base, _ = origin
    tab.goto(base + 'deck.html')
    tab.wait('return document.querySelectorAll("iframe").length === 4', 30, 'the four embeds')
    tab.wait("""return [...document.querySelectorAll('iframe')].every((f) => f.contentDocument
                && ['waiting', 'training'].includes(f.contentDocument.documentElement.dataset.state))""",
             BOOT_S, 'every embed ready')
    time.sleep(2)
    assert [s for s, _ in embed_states(tab)] == ['waiting'] * 4, embed_states(tab)
    tab.js('Reveal.slide(1)')
    tab.wait('return document.querySelectorAll("iframe")[0].contentDocument.documentElement.dataset.state === "training"',
             10, 'the visible embed to train')
    tab.wait('return Number(document.querySelectorAll("iframe")[0].contentDocument.querySelector(\'[data-strip="examples"]\').textContent.replace(/,/g, "")) > 500',
             60, 'the visible embed to count examples')
    tab.js('Reveal.slide(0)')
    tab.wait("""return [...document.querySelectorAll('iframe')].every((f) => f.contentDocument.documentElement.dataset.state === 'waiting')""",
             5, 'every embed to stop')
    time.sleep(1)
    frozen = embed_states(tab)
    time.sleep(3)
    assert embed_states(tab) == frozen, (frozen, embed_states(tab))
    for index in range(4):
        errors = tab.js('return [...document.querySelectorAll("iframe")[args[0]].contentDocument.querySelectorAll("#error-log li")].map((li) => li.textContent)', index)
        assert errors == [], f'{tab.engine}, embed {index}: {errors}'
    no_errors(tab)


def test_a_lesson_shows_the_live_networks_numbers(tab, origin):
    base, _ = origin
    tab.goto(base + 'index.html?lesson=parameters')
    tab.wait_state('training', BOOT_S)
    root = '[data-lesson="parameters"]'
    assert tab.text('[data-stat="parameters"]') == '5·5·3 + 1 = 76 per filter; 10 filters: 760 parameters'
    cnn = pycore.Net.from_spec(presets.PRESETS['convnetjs']['spec']).param_count()
    mlp = pycore.Net.from_spec(presets.PRESETS['mlp']['spec']).param_count()
    tab.wait('return document.querySelector(args[0]) !== null', 20, 'the comparison', f'{root} [data-result="mlp"]')
    assert f'{cnn:,} parameters' in tab.text(f'{root} [data-result="cnn"]')
    assert f'{mlp:,} parameters' in tab.text(f'{root} [data-result="mlp"]')
    assert tab.text(f'{root} [data-result="live-total"]').endswith(f'{cnn:,}')
    no_errors(tab)


def test_the_drawing_pad_classifies_a_drawn_digit(tab, origin):
    base, _ = origin
    tab.goto(base + 'index.html')
    tab.wait_state('training', BOOT_S)
    tab.draw('#pad canvas', [(140, y) for y in range(40, 250, 10)])       # a "1"
    tab.wait('return document.querySelectorAll("#custom-prediction .bar").length === 10', 15, 'the live prediction')
    assert tab.text('#focus-label') == 'your image'
    best = tab.text('#custom-prediction .bar.best .name')
    assert best in [str(i) for i in range(10)], best
    no_errors(tab)


def test_offline_after_one_visit(tab, origin):
    base, server = origin
    tab.goto(base + 'index.html?preset=mlp')
    tab.wait_state('training', BOOT_S)
    tab.wait('return document.querySelector("footer").textContent.includes("opens with no network")', 90, 'the offline copy')
    server.shutdown()
    server.server_close()
    before = tab.number(EXAMPLES) or 0
    # Opened again at its address (Firefox's driver reloads past the service worker, as a hard reload does).
    tab.goto(base + 'index.html?preset=mlp')
    tab.wait_state('training', BOOT_S)
    assert 'continued the run' in tab.text('body')
    tab.wait('return Number(document.querySelector(args[0]).textContent.replace(/,/g, "")) > args[1]', 60,
             'training offline', EXAMPLES, before + 1000)
    no_errors(tab)
