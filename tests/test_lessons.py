"""End-to-end: the lessons, each opened by ?lesson=ID (alone and embedded), driven as a student
would, and checked against numbers computed here, independently of the page."""
import json
import os
from urllib.parse import parse_qsl, urlsplit

import pytest

import pycore
from pagekit import training_pages, wait_until, watched_in

pytest.importorskip('playwright.sync_api', reason='install the test extra: pip install -e .[test]')
presets = pytest.importorskip('presets')      # site/worker/py is on sys.path (conftest.py)

LESSONS = ['output-size', 'parameters', 'pooling', 'depth', 'flatten', 'sparse-matrix', 'compare', 'shift', 'top-images', 'activations', 'unit-math']

# What each lesson that asks the run for numbers shows once they have arrived.
DRAWN = {'pooling': '[data-stat="pool-window"][data-output]', 'depth': '[data-stat="depth-sum"][data-held]',
         'top-images': 'figure[data-rank]', 'compare': '[data-layer="conv2"]', 'flatten': '[data-stat="flatten-dot"][data-held]', 'shift': 'tr[data-net="mlp"]', 'unit-math': '[data-stat="unit-forward"][data-held]'}


@pytest.fixture
def lesson(browser, base):
    """go(query, width, height): the page at that size once it trains."""
    yield from training_pages(lambda width=1280, height=800: watched_in(browser, base, (width, height)), base)


def text(w, selector):
    return w.page.text_content(selector)


def output_size(N, F, S, P):
    return (N - F + 2 * P) / S + 1


def test_output_size(lesson):
    w = lesson('?lesson=output-size')
    root = '[data-lesson="output-size"]'
    w.page.wait_for_selector(root)
    for S in (1, 2, 3):
        size = output_size(7, 3, S, 0)
        row = text(w, f'{root} [data-result="stride-{S}"]')
        if size.is_integer():
            assert f'= {int(size)}' in row and f'{int(size)}×{int(size)} output' in row, row
        else:
            assert f'= {size:.2f}' in row and "doesn't fit" in row, row
    assert text(w, f'{root} [data-result="stride-3"]').count('2.33') == 1
    for key, value in {'N': 28, 'F': 5, 'S': 2, 'P': 1}.items():
        w.page.fill(f'[data-control="lesson-{key}"]', str(value))
    assert text(w, '[data-stat="output-size"]').startswith(f'(28 − 5 + 2·1)/2 + 1 = {output_size(28, 5, 2, 1):.2f}: doesn\'t fit')
    w.page.fill('[data-control="lesson-P"]', '2')
    assert text(w, '[data-stat="output-size"]').startswith(f'(28 − 5 + 2·2)/2 + 1 = {output_size(28, 5, 2, 2):.2f}'.replace('.00', ''))
    assert 'padding (F − 1)/2 = 2' in text(w, '[data-stat="same-padding"]')
    # On the live net: conv1 as a 3x3 filter with padding 1, checked by pycore before it is applied.
    w.page.select_option('[data-control="lesson-layer"]', label='conv1 (24×24 out)')
    w.page.fill('[data-control="lesson-sx"]', '3')
    w.page.fill('[data-control="lesson-pad"]', '1')
    spec = [dict(d) for d in pycore.CONVNETJS_MNIST]
    spec[1].update(sx=3, pad=1)
    expected = pycore.Net.from_spec(spec).param_count()
    wait_until(lambda: f'{expected:,} parameters' in text(w, '[data-stat="live-output-size"]'), 10, 'the preview')
    assert '(24 - 3 + 2*1)/1 + 1 = 24' in text(w, '[data-stat="live-output-size"]')
    w.page.fill('[data-control="lesson-stride"]', '4')             # (24 - 3 + 2)/4 + 1 = 6.75: pycore refuses it
    wait_until(lambda: 'does not fit' in text(w, '[data-stat="live-output-size"]'), 10, "pycore's refusal")
    assert w.page.is_disabled('[data-control="lesson-apply"]')
    w.page.fill('[data-control="lesson-stride"]', '1')
    wait_until(lambda: w.page.is_enabled('[data-control="lesson-apply"]'), 10, 'a valid change')
    w.page.click('[data-control="lesson-apply"]')
    wait_until(lambda: f'{expected:,} parameters' in text(w, '#param-count'), 10, 'the changed network training')
    assert json.loads(dict(parse_qsl(urlsplit(w.page.evaluate('location.href')).query))['spec'])[1]['sx'] == 3


