"""Nothing is told by colour alone: the charts' series differ by dash as well as colour, and a
prediction card's true class differs from the other classes by more than its colour."""
import pytest

from pagekit import BOOT_S, Watched, wait_until

pytest.importorskip('playwright.sync_api', reason='install the test extra: pip install -e .[test]')

# Every stroke a chart's plot makes: its colour -> its dash ('' when solid), per chart.
STROKES = """(() => {
  window.strokes = {};
  const P = CanvasRenderingContext2D.prototype, stroke = P.stroke;
  P.stroke = function (...args) {
    const c = this.canvas, chart = c.closest && !c.closest('.u-legend') && c.closest('[data-chart]');
    if (chart) (window.strokes[chart.dataset.chart] ||= {})[this.strokeStyle] = this.getLineDash().join(',');
    return stroke.apply(this, args);
  };
})();"""

# The series' colours (panels/charts.js), as a canvas reports them.
COLOURS = {'accuracy': ['#1f6feb', '#2da44e', '#cf222e'], 'loss': ['#1f6feb', '#bf8700']}


@pytest.fixture(scope='module')
def trained(browser, base):
    """The default page, training, with every stroke of its charts recorded."""
    w = Watched(browser, base)
    w.page.add_init_script(STROKES)
    w.page.goto(base + 'index.html')
    w.wait_state('training', BOOT_S)
    yield w
    assert w.errors == [] and w.foreign == [], (w.errors, w.foreign)
    w.close()


def test_the_charts_series_differ_by_dash(trained):
    page = trained.page
    wait_until(lambda: int(page.get_attribute('[data-chart="accuracy"]', 'data-points') or 0) >= 3, 60, 'three points of accuracy')
    for chart, n in (('accuracy', 3), ('loss', 2)):
        colours = COLOURS[chart]
        strokes = wait_until(lambda: (s := page.evaluate(f'window.strokes[{chart!r}] || {{}}')) and all(c in s for c in colours) and s,
                             10, f'the {chart} chart drawing its series')
        dashes = [strokes[c] for c in colours]
        assert len(set(dashes)) == n, (chart, dict(zip(colours, dashes)))
        # The legend shows each series' line with its dash: a dashed key has gaps along its middle.
        keys = page.evaluate(f"""[...document.querySelectorAll('[data-chart="{chart}"] .u-legend canvas')].map((c) => {{
            const row = c.getContext('2d').getImageData(0, c.height >> 1, c.width, 1).data;
            let inked = 0; for (let i = 3; i < row.length; i += 4) inked += row[i] > 100;
            return [c.dataset.dash, inked / c.width]; }})""")[:n]
        assert [k[0] for k in keys] == dashes, (keys, dashes)
        assert keys[0][1] > 0.95 and all(share < 0.8 for _, share in keys[1:]), keys


def test_prediction_bars_differ_by_more_than_colour(trained):
    page = trained.page
    wait_until(lambda: page.locator('#cards .card').count() == 12, 60, '12 prediction cards')
    rows = page.evaluate("""[...document.querySelectorAll('#cards .bar')].map((b) => {
        const name = b.querySelector('.name'), fill = getComputedStyle(b.querySelector('.fill'));
        return { right: b.classList.contains('right'), text: name.textContent, weight: Number(getComputedStyle(name).fontWeight),
                 pattern: fill.backgroundImage }; })""")
    right = [r for r in rows if r['right']]
    wrong = [r for r in rows if not r['right']]
    assert len(right) >= 1 and len(wrong) >= 12, rows
    for r in right:       # marked, bold, solid
        assert r['text'].startswith('✓') and '(true class)' in r['text'] and r['weight'] >= 700 and r['pattern'] == 'none', r
    for r in wrong:       # unmarked, regular, hatched
        assert '✓' not in r['text'] and r['weight'] < 700 and 'repeating-linear-gradient' in r['pattern'], r
