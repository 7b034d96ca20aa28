"""Fuzzed inputs in the page: a thousand generated URLs through the page's URL reader, a few of them
opened for real, bad uploads and bad run files. Each gives a clear message and the run trains on,
its network and its autosave untouched."""
import json
import random
import struct
import zlib

import pytest

from pagekit import BOOT_S, Watched, wait_until

pytest.importorskip('playwright.sync_api', reason='install the test extra: pip install -e .[test]')

JUNK = ['', ' ', '-1', '0', '1e999', 'NaN', 'Infinity', '0x10', '1,2', '%', '%zz', '<b>', '"', "'", '{', '[]', '[{}]',
        'null', 'true', '{"type":"input"}', '🙂', 'a' * 300, '9' * 40, '1e-400', '.5', '5.', '+3', '07']


def random_query(rng, keys):
    parts = []
    for _ in range(rng.randint(0, 6)):
        key = rng.choice(keys + ['junk', '', 'SPEC', 'x y'])
        value = rng.choice(JUNK + [str(rng.uniform(-1e6, 1e6)), str(rng.randint(-10, 3000)),
                                   json.dumps([{'type': rng.choice(['input', 'conv', 'fc', 'softmax'])}])])
        parts.append(f'{key}={value}')
    return '&'.join(parts)


@pytest.fixture
def w(browser, base):
    page = Watched(browser, base)
    page.page.goto(base + '?panels=controls,stats,custom,files')
    page.wait_state('training', BOOT_S)
    yield page
    assert page.errors == [] and page.foreign == [], (page.errors, page.foreign)
    page.close()


def test_a_thousand_generated_urls_are_read_with_notes_never_errors(w, base):
    rng = random.Random(12)
    keys = w.page.evaluate("import('./page/state.js').then((m) => Object.keys(m.KEYS))")
    queries = [random_query(rng, keys) for _ in range(1000)]
    result = w.page.evaluate('''async (queries) => {
        const { readState, queryOf, KEYS } = await import('./page/state.js');
        let notes = 0, thrown = [];
        for (const q of queries) {
            for (const url of [location.origin + '/?' + q, location.origin + '/#' + q]) {
                try {
                    const r = readState(url);
                    notes += r.notes.length;
                    for (const n of r.notes) if (!n.why || typeof n.why !== 'string') thrown.push(['empty note', q]);
                    for (const k of Object.keys(r.values)) if (!(k in KEYS)) thrown.push(['unknown key kept', q]);
                    readState(location.origin + '/?' + queryOf(r.values));      // what it writes back reads again
                } catch (err) { thrown.push([String(err), q]); }
            }
        }
        return { notes, thrown };
    }''', queries)
    assert result['thrown'] == [] and result['notes'] > 500, result
    # A few of them opened for real: the page trains with the defaults for what it refused, and says so.
    for q in queries[:6]:
        page = Watched(w.page.context.browser, base)
        page.page.goto(base + '?' + q)
        # It trains, or (a huge weight decay, say) it diverged at once and the guard paused it, saying so.
        page.page.wait_for_selector('html[data-state="training"], html[data-state="paused"]', timeout=BOOT_S * 1000)
        if page.state() == 'paused':
            page.page.locator('#diverged').wait_for(state='visible', timeout=5000)
            assert page.page.text_content('#diverged [data-role="diverged-text"]').strip(), q
        assert page.errors == [], (q, page.errors)
        page.close()


def png(width, height, bar=True):
    """A gray PNG of width x height, white paper with a dark vertical bar (a "1") in the middle
    when `bar`; kept small by zlib, however large."""
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)
    plain = b'\x00' + b'\xff' * width
    inked = b'\x00' + b'\xff' * (width * 9 // 20) + b'\x00' * (width // 10) + b'\xff' * (width - width * 9 // 20 - width // 10)
    rows = [inked if bar and height // 5 <= y < height * 4 // 5 else plain for y in range(height)]
    raw = b''.join(rows)
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))


def test_bad_uploads_bad_run_files_and_pasted_text_leave_the_run_alone(w, tmp_path):
    wait_until(lambda: (w.number('examples') or 0) > 300, 30, 'some training')
    tab = w.page.evaluate("sessionStorage.getItem('live-cnn-tab')")
    message = lambda sel: w.page.text_content(sel) or ''       # noqa: E731
    files = {'empty.png': b'', 'notes.png': b'just text', 'drawing.svg': b'<svg xmlns="http://www.w3.org/2000/svg" '
             b'width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>',
             'half.png': png(40, 40)[:60]}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        w.page.set_input_files('[data-control="upload"]', str(tmp_path / name))
        wait_until(lambda: f'could not read "{name}" as an image' in message('#custom-message'), 10, name)
    # A 10,000 x 10,000 picture is scaled down on the way in: it is used, not refused.
    (tmp_path / 'huge.png').write_bytes(png(10_000, 10_000))
    w.page.set_input_files('[data-control="upload"]', str(tmp_path / 'huge.png'))
    wait_until(lambda: message('#custom-message') == '', 30, 'the huge picture')
    runs = {'truncated.json': '{"format": "pycore-run", "version": 1, "spec": [', 'nan.json': '{"format": NaN}',
            'empty.json': '', 'array.json': '[1, 2, 3]', 'layers.json': '{"layers": []}'}
    for name, text in runs.items():
        (tmp_path / name).write_text(text)
        before = w.number('examples')
        w.page.eval_on_selector('#file-message', 'm => { m.textContent = ""; }')
        w.page.set_input_files('[data-control="load-file"]', str(tmp_path / name))
        wait_until(lambda: message('#file-message'), 10, name)
        assert 'Loaded' not in message('#file-message'), (name, message('#file-message'))
        wait_until(lambda: w.number('examples') > before, 10, f'training on after {name}')
    w.page.click('#files details summary')                    # "Or paste a run"
    w.page.fill('[data-control="paste"]', 'hello')
    w.page.click('[data-control="load-paste"]')
    wait_until(lambda: 'not valid JSON' in message('#file-message'), 10, 'the pasted text refused')
    # The network and its autosave are the ones it had.
    saved = w.page.evaluate('''(key) => new Promise((resolve) => {
        const open = indexedDB.open('live-cnn', 1);
        open.onsuccess = () => { const get = open.result.transaction('runs').objectStore('runs').get(key);
            get.onsuccess = () => resolve(get.result ? get.result.summary : null); }; })''', f'tab {tab}')
    assert saved is None or saved.endswith('5,994 parameters'), saved