def test_parameters(lesson):
    w = lesson('?lesson=parameters')
    root = '[data-lesson="parameters"]'
    w.page.wait_for_selector(root)
    assert text(w, '[data-stat="parameters"]') == f'5·5·3 + 1 = {5 * 5 * 3 + 1} per filter; 10 filters: {10 * (5 * 5 * 3 + 1)} parameters'
    w.page.fill('[data-control="lesson-C"]', '8')
    w.page.fill('[data-control="lesson-K"]', '16')
    assert text(w, '[data-stat="parameters"]').endswith(f'{16 * (5 * 5 * 8 + 1):,} parameters')
    cnn = pycore.Net.from_spec(presets.PRESETS['convnetjs']['spec']).param_count()
    mlp = pycore.Net.from_spec(presets.PRESETS['mlp']['spec']).param_count()
    wait_until(lambda: w.page.locator(f'{root} [data-result="mlp"]').count(), 10, 'the comparison')
    assert f'{cnn:,} parameters' in text(w, f'{root} [data-result="cnn"]')
    assert f'{mlp:,} parameters' in text(w, f'{root} [data-result="mlp"]')
    assert 'weight sharing' in text(w, f'{root} [data-role="compare"]')
    assert text(w, f'{root} [data-result="live-total"]').endswith(f'{cnn:,}')


@pytest.mark.parametrize('name', LESSONS)
def test_each_lesson_embeds_at_960x700(lesson, name, tmp_path):
    w = lesson(f'?lesson={name}&embed=1', 960, 700)
    w.page.wait_for_selector(f'[data-lesson="{name}"]')
    if name in DRAWN:       # the lessons that draw from the run: shown once drawn
        w.page.wait_for_selector(f'[data-lesson="{name}"] {DRAWN[name]}', timeout=30_000)
    assert w.page.evaluate("[...document.querySelectorAll('[data-panel]')].map((p) => p.dataset.panel)") == ['lessons']
    d = w.page.evaluate('() => { const d = document.documentElement; return [d.scrollWidth, d.clientWidth, d.scrollHeight, d.clientHeight]; }')
    assert d[0] <= d[1] and d[2] <= d[3], d
    for folder in filter(None, [str(tmp_path), os.environ.get('LIVECNN_SHOTS')]):
        w.page.screenshot(path=os.path.join(folder, f'lesson-{name}.png'))


def test_an_unknown_lesson_is_noted(lesson):
    w = lesson('?lesson=nope')
    wait_until(lambda: w.page.locator('#notes li[data-note="lesson"]').count(), 5, 'the note')
    assert 'output-size' in text(w, '#notes li[data-note="lesson"]')


def read_grid(w, selector):
    """Numbers of a lesson's table, row-major (inputs' values where it has inputs)."""
    return w.page.evaluate('''(sel) => [...document.querySelectorAll(sel + ' td')].map((td) => {
        const i = td.querySelector('input'); return Number(i ? i.value : td.textContent); })''', selector)


def test_sparse_matrix(lesson):
    import numpy as np
    w = lesson('?lesson=sparse-matrix')
    root = '[data-lesson="sparse-matrix"]'
    w.page.wait_for_selector(root)
    w.page.fill(f'{root} [data-role="kernel"] input[data-index="4"]', '3')       # the kernel's centre
    kernel = np.array(read_grid(w, f'{root} [data-role="kernel"]')).reshape(3, 3)
    x = np.array(read_grid(w, f'{root} [data-role="input"]')).reshape(4, 4)
    assert kernel[1, 1] == 3
    sliding = np.array([[np.sum(kernel * x[i:i + 3, j:j + 3]) for j in range(2)] for i in range(2)])
    A = np.array(read_grid(w, f'{root} [data-role="matrix"]')).reshape(4, 16)
    assert np.array_equal(A @ x.ravel(), sliding.ravel())
    assert read_grid(w, f'{root} [data-result="product"]') == read_grid(w, f'{root} [data-result="sliding"]') == sliding.ravel().tolist()
    nnz = int(np.count_nonzero(A))
    assert text(w, '[data-stat="nonzeros"]').startswith(f'{nnz} of the matrix\'s 64 entries')
    # conv1's own matrix, found by convolving every basis image with pycore: its non-zeros and size.
    conv = pycore.Net.from_spec(pycore.CONVNETJS_MNIST).layers[1]
    basis = np.eye(576, dtype=np.float32).reshape(576, 1, 24, 24)
    columns = conv.forward(basis) - conv.forward(np.zeros_like(basis[:1]))     # (576, 8, 24, 24), bias removed
    density = w.page.locator('[data-stat="conv1-density"]')
    wait_until(lambda: density.get_attribute('data-nnz'), 10, 'the density of conv1')
    assert int(density.get_attribute("data-nnz")) == np.count_nonzero(np.abs(columns) > 1e-5)   # FFT leaves ~1e-8 noise
    assert int(density.get_attribute('data-entries')) == columns.size


