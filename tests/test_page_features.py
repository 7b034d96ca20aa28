"""End-to-end: every view and control of the page, on one page that keeps training.

The tests run in file order on a shared page (booting Pyodide once); each checks that no console
error or uncaught exception has happened so far.
"""
import json
import re
import struct
import time
import zlib

import pytest

from config import DEFAULT_TRAINER, TRAINERS
from pagekit import BOOT_S, Watched, start_server, wait_until

DEFAULT = TRAINERS[DEFAULT_TRAINER]['options']

pytest.importorskip('playwright.sync_api', reason='install the test extra: pip install -e .[test]')


@pytest.fixture(scope='module')
def w(site, browser):
    server, url = start_server(site)
    watched = Watched(browser, url)
    watched.page.goto(url)
    watched.wait_state('training', BOOT_S)
    yield watched
    watched.close()
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_errors(w):
    yield
    assert w.errors == [], w.errors
    assert w.foreign == [], w.foreign


def control(w, name):
    return w.page.locator(f'[data-control="{name}"]')


def set_value(w, name, value):
    """Type a value into a control and leave it, which fires one change event as a user would."""
    control(w, name).fill(value)
    control(w, name).press('Tab')


def text(w, selector):
    return w.page.text_content(selector)


def canvas_ink(w, selector):
    """How many pixels of the canvas are not transparent and not white."""
    return w.page.evaluate('''(sel) => {
        const c = document.querySelector(sel);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 200 || d[i + 1] < 200 || d[i + 2] < 200)) n++;
        return n;
    }''', selector)


def test_stats_panel_fills_in(w):
    wait_until(lambda: (w.number('test-accuracy') or 0) > 30, 120, 'test accuracy above 30%')
    for name in ('examples', 'epochs', 'examples-per-s', 'fwd-ms', 'bwd-ms', 'loss', 'l2-loss',
                 'train-accuracy', 'validation-accuracy', 'test-accuracy'):
        assert w.number(name) is not None, name
    assert w.number('examples-per-s') > 0 and w.number('epochs') > 0
    assert 'last 500 test images' in text(w, '#stats')


def test_charts_draw_and_clear(w):
    wait_until(lambda: canvas_ink(w, '#loss-chart canvas') > 500 and canvas_ink(w, '#accuracy-chart canvas') > 500, 30, 'charts')
    points = lambda: int(w.page.get_attribute('#loss-chart', 'data-points') or 0)
    before = wait_until(lambda: points() >= 5 and points(), 30, 'a few loss points')   # (so that a clear shows)
    control(w, 'clear-charts').click()
    # The worker answers between slices and the chart redraws on a later frame: wait for the clear.
    wait_until(lambda: points() < before, 10, 'the charts to clear')
    cleared = canvas_ink(w, '#loss-chart canvas')
    wait_until(lambda: canvas_ink(w, '#loss-chart canvas') > cleared, 30, 'the loss chart to grow again')


def legend_values(w, chart):
    """The hover readout under a chart: series label -> the value shown."""
    return w.page.evaluate('''(sel) => Object.fromEntries([...document.querySelectorAll(`${sel} .u-legend .u-series`)]
        .map((row) => [row.querySelector('.u-label').textContent, row.querySelector('.u-value').textContent]))''', chart)


def test_charts_read_out_values_on_hover_and_the_loss_goes_log(w):
    wait_until(lambda: int(w.page.get_attribute('#loss-chart', 'data-points') or 0) >= 3, 30, 'a few chart points')
    canvas = w.page.locator('#loss-chart .u-wrap canvas')      # the plot (the legend's keys are canvases too)
    canvas.scroll_into_view_if_needed()                 # a mouse outside the viewport hovers nothing
    box = canvas.bounding_box()
    w.page.mouse.move(box['x'] + box['width'] * 0.6, box['y'] + box['height'] * 0.5)
    shown = wait_until(lambda: (v := legend_values(w, '#loss-chart')) and v['classification loss'] not in ('', '—') and v, 5,
                       'the readout')
    assert float(shown['classification loss']) > 0 and float(shown['examples'].replace(',', '')) > 0
    w.page.mouse.move(0, 0)
    assert w.page.get_attribute('#loss-chart', 'data-scale') == 'linear'
    control(w, 'log-loss').check()
    wait_until(lambda: w.page.get_attribute('#loss-chart', 'data-scale') == 'log', 5, 'the log scale')
    assert 'logloss=1' in w.page.url
    wait_until(lambda: canvas_ink(w, '#loss-chart .u-wrap canvas') > 500, 10, 'the log chart drawn')
    control(w, 'log-loss').uncheck()
    wait_until(lambda: w.page.get_attribute('#loss-chart', 'data-scale') == 'linear', 5, 'back to linear')
    assert 'logloss' not in w.page.url


