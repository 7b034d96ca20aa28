"""By keyboard alone, with visible focus: the skip link, pausing, a learning rate, a lesson, a
confusion cell's images and a test image shown in the network view; menus that apply on Enter, not
on every arrow key; live regions that speak when something happens, never on a timer."""
import time

import pytest

from pagekit import BOOT_S, Watched, first_evaluation, wait_until, watched_in

pytest.importorskip('playwright.sync_api', reason='install the test extra: pip install -e .[test]')

# What has the focus: its selector-ish name, and whether a focus ring shows (an outline of 2 px or more).
FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const cs = getComputedStyle(e);
  return { tag: e.tagName.toLowerCase(), id: e.id, control: e.dataset.control || '', lessonId: e.dataset.id || '',
           inside: e.closest('[id]') ? e.closest('[id]').id : '', cls: e.className || '',
           ring: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2 };
}"""


@pytest.fixture
def page(browser, base):
    w = Watched(browser, base)
    w.page.goto(base)
    w.wait_state('training', BOOT_S)
    yield w
    assert w.errors == [] and w.foreign == [], (w.errors, w.foreign)
    w.close()


def tab_to(w, matches, what, limit=600):
    """Press Tab until the focused element matches; every stop on the way must show its focus."""
    for _ in range(limit):
        w.page.keyboard.press('Tab')
        f = w.page.evaluate(FOCUSED)
        if f is None:
            continue
        assert f['ring'], f'no visible focus on {f}'
        if matches(f):
            return f
    raise AssertionError(f'{what} not reached in {limit} presses of Tab')


def test_a_keyboard_walk(page):
    w = page
    first_evaluation(w)
    f = tab_to(w, lambda f: True, 'the first stop')
    assert f['cls'] == 'skip-link', f
    w.page.keyboard.press('Enter')
    assert w.page.evaluate('document.activeElement.id') == 'main'
    tab_to(w, lambda f: f['control'] == 'pause', 'Pause')
    w.page.keyboard.press('Enter')
    w.wait_state('paused', 10)
    tab_to(w, lambda f: f['control'] == 'learning_rate', 'the learning rate')
    w.page.keyboard.press('Control+a')
    w.page.keyboard.type('0.02')
    w.page.keyboard.press('Enter')
    wait_until(lambda: 'learning rate set to 0.02' in w.page.text_content('#trainer-message'), 10, 'the rate applied')
    tab_to(w, lambda f: f['control'] == 'lesson' and f['lessonId'] == 'pooling', 'the pooling lesson')
    w.page.keyboard.press('Enter')
    w.page.wait_for_selector('[data-lesson="pooling"]', timeout=10_000)
    tab_to(w, lambda f: f['control'] == 'confusion-cell', 'a confusion cell')
    label = w.page.evaluate('document.activeElement.getAttribute("aria-label")')
    w.page.keyboard.press('Enter')
    wait_until(lambda: w.page.locator('#cell-list canvas.digit').count() > 0, 10, "the cell's images")
    assert label.split(' images')[0] in w.page.text_content('#cell-list')
    tab_to(w, lambda f: f['inside'] == 'cell-list' and f['tag'] == 'canvas', "one of the cell's images")
    index = w.page.evaluate('document.activeElement.dataset.index')
    w.page.keyboard.press('Enter')
    wait_until(lambda: f'#{index}' in w.page.text_content('#focus-label') or index in w.page.text_content('#focus-label'),
               10, 'the image shown in the network view')


def test_menus_apply_on_enter_not_on_each_arrow_key(page):
    w = page
    tab_to(w, lambda f: f['control'] == 'method', 'the method menu')
    before = w.page.text_content('#trainer-message')
    w.page.keyboard.press('ArrowDown')           # sgd -> momentum
    w.page.keyboard.press('ArrowDown')           # -> nesterov
    time.sleep(1)
    assert w.page.text_content('#trainer-message') == before and 'method=' not in w.page.url
    assert w.page.input_value('[data-control="method"]') == 'nesterov'
    w.page.keyboard.press('Enter')
    wait_until(lambda: 'method set to nesterov' in w.page.text_content('#trainer-message'), 10, 'the method applied')
    assert 'method=nesterov' in w.page.url
    # With the pointer (a choice in the pop-up), it applies at once.
    w.page.select_option('[data-control="method"]', 'sgd')
    wait_until(lambda: 'method set to sgd' in w.page.text_content('#trainer-message'), 10, 'the pointer choice applied')


LIVE_CHANGES = """() => new Promise((resolve) => {
  const live = [...document.querySelectorAll('[aria-live], [role=status], [role=alert], [role=log]')];
  let changes = [];
  const seen = new MutationObserver((records) => { for (const r of records) changes.push((r.target.closest && r.target.closest('[id], [data-role]') || r.target.parentElement).outerHTML.slice(0, 80)); });
  for (const e of live) seen.observe(e, { childList: true, characterData: true, subtree: true });
  setTimeout(() => { seen.disconnect(); resolve(changes); }, 6000);
})"""


def test_live_regions_speak_once_not_on_a_timer(page):
    w = page
    first_evaluation(w)
    assert w.page.evaluate(LIVE_CHANGES) == []           # six seconds of training: nothing to say
    assert w.page.get_attribute('#evaluation-note', 'aria-live') is None
    assert w.page.get_attribute('#status', 'aria-live') is None
    w.page.click('[data-control="evaluate"]')            # a result: said once
    wait_until(lambda: 'Whole test set scored' in w.page.text_content('[data-role="evaluation-announce"]'), 60, 'the result said')


PAINTS = """(ms) => new Promise((resolve) => {
  let n = 0;
  const count = () => { n += 1; };
  document.addEventListener('views-painted', count);
  setTimeout(() => { document.removeEventListener('views-painted', count); resolve(n); }, ms);
})"""


def test_less_motion_when_asked(browser, base):
    """prefers-reduced-motion: the layer views repaint about once a second instead of about ten
    times, and scrolling to the network view is not smooth."""
    counts = {}
    for motion in ('no-preference', 'reduce'):
        w = watched_in(browser, base, reduced_motion=motion)
        try:
            w.page.goto(base)
            w.wait_state('training', BOOT_S)
            w.show_layer('.layer[data-index="1"]', 'canvas[data-map="activations"]')
            time.sleep(2)
            counts[motion] = w.page.evaluate(PAINTS, 5000)
            behaviour = w.page.evaluate("import('./page/views/viewstate.js').then((m) => m.scrollBehavior())")
            assert behaviour == ('auto' if motion == 'reduce' else 'smooth')
            assert w.errors == []
        finally:
            w.close()
    assert counts['reduce'] <= 7 and counts['no-preference'] >= 25, counts