def window(w):
    """The highlighted window's values, the output and the kind of pooling, read at one moment (the
    lesson redraws them from each new snapshot)."""
    d = w.page.evaluate("({ ...document.querySelector('[data-stat=pool-window]').dataset })")
    return json.loads(d['values']), float(d['output']), d['kind']


def test_pooling(lesson):
    import numpy as np
    w = lesson('?lesson=pooling')
    root = '[data-lesson="pooling"]'
    w.page.wait_for_selector(root)
    H, OH = 24, (24 - 2) // 2 + 1            # conv1's 24x24 maps, pooled 2x2 with stride 2
    assert text(w, '[data-stat="pool-shrink"]').startswith(f'24×24 → 12×12: {H * H} → {OH * OH} values per map, 4 times fewer')
    assert '(24 - 2 + 2*0)/2 + 1 = 12' in text(w, '[data-stat="pool-formula"]')
    win = w.page.locator('[data-stat="pool-window"]')
    wait_until(lambda: win.get_attribute('data-output'), 15, 'a window of the live maps')
    values, out, kind = window(w)
    assert len(values) == 4 and kind == 'max' and np.float32(max(values)) == np.float32(out)
    w.page.click(f'{root} canvas[data-role="pool-output"]', position={'x': 3, 'y': 3})     # the top-left output
    assert text(w, '[data-stat="pool-window"]').startswith('window at (x 0, y 0)')
    # Average pooling: the same lesson on a network that now trains with it.
    w.page.check('[data-control="lesson-avgpool"]')
    wait_until(lambda: '"avgpool"' in w.page.input_value('[data-control="spec"]'), 10, 'the average-pooling network')
    wait_until(lambda: win.get_attribute('data-kind') == 'mean', 15, 'a window of the new maps')
    values, out, kind = window(w)
    assert kind == 'mean' and abs(np.mean(values) - out) < 1e-6
    w.page.click('[data-control="lesson-strided"]')
    strided = pycore.Net.from_spec(presets.PRESETS['strided']['spec']).param_count()
    wait_until(lambda: f'{strided:,} parameters' in text(w, '#param-count'), 10, 'the stride-2 preset')
    assert 'no pool layer' in text(w, '[data-stat="pool-shrink"]')


def test_depth(lesson):
    import numpy as np
    w = lesson('?lesson=depth')
    root = '[data-lesson="depth"]'
    w.page.wait_for_selector(root)
    w.page.select_option('[data-control="lesson-filter"]', '5')
    total = w.page.locator('[data-stat="depth-sum"]')
    wait_until(lambda: total.get_attribute('data-held') and 'Filter 5 of conv2 (5×5×8)' in text(w, '[data-stat="depth-where"]'),
               20, 'the arithmetic of filter 5')
    # Read at one moment: the lesson recomputes with the newest weights every few seconds.
    rows, held, bias = w.page.evaluate(f'''[[...document.querySelectorAll('{root} td[data-channel]')].map((r) =>
        [JSON.parse(r.dataset.weights), JSON.parse(r.dataset.patch), Number(r.dataset.dot)]),
        ...['held', 'bias'].map((k) => Number(document.querySelector('[data-stat="depth-sum"]').dataset[k]))]''')
    assert len(rows) == 8                                      # one 5x5 slice per map of conv1
    dots = [float(np.dot(np.float64(ws), np.float64(ps))) for ws, ps, _ in rows]
    assert np.allclose(dots, [d for *_, d in rows], rtol=1e-6, atol=1e-7)
    # The sum over the 8 channels plus the bias is what pycore's conv2 holds at that position.
    assert abs(sum(dots) + bias - held) <= 1e-4 * max(1.0, abs(held)), (sum(dots) + bias, held)


def built_test_images(site, dataset):
    """The first chunk of a dataset's test images as the build wrote it: (labels (N,), images (N, 28, 28))."""
    import gzip

    import numpy as np
    chunk = json.loads((site / 'data' / 'manifest.json').read_text())['datasets'][dataset]['test'][0]
    raw = np.frombuffer(gzip.decompress((site / chunk['file']).read_bytes()), np.uint8)
    return raw[:chunk['count']], raw[chunk['count']:].reshape(-1, 28, 28)