def test_network_view_shows_every_layer(w):
    # Rows are built a few per frame and snapshots painted over several frames; the page signals a
    # complete repaint of every view (the benchmark counts these as view refreshes).
    w.page.evaluate("""() => new Promise((resolve, reject) => {
        document.addEventListener('views-painted', resolve, { once: true });
        setTimeout(() => reject(new Error('no views-painted event within 10 s')), 10000);
    })""")
    boxes = w.page.locator('.layer')
    types = [boxes.nth(i).get_attribute('data-type') for i in range(boxes.count())]
    assert types == ['input', 'conv', 'relu', 'pool', 'conv', 'relu', 'pool', 'fc', 'softmax']
    for i in range(len(types)):                         # a reader scrolls down the view: each box is made
        w.show_layer(f'.layer[data-index="{i}"]')
    conv = w.page.locator('.layer[data-type="conv"]').first
    info = conv.text_content()
    assert '8x5x5x1+8 = 208' in info and '(24 - 5 + 2*2)/1 + 1 = 24' in info and 'stride 1' in info
    assert w.page.locator('.layer[data-type="conv"]').first.locator('canvas[data-map="weights"]').count() >= 8
    assert w.page.locator('.layer[data-type="fc"] canvas[data-map="weights"]').count() >= 1
    assert w.page.locator('.layer[data-type="conv"] canvas[data-map="weight-gradients"]').count() >= 8
    assert w.page.locator('.layer[data-type="softmax"] .bar-row').count() == 10
    pool_text = w.page.locator('.layer[data-type="pool"]').first.text_content()
    assert '(24 - 2 + 2*0)/2 + 1 = 12' in pool_text


def test_normalization_and_hover(w):
    select = control(w, 'normalization')
    for mode in ('layer', 'global', 'map'):
        select.select_option(mode)
        time.sleep(0.3)
    w.show_layer('.layer[data-type="conv"]', 'canvas[data-map="activations"]')
    canvas = w.page.locator('.layer[data-type="conv"] canvas[data-map="activations"]').first
    canvas.hover()
    tip = w.page.locator('.layer-tooltip')
    wait_until(lambda: tip.is_visible(), 5, 'the tooltip')
    assert '=' in tip.text_content() and 'conv' in tip.text_content()
    w.page.mouse.move(0, 0)


def test_prediction_cards(w):
    wait_until(lambda: w.page.locator('#cards .card').count() == 12, 20, '12 prediction cards')
    card = w.page.locator('#cards .card').first
    assert card.locator('.bar').count() == 3
    assert canvas_ink(w, '#cards .card canvas') >= 0


def test_the_whole_test_set_is_scored_soon_and_the_panel_says_when_next(w):
    # No click: the first score comes a few seconds after the test images have all arrived (it
    # used to wait a minute), then the note counts down to the next one.
    wait_until(lambda: '10,000 test images' in (text(w, '#confusion caption') or ''), 60, 'the first evaluation')
    assert w.page.evaluate('performance.now()') / 1000 < 55, 'scored before a minute of training'
    shown = wait_until(lambda: re.search(r'Recomputed every minute of training; next in (\d+) s\.', text(w, '#evaluation-note')),
                       10, 'the countdown')
    left = int(shown[1])     # (the note is redrawn every frame: read the match the wait saw)
    assert 1 <= left <= 60
    control(w, 'pause').click()
    w.wait_state('paused', 5)
    wait_until(lambda: re.search(r'next after \d+ s more of training', text(w, '#evaluation-note')), 5, 'the paused note')
    control(w, 'pause').click()
    w.wait_state('training', 5)


