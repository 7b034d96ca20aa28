"""The dark theme and colour: the page follows the system's colour scheme unless theme= forces one,
what JS draws follows it too (the charts' lines, the diverging maps and their legends), the charts'
series differ by dash as well as colour, and a prediction card's true class differs from the other
classes by more than its colour."""
import pytest

from pagekit import BOOT_S, Watched, wait_until

pytest.importorskip('playwright.sync_api', reason='install the test extra: pip install -e .[test]')

LIGHT_BG, DARK_BG = 'rgb(246, 247, 249)', 'rgb(25, 25, 25)'      # --bg of style.css and dark.css

# The page's background, the theme the URL forced, a theme colour, and the colour of the middle
# pixel of the accuracy chart's first legend key (its line, drawn by chart.js), as #rrggbb.
LOOK = """() => {
  const key = document.querySelector('[data-chart="accuracy"] .u-legend canvas');
  let drawn = null;
  if (key) {
    const [r, g, b] = key.getContext('2d').getImageData(key.width >> 1, key.height >> 1, 1, 1).data;
    drawn = '#' + [r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('');
  }
  const css = getComputedStyle(document.documentElement);
  return { bg: getComputedStyle(document.body).backgroundColor, theme: document.documentElement.dataset.theme || null,
           series: css.getPropertyValue('--series-1').trim(), drawn };
}"""

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


def look(page, want_bg):
    """The page's LOOK once its background is want_bg and its chart has drawn in that theme."""
    return wait_until(lambda: (v := page.evaluate(LOOK))['bg'] == want_bg and v['drawn'] == v['series'] and v,
                      10, f'the background {want_bg} and the chart in its colours')


def test_the_theme_follows_the_system_unless_the_url_forces_one(browser, base):
    # Only the page's own CSS and script are looked at: its worker is not let start (no Pyodide).
    context = browser.new_context(viewport={'width': 1280, 'height': 800}, color_scheme='light')
    page = context.new_page()
    page.route('**/worker/worker.js*', lambda route: route.abort())
    try:
        page.goto(base + 'index.html?panels=charts')
        light = look(page, LIGHT_BG)
        assert light['theme'] is None and light['drawn'] == '#1f6feb'
        page.emulate_media(color_scheme='dark')            # the system changes: the page follows at once
        dark = look(page, DARK_BG)
        assert dark['drawn'] != light['drawn'] and page.evaluate('getComputedStyle(document.documentElement).colorScheme') == 'dark'
        page.goto(base + 'index.html?panels=charts&theme=light')    # the URL wins over a dark system
        assert look(page, LIGHT_BG)['theme'] == 'light'
        page.emulate_media(color_scheme='light')
        page.goto(base + 'index.html?panels=charts#theme=dark')       # ...and over a light one
        assert look(page, DARK_BG)['theme'] == 'dark'
        page.emulate_media(color_scheme='dark')
        page.emulate_media(color_scheme='light')
        assert look(page, DARK_BG)['drawn'] == dark['drawn']
    finally:
        context.close()


@pytest.fixture(scope='module')
def dark(browser, base):
    """The default page in the dark theme forced by its URL on a light system, training, with every
    stroke of its charts recorded."""
    w = Watched(browser, base)
    w.page.add_init_script(STROKES)
    w.page.goto(base + 'index.html?theme=dark')
    w.wait_state('training', BOOT_S)
    yield w
    assert w.errors == [] and w.foreign == [], (w.errors, w.foreign)
    w.close()


def test_the_charts_series_differ_by_dash(dark):
    page = dark.page
    wait_until(lambda: int(page.get_attribute('[data-chart="accuracy"]', 'data-points') or 0) >= 3, 60, 'three points of accuracy')
    for chart, n in (('accuracy', 3), ('loss', 2)):
        colours = page.evaluate(f"[1, 2, 3].slice(0, {n}).map((i) => getComputedStyle(document.documentElement).getPropertyValue(`--series-${{i}}`).trim())")
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


def test_prediction_bars_differ_by_more_than_colour(dark):
    page = dark.page
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


def test_the_dark_maps_keep_zero_positive_and_negative_apart(dark):
    # Zero is the page's own dark in the diverging map, negative blue and positive red both light
    # away from it; the legend beside the maps is drawn from that same map.
    page = dark.page
    assert page.evaluate('getComputedStyle(document.body).backgroundColor') == DARK_BG
    dark.show_layer('.layer[data-type="conv"]', '.legend-scale')
    ends = page.evaluate("""() => {
        const c = document.querySelector('.layer[data-type="conv"] .row[data-row="activations"] .legend-scale');
        const g = c.getContext('2d'), y = c.height >> 1, dpr = c.width / 176;
        const at = (x) => Array.from(g.getImageData(Math.round(x * dpr), y, 1, 1).data.slice(0, 3));
        return { negative: at(60), zero: at(88), positive: at(116) }; }""")
    neg, zero, pos = ends['negative'], ends['zero'], ends['positive']
    assert max(zero) < 60, ends                                # near-black zero
    assert neg[2] > neg[0] + 60 and neg[2] > 150, ends          # light blue
    assert pos[0] > pos[2] + 60 and pos[0] > 150, ends          # light red