def first_of(site, dataset, labels):
    """The index of the first test image of each class in `labels`, read from the built data."""
    import numpy as np
    ys, images = built_test_images(site, dataset)
    return [int(np.flatnonzero(ys == k)[0]) for k in labels], images


def test_compare(lesson, site):
    import numpy as np
    w = lesson('?lesson=compare')
    root = '[data-lesson="compare"]'
    (four, nine), images = first_of(site, 'mnist', [4, 9])
    first = w.page.locator('[data-control="lesson-image-0"]')
    wait_until(lambda: first.input_value() == str(four) and w.page.locator(f'{root} [data-layer="conv2"]').count()
               and 'class 9' in text(w, f'{root} [data-message="lesson"]'), 20, 'a 4 against a 9')
    assert w.page.input_value('[data-control="lesson-image-1"]') == str(nine)
    conv1, a, b, diff = w.page.evaluate(f'''(() => {{ const r = document.querySelector('{root}');
        const m = r.querySelector('[data-layer="conv1"] figure[data-map="0"]').dataset;
        return [JSON.parse(r.dataset.conv1), ...['a', 'b', 'diff'].map((k) => JSON.parse(m[k]))]; }})()''')
    a, b, diff = (np.array(v).reshape(24, 24) for v in (a, b, diff))
    assert np.allclose(diff, a - b, atol=1e-6)
    # conv1's map 0 of the first image, recomputed here from the image and the weights the page used.
    x = np.pad(images[four, 2:26, 2:26].astype(np.float64) / 255, 2)
    k = np.array(conv1['w']).reshape(conv1['shape'])[0, 0]
    expected = np.array([[np.sum(k * x[i:i + 5, j:j + 5]) for j in range(24)] for i in range(24)]) + conv1['b'][0]
    assert np.allclose(a, expected, atol=1e-4), np.abs(a - expected).max()
    # A drawing as the second input: its conv1 map, recomputed here from the image the page prepared.
    w.page.click('[data-control="lesson-draw"]')
    pad = w.page.locator(f'{root} .drawpad-canvas')
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    w.page.mouse.move(box['x'] + 140, box['y'] + 50)
    w.page.mouse.down()
    for t in range(1, 21):
        w.page.mouse.move(box['x'] + 140 + 10 * np.sin(t / 3), box['y'] + 50 + 9 * t)
    w.page.mouse.up()
    wait_until(lambda: text(w, f'{root} [data-message="lesson"]').endswith('against your drawing.'), 10, 'the drawing compared')
    drawn, conv1, b = w.page.evaluate(f'''(() => {{ const r = document.querySelector('{root}');
        return [JSON.parse(r.dataset.drawing), JSON.parse(r.dataset.conv1),
                JSON.parse(r.querySelector('[data-layer="conv1"] figure[data-map="0"]').dataset.b)]; }})()''')
    drawn = np.array(drawn, np.float64).reshape(28, 28)
    assert drawn.max() > 200 and drawn[:, :10].max() < drawn.max()          # a vertical stroke, centred like MNIST
    x = np.pad(drawn[2:26, 2:26] / 255, 2)
    k = np.array(conv1['w']).reshape(conv1['shape'])[0, 0]
    expected = np.array([[np.sum(k * x[i:i + 5, j:j + 5]) for j in range(24)] for i in range(24)]) + conv1['b'][0]
    assert np.allclose(np.array(b).reshape(24, 24), expected, atol=1e-4)
    w.page.click('[data-control="lesson-draw"]')                          # back to two test images
    wait_until(lambda: 'class 9' in text(w, f'{root} [data-message="lesson"]'), 10, 'the 9 again')
    if 'fashion-mnist' in json.loads((site / 'data' / 'manifest.json').read_text())['datasets']:
        (pullover, coat), _ = first_of(site, 'fashion-mnist', [2, 4])
        w.page.click('[data-control="lesson-fashion"]')
        wait_until(lambda: first.input_value() == str(pullover) and 'Coat' in text(w, f'{root} [data-message="lesson"]'),
                   30, 'a pullover against a coat')
        assert w.page.input_value('[data-control="lesson-image-1"]') == str(coat)


def unit_math(w):
    """The unit-math lesson's unit and its forward and backward results, read at one moment."""
    return w.page.evaluate('''(() => { const d = (s) => ({ ...document.querySelector(`[data-stat="${s}"]`).dataset });
        return [d('unit-where'), d('unit-forward'), d('unit-backward')]; })()''')