def test_confusion_matrix_cells_and_mistakes(w):
    wait_until(lambda: w.stat('examples') and 'All images loaded' in text(w, '#data-note'), 60, 'all data')
    # An earlier test's scoring may have left a matrix: wait for this click's (a later caption).
    before = text(w, '#confusion caption') if w.page.locator('#confusion caption').count() else None
    control(w, 'evaluate').click()
    wait_until(lambda: w.page.locator('#confusion td[data-true]').count() == 100
               and text(w, '#confusion caption') != before, 90, 'the confusion matrix')
    counts = w.page.eval_on_selector_all('#confusion td[data-true]', 'cells => cells.map((c) => Number(c.textContent))')
    assert sum(counts) == 10000
    assert '10,000 test images' in text(w, '#confusion caption')
    assert w.page.locator('#confusion td.acc').count() == 10
    off = w.page.locator('#confusion td.off').filter(has_not_text='0').first
    expected = int(off.text_content())
    off.click()
    wait_until(lambda: w.page.locator('#cell-list canvas.digit').count() == min(expected, 60), 10, 'the cell images')
    assert w.page.locator('#mistakes canvas.digit').count() == 24
    w.page.locator('#mistakes canvas.digit').first.click()
    wait_until(lambda: 'test image #' in text(w, '#focus-label'), 10, 'the network view to show that image')
    assert control(w, 'follow-training').is_visible()
    control(w, 'follow-training').click()
    wait_until(lambda: text(w, '#focus-label') == 'the latest training example', 10, 'following training again')


def png_bytes(pixels, width, height):
    """A grayscale PNG from rows of 0..255 values (no imaging library needed)."""
    raw = b''.join(b'\x00' + bytes(pixels[y * width:(y + 1) * width]) for y in range(height))

    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))


