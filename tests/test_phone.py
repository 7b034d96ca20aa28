"""Phones and tablets, emulated in Chromium with touch: no page, lesson or embed scrolls sideways
(wide tables and canvases fit or scroll inside their own box), layer maps stay large enough to see
a digit's strokes, the drawing pad and its prediction fit on one screen, and every control is a tap
target of at least 24x24 CSS px (WCAG 2.5.8), 44 px tall on a touch screen."""
import pytest

from pagekit import BOOT_S, first_evaluation, training_pages, wait_until, watched_in
from test_lessons import DRAWN, LESSONS

pytest.importorskip('playwright.sync_api', reason='install the test extra: pip install -e .[test]')

PHONES = [(360, 740), (390, 844), (412, 915)]
TABLETS = [(820, 1180), (1180, 820)]

# How far the page reaches past the right edge of the screen, and the elements that do (outermost
# first), leaving out what a box that scrolls sideways itself contains.
OVERFLOW = """() => {
  const W = document.documentElement.clientWidth;
  const wide = [];
  const scrolls = (e) => { for (let p = e.parentElement; p; p = p.parentElement) {
    const s = getComputedStyle(p).overflowX; if (s === 'auto' || s === 'scroll' || s === 'hidden') return p !== document.documentElement && p !== document.body; } return false; };
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > W + 0.5 && !scrolls(e)) {
      wide.push(`${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\\s+/).join('.') : ''} +${Math.round(r.right - W)}px`);
    }
  }
  return { scroll: document.documentElement.scrollWidth - W, wide: wide.slice(0, 8) };
}"""

# Every control one can tap, seen on the page, with its size: buttons, links, inputs, selects,
# summaries, labels that stand for a hidden file input. Links inside a sentence are exempt (2.5.8).
TARGETS = """() => {
  const out = [];
  const sel = 'button, a[href], input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"]), label.drawpad-upload';
  for (const e of document.querySelectorAll(sel)) {
    const r = e.getBoundingClientRect();
    const cs = getComputedStyle(e);
    if (r.width === 0 || r.height === 0 || cs.visibility === 'hidden' || cs.opacity === '0') continue;
    if (e.closest('dialog:not([open])')) continue;
    if (e.tagName === 'A' && cs.display === 'inline' && e.parentElement && /\\S/.test(e.parentElement.textContent.replace(e.textContent, ''))) continue;
    const name = `${e.tagName.toLowerCase()}${e.dataset.control ? '[data-control=' + e.dataset.control + ']' : ''}${e.id ? '#' + e.id : ''} "${(e.textContent || e.value || '').trim().slice(0, 24)}"`;
    out.push([name, e.tagName.toLowerCase(), e.type || '', Math.round(r.width * 10) / 10, Math.round(r.height * 10) / 10, e.classList.contains('cell')]);
  }
  return out;
}"""


@pytest.fixture
def device(browser, base):
    """go(query, size): the page at that size, touch emulated, once it trains."""
    yield from training_pages(lambda size: watched_in(browser, base, size, has_touch=True, is_mobile=True,
                                                      device_scale_factor=2), base)


def no_sideways_scroll(w, what):
    found = w.page.evaluate(OVERFLOW)
    assert found['scroll'] <= 0 and not found['wide'], f'{what}: scrolls sideways by {found["scroll"]} px: {found["wide"]}'


@pytest.mark.parametrize('size', PHONES + TABLETS, ids=lambda s: f'{s[0]}x{s[1]}')
def test_the_page_never_scrolls_sideways(device, size):
    w = device('index.html', size)
    first_evaluation(w)
    w.page.locator('#confusion td.off:not(:text-is("0"))').first.click()   # a cell's images listed
    wait_until(lambda: w.page.locator('#cell-list figure, #cell-list .note').count() > 0, 10, "the cell's images")
    w.show_layer('.layer[data-index="4"]', 'canvas[data-map="activations"]')
    no_sideways_scroll(w, f'the page at {size[0]} px')


def test_every_lesson_and_an_embed_fit_a_phone(device):
    w = device('index.html?lesson=output-size', PHONES[0])
    for name in LESSONS:
        w.page.goto(w.page.url.split('?')[0] + f'?lesson={name}')
        w.wait_state('training', BOOT_S)
        w.page.wait_for_selector(f'[data-lesson="{name}"]')
        if name in DRAWN:
            w.page.wait_for_selector(f'[data-lesson="{name}"] {DRAWN[name]}', timeout=30_000)
        no_sideways_scroll(w, f'lesson {name} at 360 px')
    w.page.goto(w.page.url.split('?')[0] + '?embed=1&panels=charts,network')
    w.wait_state('training', BOOT_S)
    w.show_layer('.layer[data-index="1"]', 'canvas[data-map="activations"]')
    no_sideways_scroll(w, 'an embed at 360 px')


def test_layer_maps_stay_large_enough_to_see_strokes(device):
    """conv1's 24x24 maps at 2 CSS px per value or more, conv2's 12x12 at 4: 48 px at the least."""
    w = device('index.html', PHONES[0])
    for index in (1, 4):
        box = f'.layer[data-index="{index}"]'
        w.show_layer(box, 'canvas[data-map="activations"]')
        widths = w.page.evaluate('(b) => [...document.querySelectorAll(b + " canvas[data-map=activations]")].map((c) => c.getBoundingClientRect().width)', box)
        assert widths and min(widths) >= 48, (index, widths)


def test_the_drawing_pad_and_its_prediction_fit_one_screen(device):
    for size in PHONES:
        w = device('index.html', size)
        w.page.locator('#custom h2').scroll_into_view_if_needed()
        w.page.evaluate("document.querySelector('#custom').scrollIntoView({ block: 'start' })")
        box = w.page.locator('#pad canvas').bounding_box()
        w.page.mouse.move(box['x'] + box['width'] / 2, box['y'] + box['height'] * 0.15)
        w.page.mouse.down()
        for k in range(1, 15):
            w.page.mouse.move(box['x'] + box['width'] / 2, box['y'] + box['height'] * (0.15 + 0.05 * k))
        w.page.mouse.up()
        wait_until(lambda: w.page.locator('#custom-prediction .bar').count() == 10, 10, 'the prediction')
        pad = w.page.locator('#pad canvas').bounding_box()
        heading = w.page.locator('#custom h2').bounding_box()
        bars = w.page.locator('#custom-prediction').bounding_box()
        top, bottom = heading['y'], max(pad['y'] + pad['height'], bars['y'] + bars['height'])
        assert bottom - top <= size[1], f'{size}: the heading, the pad and its prediction span {bottom - top:.0f} px'
        assert pad['width'] >= 200, pad


@pytest.mark.parametrize('size', [PHONES[0], TABLETS[0]], ids=lambda s: f'{s[0]}x{s[1]}')
def test_tap_targets(device, size):
    w = device('index.html', size)
    first_evaluation(w)
    w.page.evaluate("for (const d of document.querySelectorAll('details')) d.open = true")
    targets = w.page.evaluate(TARGETS)
    assert len(targets) > 30
    small = [t for t in targets if t[3] < 24 or t[4] < 24]
    assert not small, f'under 24x24 CSS px: {small}'
    # The confusion matrix's hundred cells have no room for 44 px: they keep to 24x24 (2.5.8) and more.
    short = [t for t in targets if t[1] in ('button', 'select', 'input', 'summary') and t[2] not in ('checkbox', 'radio')
             and t[4] < 44 and not t[5]]
    assert not short, f'under 44 px tall on a touch screen: {short}'