def test_unit_math(lesson, site, tmp_path):
    import numpy as np
    from pycore.data import crop, to_float
    w = lesson('?lesson=unit-math')
    root = '[data-lesson="unit-math"]'
    wait_until(lambda: (w.number('examples') or 0) > 500, 30, 'some training')
    w.page.click('#pause')
    w.wait_state('paused', 10)
    # The run as it is now, in CPython: every value the lesson shows is checked against this net.
    with w.page.expect_download() as info:
        w.page.click('[data-control="save"]')
    info.value.save_as(tmp_path / 'run.json')
    net, _, _ = pycore.from_json((tmp_path / 'run.json').read_text())
    labels, images = built_test_images(site, 'mnist')
    image = 3
    w.page.fill('[data-control="lesson-unit-image"]', str(image))
    x = to_float(crop(images[image:image + 1], 24, 2, 2))
    _, layers = pycore.inspect(net, x[0], int(labels[image]))
    names = [L.type for L in net.layers]

    def choose(layer, same_grad=True, **unit):
        """Pick a unit; check its numbers. same_grad: also compare its gradient with CPython's, which
        a max-pool window of equal values (blank background) may route to another unit: the two
        NumPys' convolutions differ in the last bits, and that decides such ties."""
        w.page.select_option('[data-control="lesson-unit-layer"]', str(layer))
        for key, value in unit.items():
            w.page.fill(f'[data-control="lesson-unit-{key}"]', str(value))
        wait_until(lambda: unit_math(w)[0].get('layer') == str(layer)
                   and all(unit_math(w)[0][k] == str(v) for k, v in unit.items())
                   and f'test image #{image}' in text(w, '[data-stat="unit-where"]'), 10, f'layer {layer} {unit}')
        where, fwd, bwd = unit_math(w)
        i = int(where['unit'])
        held, grad = layers[layer]['activations']['data'][i], layers[layer]['gradients']
        assert abs(float(fwd['held']) - held) <= 1e-5 * max(1, abs(held))
        assert abs(float(fwd['computed']) - held) <= 1e-4 * max(1, abs(held)), (fwd['computed'], held)
        if grad is not None and bwd.get('held'):
            g = float(bwd['held'])
            if same_grad:      # float32 sums in two NumPys: they differ by ~1e-5 relative at times
                assert abs(g - grad['data'][i]) <= 1e-4 * max(abs(g), 1e-6), (g, grad['data'][i])
            terms = np.array(json.loads(bwd['terms']), dtype=np.float64).reshape(-1, 2)
            assert abs(np.prod(terms, axis=1).sum() - g) <= 1e-4 * max(abs(g), 1e-6) + 1e-9, (terms, g)
            assert abs(float(bwd['computed']) - g) <= 1e-4 * max(abs(g), 1e-6) + 1e-9
        return where, json.loads(fwd['parts']), bwd, float(fwd['held'])

    conv1, pool1, conv2, fc = (names.index('conv'), names.index('pool'), len(names) - 1 - names[::-1].index('conv'),
                               len(names) - 2)
    # conv1: the receptive field is the image's own 5x5 patch (zero padding outside), times filter 3.
    where, parts, _, _ = choose(conv1, c=3, y=10, x=7)
    padded = np.pad(x[0, 0].astype(np.float64), 2)
    patch = padded[10:15, 7:12]
    assert np.allclose(parts['patch'], patch.ravel(), atol=1e-7)
    assert np.allclose(parts['weights'], net.layers[conv1].params['w'][3].ravel(), atol=1e-7)
    assert abs(np.dot(parts['patch'], parts['weights']) + parts['bias'] - layers[conv1]['activations']['data'][int(where['unit'])]) < 1e-4
    choose(conv1, same_grad=False, c=0, y=0, x=0)         # a corner: the padding counts as zeros
    # pool1: the window's largest value (its gradient: only the window's winner gets the one above).
    where, parts, _, held = choose(pool1, c=2, y=5, x=4)
    assert parts['kind'] == 'max' and np.float32(max(parts['values'])) == np.float32(held)     # exactly the max
    # conv2 across the 8 maps of pool1, and its gradient from the layers above.
    where, parts, bwd, _ = choose(conv2, c=5, y=3, x=4)
    assert len(parts['patch']) == 5 * 5 * 8 and len(json.loads(bwd['terms'])) >= 1
    # The last fc layer: its 10 neurons; the largest contributions are listed first.
    where, parts, bwd, _ = choose(fc, c=7)
    products = np.array(parts['inputs']) * np.array(parts['weights'])
    assert parts['top'] == list(np.argsort(-np.abs(products), kind='stable')[:8])
    assert abs(float(bwd['held']) - (layers[-1]['activations']['data'][7] - (labels[image] == 7))) < 1e-5
    choose(len(names) - 1, c=int(labels[image]))         # softmax: e^z / sum e^z
    # A click on a unit in the network view opens it here: conv1's map 2, where the click lands.
    w.page.fill('[data-control="lesson-unit-image"]', '0')
    w.show_layer(f'.layer[data-index="{conv1}"]', '.row[data-row="activations"] .maps canvas')
    canvas = w.page.locator(f'.layer[data-index="{conv1}"] .row[data-row="activations"] .maps canvas').nth(2)
    box = canvas.bounding_box()
    canvas.click(position={'x': box['width'] * 0.3, 'y': box['height'] * 0.6})
    cx, cy = int(0.3 * 24), int(0.6 * 24)
    wait_until(lambda: unit_math(w)[0].get('unit') == str((2 * 24 + cy) * 24 + cx), 10, 'the clicked unit')
    assert w.page.input_value('[data-control="lesson-unit-layer"]') == str(conv1)
    w.page.click('[data-control="lesson"][data-id="depth"]')
    w.show_layer(f'.layer[data-index="{conv1}"]', '.row[data-row="activations"] .maps canvas')
    canvas.click(position={'x': 2, 'y': 2})             # from another lesson too
    wait_until(lambda: w.page.locator(root).count() and unit_math(w)[0].get('unit') == str(2 * 24 * 24), 10, 'unit-math again')