def test_drawing_pad_and_upload(w, tmp_path):
    pad = w.page.locator('#pad canvas').first
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    w.page.mouse.move(box['x'] + 140, box['y'] + 50)
    w.page.mouse.down()
    for y in range(50, 240, 10):
        w.page.mouse.move(box['x'] + 140, box['y'] + y)
    w.page.mouse.up()
    wait_until(lambda: w.page.locator('#custom-prediction .bar').count() == 10, 10, 'the live prediction')
    assert text(w, '#focus-label') == 'your image'
    assert canvas_ink(w, '#custom-preview') >= 0
    best = w.page.locator('#custom-prediction .bar.best .name').text_content()
    assert best in [str(i) for i in range(10)]
    # An uploaded picture: a dark "7" on white paper.
    W = H = 60
    img = [255] * (W * H)
    for x in range(15, 45):
        for y in range(10, 15):
            img[y * W + x] = 0
    for k in range(35):
        for d in range(5):
            img[(14 + k) * W + 44 - k // 2 - d] = 0
    (tmp_path / 'seven.png').write_bytes(png_bytes(img, W, H))
    preview = lambda: w.page.eval_on_selector('#custom-preview', 'c => c.toDataURL()')   # noqa: E731
    drawn = preview()
    control(w, 'upload').set_input_files(str(tmp_path / 'seven.png'))
    wait_until(lambda: preview() != drawn, 10, 'the uploaded picture to be prepared')
    assert text(w, '#focus-label') == 'your image' and text(w, '#custom-message') == ''
    (tmp_path / 'notes.txt').write_text('not a picture')
    control(w, 'upload').set_input_files(str(tmp_path / 'notes.txt'))
    wait_until(lambda: 'could not read "notes.txt" as an image' in text(w, '#custom-message'), 10, 'upload error')
    control(w, 'follow-training').click()


def test_trainer_settings_apply_live(w):
    assert control(w, 'trainer').input_value() == DEFAULT_TRAINER
    assert TRAINERS[DEFAULT_TRAINER]['title'] in text(w, 'footer')
    # The rate first: adam at sgd's rate blows the loss up, and the divergence guard would pause.
    set_value(w, 'learning_rate', '0.001')
    wait_until(lambda: 'learning rate set to 0.001' in text(w, '#trainer-message'), 10, 'learning rate change')
    assert control(w, 'trainer').input_value() == 'custom'
    control(w, 'method').select_option('adam')
    wait_until(lambda: 'method set to adam' in text(w, '#trainer-message'), 10, 'method change')
    set_value(w, 'batch_size', '0')
    wait_until(lambda: 'batch_size must be a whole number of at least 1' in text(w, '#trainer-message'), 10, 'refusal')
    assert control(w, 'batch_size').input_value() == str(DEFAULT['batch_size'])
    for name, value in (('momentum', '0.8'), ('l1_decay', '0.0001'), ('l2_decay', '0.002')):
        set_value(w, name, value)
        wait_until(lambda: f'set to {value}' in text(w, '#trainer-message'), 10, name)
    assert 'method=adam' in w.page.url
    choose_trainer(w, DEFAULT_TRAINER)
    assert 'method=' not in w.page.url and 'trainer=' not in w.page.url     # the default needs no keys
    before = w.number('examples')
    wait_until(lambda: w.number('examples') > before, 10, 'training to go on')


def choose_trainer(w, name):
    """Pick a named trainer from the menu; every control then shows its options."""
    control(w, 'trainer').select_option(name)
    wait_until(lambda: TRAINERS[name]['title'] in text(w, '#trainer-message'), 10, f'the {name} trainer')
    for key, value in TRAINERS[name]['options'].items():
        assert control(w, key).input_value() in (str(value), f'{value:g}' if isinstance(value, float) else str(value)), key
    assert control(w, 'trainer').input_value() == name


def test_a_learning_rate_schedule_is_live_and_its_rate_shown(w):
    choose_trainer(w, 'convnetjs')
    assert 'trainer=convnetjs' in w.page.url and 'method=' not in w.page.url
    wait_until(lambda: text(w, '[data-role="rate-now"]') == 'set by adadelta itself', 10, 'no rate for adadelta')
    control(w, 'method').select_option('sgd')
    wait_until(lambda: 'method set to sgd' in text(w, '#trainer-message'), 10, 'method change')
    assert not w.page.is_visible('[data-control="step_size"]')      # a schedule's settings show with it
    control(w, 'schedule').select_option('step')
    wait_until(lambda: 'schedule set to step' in text(w, '#trainer-message'), 10, 'schedule change')
    assert w.page.is_visible('[data-control="step_size"]') and not w.page.is_visible('[data-control="total_steps"]')
    set_value(w, 'gamma', '1.5')
    wait_until(lambda: 'gamma must be above 0 and at most 1' in text(w, '#trainer-message'), 10, 'refusal')
    set_value(w, 'gamma', '0.4')
    wait_until(lambda: 'gamma set to 0.4' in text(w, '#trainer-message'), 10, 'gamma')
    set_value(w, 'step_size', '1')                                   # the rate times 0.4 every update
    wait_until(lambda: 'step size set to 1' in text(w, '#trainer-message'), 10, 'step size')
    wait_until(lambda: float(text(w, '[data-role="rate-now"]')) < 1e-6, 20, 'the rate to decay')
    wait_until(lambda: w.page.get_attribute('[data-chart="loss"]', 'data-right-axis') == 'learning rate (right)', 20,
               'the rate on the loss chart')
    assert 'schedule=step' in w.page.url and 'step_size=1' in w.page.url and 'trainer=convnetjs' in w.page.url
    control(w, 'schedule').select_option('constant')
    wait_until(lambda: 'schedule set to constant' in text(w, '#trainer-message'), 10, 'schedule back')
    wait_until(lambda: float(text(w, '[data-role="rate-now"]')) == float(control(w, 'learning_rate').input_value()),
               10, 'the constant rate')
    choose_trainer(w, DEFAULT_TRAINER)
    assert 'trainer=' not in w.page.url and 'schedule=' not in w.page.url


def test_pause_step_resume(w):
    control(w, 'pause').click()
    w.wait_state('paused', 5)
    time.sleep(0.5)
    frozen = w.number('examples')
    control(w, 'step').click()
    B = DEFAULT['batch_size']
    wait_until(lambda: w.number('examples') == frozen + B, 10, f'one batch of {B}')
    time.sleep(1)
    assert w.number('examples') == frozen + B
    control(w, 'pause').click()
    w.wait_state('training', 5)


def test_bad_spec_keeps_training_and_presets_change_the_net(w):
    w.page.locator('#spec-editor summary').click()
    editor = control(w, 'spec')
    editor.fill('[{"type": "input", "out_sx": 24, "out_sy": 24, "out_depth": 1},'
                ' {"type": "conv", "sx": 5, "filters": 4, "stride": 2}, {"type": "softmax", "num_classes": 10}]')
    control(w, 'change-network').click()
    wait_until(lambda: 'does not fit: (24 - 5 + 2*0)/2 + 1 = 10.50' in text(w, '#spec-message'), 10, 'the validator message')
    editor.fill('[{"type": "input", "out_sx": 24}, alert(1)]')
    control(w, 'change-network').click()
    wait_until(lambda: 'not valid JSON' in text(w, '#spec-message'), 10, 'the JSON message')
    before = w.number('examples')
    wait_until(lambda: w.number('examples') > before + 100, 20, 'the current network to keep training')
    control(w, 'preset').select_option('mlp')
    assert '"num_neurons": 100' in editor.input_value()
    control(w, 'change-network').click()
    wait_until(lambda: w.page.locator('.layer').count() == 7, 10, 'the MLP layers')
    assert 'parameters' in text(w, '#param-count') and '68,810' in text(w, '#param-count')
    wait_until(lambda: (w.number('examples') or 0) > 100, 20, 'the MLP to train')
    control(w, 'preset').select_option('convnetjs')
    control(w, 'change-network').click()
    wait_until(lambda: w.page.locator('.layer').count() == 9, 10, 'the ConvNetJS layers')


def test_reset_weights_starts_over(w):
    # Far enough that the fresh run takes seconds to count back past it: the default trainer
    # passes 400 examples within a second of a reset, quicker than a poll can be sure to see.
    before = wait_until(lambda: (w.number('examples') or 0) > 4000 and w.number('examples'), 30, 'some training')
    control(w, 'reset').click()
    wait_until(lambda: (w.number('examples') or 1e9) < before, 10, 'the counter to start over')


def test_save_and_load_a_run(w, tmp_path):
    wait_until(lambda: (w.number('examples') or 0) > 1000, 30, 'some training')
    with w.page.expect_download() as info:
        control(w, 'save').click()
    path = tmp_path / 'run.json'
    info.value.save_as(path)
    run = json.loads(path.read_text())
    history = run['extra']['session']['history']      # the charts travel with the run
    assert run['format'] == 'pycore-run' and len(history['loss']) >= 2 and len(history['accuracy']) >= 2
    saved = run['trainer']['examples']
    control(w, 'reset').click()
    wait_until(lambda: (w.number('examples') or 1e9) < saved, 10, 'a fresh run')
    control(w, 'load-file').set_input_files(str(path))
    wait_until(lambda: f'continuing at {saved:,} examples' in text(w, '#file-message'), 20, 'the loaded run')
    chart = w.page.locator('#loss-chart')
    # The loaded charts hold the saved history (the fresh run's had fewer examples than `saved`).
    wait_until(lambda: int(chart.get_attribute('data-points')) >= len(history['loss'])
               and float(chart.get_attribute('data-last-x')) >= history['loss'][-1][0], 10, "the loaded run's charts")
    wait_until(lambda: (w.number('examples') or 0) > saved, 10, 'training to continue from the saved count')
    bad = tmp_path / 'bad.json'
    bad.write_text('{"layers": [')
    control(w, 'load-file').set_input_files(str(bad))
    wait_until(lambda: 'not valid JSON' in text(w, '#file-message'), 10, 'the bad-file message')
    w.page.locator('#files details summary').click()
    control(w, 'paste').fill('{"format": "pycore-run", "version": 1}')
    control(w, 'load-paste').click()
    wait_until(lambda: 'incomplete or malformed' in text(w, '#file-message'), 10, 'the bad-paste message')
    assert (w.number('examples') or 0) > saved                   # the loaded run kept training


def test_switch_to_fashion_mnist(w, site):
    datasets = json.loads((site / 'data' / 'manifest.json').read_text())['datasets']
    if 'fashion-mnist' not in datasets:
        pytest.skip('this build has no Fashion-MNIST (install the Debian package dataset-fashion-mnist)')
    lede = '[data-role="lede-dataset"]'
    assert text(w, lede) == f"{datasets['mnist']['title']} ({datasets['mnist']['train_count']:,} training images)"
    control(w, 'dataset').select_option('fashion-mnist')
    wait_until(lambda: (w.number('examples') or 0) > 200, 60, 'training on Fashion-MNIST')
    # The header names the dataset trained on, not the one the page was built saying.
    fashion = datasets['fashion-mnist']
    wait_until(lambda: text(w, lede) == f"{fashion['title']} ({fashion['train_count']:,} training images)", 30,
               'the header to name Fashion-MNIST')   # the examples count above may still be the old run's
    wait_until(lambda: 'Trouser' in text(w, '#cards') or 'Ankle boot' in text(w, '#cards')
               or 'Sneaker' in text(w, '#cards'), 30, 'Fashion-MNIST class names on the cards')
