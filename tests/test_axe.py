"""axe-core (npm, pinned, used by the tests only) finds no critical or serious violation of WCAG 2.2
A and AA on the default page once its views are drawn, on an embed, and on every lesson; the page
and an embed in the dark theme too (the system's, and one a URL forces)."""
import pytest

import build
from buildkit import assets
from pagekit import first_evaluation, training_pages, wait_until, watched_in
from test_lessons import DRAWN, LESSONS

pytest.importorskip('playwright.sync_api', reason='install the test extra: pip install -e .[test]')

AXE_PACKAGE = ("axe-core@4.14.1", "axe-core-4.14.1.tgz",
               "e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745")
TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa']
RUN = """(tags) => axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] })
  .then((r) => r.violations.filter((v) => v.impact === 'critical' || v.impact === 'serious')
    .map((v) => `${v.id} (${v.impact}): ${v.help}; ${v.nodes.length} nodes, e.g. ${v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 160)).join(' | ')}`))"""


@pytest.fixture(scope='module')
def axe_source():
    tgz = assets.fetch_npm(build.resolve_cache(None), AXE_PACKAGE, lambda m: None)
    return assets.read_tar_members(tgz, ['package/axe.min.js'])['package/axe.min.js'].decode('utf-8')


@pytest.fixture
def checked(browser, base, axe_source):
    """go(query, size): the page once it trains (its own policy set aside only so that axe can be
    added as a script); go.violations(w) runs axe there -> its critical and serious violations."""
    def violations(w):
        w.page.add_script_tag(content=axe_source)
        return w.page.evaluate(RUN, TAGS)
    make = lambda size=(1280, 800), scheme='light': watched_in(browser, base, size, bypass_csp=True, color_scheme=scheme)
    for go in training_pages(make, base):
        go.violations = violations
        yield go


@pytest.mark.parametrize('scheme', ['light', 'dark'])
def test_the_default_page(checked, scheme):
    w = checked('index.html', scheme=scheme)
    assert w.page.evaluate('getComputedStyle(document.documentElement).colorScheme') == scheme
    first_evaluation(w)
    w.page.locator('#confusion td.pick').first.click()
    wait_until(lambda: w.page.locator('#cell-list canvas').count() > 0, 10, "a cell's images")
    w.show_layer('.layer[data-index="1"]', 'canvas[data-map="activations"]')
    found = checked.violations(w)
    assert not found, "\n".join(found)


@pytest.mark.parametrize('theme', ['', '&theme=dark'])
def test_an_embed(checked, theme):
    w = checked(f'index.html?embed=1&panels=charts,network{theme}', (960, 700))
    w.show_layer('.layer[data-index="1"]', 'canvas[data-map="activations"]')
    found = checked.violations(w)
    assert not found, "\n".join(found)


@pytest.mark.parametrize('name', LESSONS)
def test_every_lesson(checked, name):
    w = checked(f'index.html?lesson={name}&embed=1', (960, 700))
    w.page.wait_for_selector(f'[data-lesson="{name}"]')
    if name in DRAWN:
        w.page.wait_for_selector(f'[data-lesson="{name}"] {DRAWN[name]}', timeout=30_000)
    found = checked.violations(w)
    assert not found, "\n".join(found)