def test_shift(lesson, site):
    import numpy as np
    from pycore.data import crop, to_float
    w = lesson('?lesson=shift')
    root = '[data-lesson="shift"]'
    manifest = json.loads((site / 'data' / 'manifest.json').read_text())
    refs = manifest['references']['mnist']
    assert sorted(refs) == ['convnetjs', 'mlp']
    labels, images = built_test_images(site, 'mnist')
    index = 11
    w.page.fill('[data-control="lesson-shift-image"]', str(index))
    w.page.fill('[data-control="lesson-shift-further"]', '6')
    cell = w.page.locator(f'{root} tr[data-net="mlp"] td[data-dx="6"]')
    wait_until(lambda: cell.count() and f'test image #{index}' in text(w, f'{root} [data-role="shift-table"]'), 30, 'the shifted digits')
    original = images[index]
    for dx in (1, 2, 6):
        moved = np.zeros_like(original)          # moved left by hand: zeros come in on the right
        moved[:, :28 - dx] = original[:, dx:]
        counts = w.page.locator(f'{root} [data-result="shift-{dx}"]')
        assert int(counts.get_attribute('data-changed')) == np.count_nonzero(moved != original)
        assert int(counts.get_attribute('data-brighter')) == np.count_nonzero(moved > original)
        assert int(counts.get_attribute('data-darker')) == np.count_nonzero(moved < original)
        assert f'{np.count_nonzero(moved != original):,} of 784' in counts.text_content()
        # Both pretrained nets, reloaded here from the build's files, give the probabilities the page shows.
        x = to_float(crop(moved[None], 24, 2, 2))
        for name, entry in refs.items():
            net = pycore.from_json((site / entry['file']).read_text())[0]
            shown = json.loads(w.page.get_attribute(f'{root} tr[data-net="{name}"] td[data-dx="{dx}"]', 'data-probs'))
            assert np.allclose(shown, net.forward(x)[0], atol=1e-5), name
    assert 'trained by the build on' in text(w, '[data-stat="shift-nets"]')
    assert "this page's network" in text(w, f'{root} tr[data-net="live"] th')
    # Measured over 500 test images: the same accuracies as the build's nets give here.
    w.page.click('[data-control="lesson-shift-measure"]')
    row = w.page.locator(f'{root} [data-role="shift-accuracy"] tr[data-net="mlp"]')
    wait_until(lambda: row.count(), 60, 'the measured accuracies')
    x, labels = images[:500], labels[:500]
    for name, entry in refs.items():
        net = pycore.from_json((site / entry['file']).read_text())[0]
        expected = []
        for dx in range(9):
            moved = np.zeros_like(x)
            moved[:, :, :28 - dx] = x[:, :, dx:]
            expected.append(float((net.forward(to_float(crop(moved, 24, 2, 2))).argmax(1) == labels).mean()))
        shown = json.loads(w.page.get_attribute(f'{root} [data-role="shift-accuracy"] tr[data-net="{name}"]', 'data-accuracy'))
        assert np.allclose(shown, expected, atol=1 / 500 + 1e-9), (name, shown, expected)
    mlp, cnn = (json.loads(w.page.get_attribute(f'{root} [data-role="shift-accuracy"] tr[data-net="{k}"]', 'data-accuracy'))
                for k in ('mlp', 'convnetjs'))
    assert mlp[6] < cnn[6]          # what the lesson's text says, measured


def test_activations(lesson):
    import numpy as np
    from pycore.activations import ACTIVATIONS
    w = lesson('?lesson=activations')
    root = '[data-lesson="activations"]'
    w.page.wait_for_selector(root)
    # Each drawn function and its slope, at a few points, against pycore's own layers run here.
    alphas = {'lrelu': 0.01, 'elu': 1.0}
    for name in ['relu', 'lrelu', 'elu', 'selu', 'softplus', 'sigmoid', 'tanh']:
        samples = np.array(json.loads(w.page.get_attribute(f'{root} figure[data-activation="{name}"]', 'data-samples')))
        v = samples[:, 0].reshape(1, -1, 1, 1)
        layer = ACTIVATIONS[name](v.shape[1:], v.shape[1:], **({'alpha': alphas[name]} if name in alphas else {}))
        out = layer.forward(v)
        slope = layer.backward(np.ones_like(v))
        assert np.allclose(samples[:, 1], out.ravel(), atol=1e-9), name
        assert np.allclose(samples[:, 2], slope.ravel(), atol=1e-9), name
    # The race: seven copies on the same batches, with a loss curve each and a test accuracy each.
    w.page.fill('[data-control="lesson-race-examples"]', '2000')
    w.page.click('[data-control="lesson-race"]')
    rows = w.page.locator(f'{root} [data-role="race-results"] tr[data-activation]')
    wait_until(lambda: rows.count() == 7, 120, 'the race to finish')
    # The chart draws on the next animation frame after the last progress, which also makes the table.
    wait_until(lambda: w.page.get_attribute('[data-chart="race"]', 'data-points') == str(2000 // 200), 10,
               'the race chart to draw its last point')
    results = {r.get_attribute('data-activation'): (float(r.get_attribute('data-loss')), float(r.get_attribute('data-accuracy')))
               for r in rows.all()}
    assert all(0 < loss < 10 and 0 <= acc <= 1 for loss, acc in results.values()), results
    # What the lesson says of the sigmoid: its small slopes make it the slowest to learn here.
    assert results['sigmoid'][0] > results['relu'][0], results
    wait_until(lambda: w.state() == 'training', 10, 'the run to carry on')


def test_flatten(lesson):
    import numpy as np
    w = lesson('?lesson=flatten')
    root = '[data-lesson="flatten"]'
    dot = w.page.locator('[data-stat="flatten-dot"]')
    wait_until(lambda: dot.get_attribute('data-held'), 20, 'the volume')
    # A click on map 5 at row 3, column 2 of the 16x4x4 volume: input 5*16 + 3*4 + 2.
    canvas = w.page.locator(f'{root} [data-role="flatten-volume"] figure[data-map="5"] canvas')
    box = canvas.bounding_box()
    canvas.click(position={'x': box['width'] * 2.5 / 4, 'y': box['height'] * 3.5 / 4})
    where = w.page.locator('[data-stat="flatten-index"]')
    wait_until(lambda: where.get_attribute('data-index') == str(5 * 16 + 3 * 4 + 2), 5, 'the picked value')
    w.page.fill('[data-control="lesson-flatten-neuron"]', '3')
    wait_until(lambda: 'Neuron 3' in dot.text_content(), 5, 'neuron 3')
    values, weights, held, index, value = w.page.evaluate(f'''(() => {{ const r = document.querySelector('{root}');
        const d = r.querySelector('[data-stat="flatten-index"]').dataset;
        return [JSON.parse(r.querySelector('[data-role="flatten-vector"]').dataset.values),
                JSON.parse(r.querySelector('[data-role="flatten-weights"]').dataset.weights),
                Number(r.querySelector('[data-stat="flatten-dot"]').dataset.held), Number(d.index), Number(d.value)]; }})()''')
    volume = np.array(values).reshape(16, 4, 4)           # NumPy's C order is the order pycore reads
    assert volume[5, 3, 2] == value == values[index]
    # The folded maps are the neuron's weights in the same order: map 5's drawing is weights[80:96].
    assert len(weights) == 256
    # The neuron's dot product over the flat inputs, plus its bias, is what the fc layer holds.
    bias = float(dot.text_content().split('bias ')[1].split(' ')[0])
    assert abs(np.dot(weights, values) + bias - held) < 1e-3
    # The race: a shuffled copy learns as well; with its weights moved along it is the same network.
    w.page.fill('[data-control="lesson-flatten-examples"]', '12000')
    w.page.click('[data-control="lesson-flatten-race"]')
    rows = w.page.locator(f'{root} [data-role="flatten-results"] tr[data-racer]')
    wait_until(lambda: rows.count() == 3, 150, 'the race to finish')
    acc = {r.get_attribute('data-racer'): float(r.get_attribute('data-accuracy')) for r in rows.all()}
    curve = {r.get_attribute('data-racer'): json.loads(r.get_attribute('data-curve')) for r in rows.all()}
    # Five seeds on CPython after 12,000 examples: the shuffled copy within 3.4 points of the ordered one.
    assert acc['ordered'] > 0.7 and abs(acc['shuffled'] - acc['ordered']) <= 0.06, acc
    # Float32 sums taken in another order differ in their last bits, and training can grow that over
    # thousands of steps: the curves agree closely at first, and the end results stay close.
    rel = (np.abs(np.subtract(curve['moved'], curve['ordered'])) / np.array(curve['ordered'])).round(6).tolist()
    assert max(rel[:3]) < 1e-3, rel                   # the first 600 examples: the same losses, to rounding
    assert abs(acc['moved'] - acc['ordered']) <= 0.05, acc


def test_top_images(lesson, site, tmp_path):
    import numpy as np
    from pycore.data import crop, to_float
    w = lesson('?lesson=top-images')
    root = '[data-lesson="top-images"]'
    wait_until(lambda: (w.number('examples') or 0) > 1000, 40, 'some training')      # the first test chunk is in by then
    w.page.click('#pause')
    w.wait_state('paused', 10)
    with w.page.expect_download() as info:
        w.page.click('[data-control="save"]')
    info.value.save_as(tmp_path / 'run.json')
    net = pycore.from_json((tmp_path / 'run.json').read_text())[0]
    labels, images = built_test_images(site, 'mnist')
    x = to_float(crop(images[:500], 24, 2, 2))
    net.forward(x)
    conv2 = [i for i, L in enumerate(net.layers) if L.type == 'conv'][1]
    w.page.select_option('[data-control="lesson-top-layer"]', str(conv2))
    w.page.fill('[data-control="lesson-top-unit"]', '3')
    about = w.page.locator('[data-stat="top-about"]')
    wait_until(lambda: about.get_attribute('data-unit') == '3' and about.get_attribute('data-layer') == str(conv2), 20, 'filter 3 of conv2')
    assert about.get_attribute('data-count') == '500'
    figs = w.page.evaluate(f"[...document.querySelectorAll('{root} figure[data-rank]')].map((f) => ({{...f.dataset, "
                           f"patch: JSON.parse(f.querySelector('.lesson-patch').dataset.pixels)}}))")
    # The same ranking computed here: each image's largest value on filter 3's map.
    maps = net.layers[conv2].out[:, 3]                                     # (500, 12, 12)
    best = maps.reshape(500, -1).max(1)
    expected = np.argsort(-best, kind='stable')[:9]
    assert [int(f['index']) for f in figs] == expected.tolist()
    assert np.allclose([float(f['value']) for f in figs], best[expected], atol=1e-4)
    # Its receptive field: 5x5 on pool1, which is 2x2 (stride 2) on conv1's 5x5 (pad 2): 14 pixels, from 2x - 6.
    assert about.get_attribute('data-field') == '14'
    for f in figs:
        i, x0, y0 = int(f['index']), int(f['x']), int(f['y'])
        assert maps[i, y0, x0] == maps[i].max()
        assert (int(f['left']), int(f['top'])) == (2 * x0 - 6, 2 * y0 - 6)
        padded = np.pad(images[i, 2:26, 2:26], 6)
        assert f['patch'] == padded[2 * y0:2 * y0 + 14, 2 * x0:2 * x0 + 14].ravel().tolist()
    # An fc neuron: whole images, ranked by its value.
    fc = [i for i, L in enumerate(net.layers) if L.type == 'fc'][0]
    w.page.select_option('[data-control="lesson-top-layer"]', str(fc))
    w.page.fill('[data-control="lesson-top-unit"]', '7')
    wait_until(lambda: about.get_attribute('data-unit') == '7' and about.get_attribute('data-layer') == str(fc), 20, 'neuron 7')
    shown = w.page.evaluate(f"[...document.querySelectorAll('{root} figure[data-rank]')].map((f) => Number(f.dataset.index))")
    assert shown == np.argsort(-net.layers[fc].out[:, 7, 0, 0], kind='stable')[:9].tolist()
