// Lesson: flattening. The volume the first fc layer reads (the last pool's 16×4×4 in the ConvNetJS
// net) laid out as its 256 inputs in pycore's order; one fc neuron's 256 weights folded back into 16
// maps; and a race that shows the order is only a convention: the same network trained with those
// inputs shuffled learns as well.
import { Chart } from '../views/chart.js';
import { GRAY, diverging, pixel } from '../views/colormap.js';
import { colour } from '../theme.js';
import { el } from '../views/viewstate.js';
import { message } from '../panels/message.js';
import { num, numberInput, para, scrolling } from './util.js';

export const id = 'flatten';
export const title = 'Flatten: from a volume to a vector';
export const question = 'How does the last pool\'s 16×4×4 volume feed a fully connected layer, and does the order matter?';

const CELL = 12;              // CSS px per value in the drawings
const ROW = 64;               // values per line of the vector
const RACERS = [['ordered', 'in pycore\'s order'], ['shuffled', 'shuffled, its own start'],
  ['moved', 'shuffled, the same start moved along']];

function cells(values, cols, signed, scale, mark = -1) {
  const rows = Math.ceil(values.length / cols);
  const c = el('canvas', { width: cols, height: rows, class: 'lesson-cells' });
  c.style.width = `${cols * scale}px`; c.style.height = `${rows * scale}px`;
  const g = c.getContext('2d'), img = g.createImageData(cols, rows), u32 = new Uint32Array(img.data.buffer);
  const m = Math.max(1e-12, ...values.map(Math.abs));
  const colours = signed ? diverging() : GRAY, marked = pixel(colour('highlight'));
  values.forEach((v, i) => {
    u32[i] = i === mark ? marked : colours[Math.round(255 * (signed ? (v / m + 1) / 2 : Math.max(0, v) / m))];
  });
  g.putImageData(img, 0, 0);
  return c;
}

export function mount(root, ctx) {
  root.append(para('A fully connected layer takes a plain list of numbers. Before the first one, the volume of maps is ',
    'read out in a fixed order', ': pycore (like NumPy, PyTorch and ConvNetJS) goes map by map, and within a map row by row, '
    + 'so the value of map c at row y, column x becomes input number c·H·W + y·W + x. Click a value to see where it goes.'));
  const volume = el('div', { class: 'lesson-row', 'data-role': 'flatten-volume' });
  const where = el('p', { class: 'lesson-result', 'data-stat': 'flatten-index' });
  const vector = el('div', { 'data-role': 'flatten-vector' });
  root.append(volume, where, vector);
  root.append(para('Each neuron of the fc layer has one weight per input. ', 'Folded back', ' into the shape of the volume, '
    + 'a class neuron\'s weights show where in which map it looks for evidence (red adds to its score, blue takes away).'));
  const pickRow = el('div', { class: 'lesson-row' });
  const neuron = numberInput('neuron', { min: 0, max: 9, value: 0, name: 'lesson-flatten-neuron' }, () => draw());
  pickRow.append(neuron.box);
  const folded = el('div', { class: 'lesson-row', 'data-role': 'flatten-weights' });
  const dot = el('p', { class: 'note', 'data-stat': 'flatten-dot' });
  root.append(pickRow, folded, dot);
  root.append(para('Does the order matter? No: it is a convention. Any fixed order works, as long as it stays the same, '
    + 'because the fc layer learns one weight for each position whatever it holds. The race trains three copies of this '
    + 'network on the same batches: as it is, with its fc inputs ', 'shuffled', ' (one fixed random order) from its own random start, '
    + 'and shuffled with the same start as the first, its fc weights moved along with their inputs. The last two are the claim '
    + 'shown twice: a shuffled network learns as well, and with moved weights it is the same network, step by step (up to '
    + 'rounding: float sums taken in another order differ in their last digits, and thousands of steps may let that grow).'));
  const controls = el('div', { class: 'lesson-row' });
  const examples = numberInput('examples each', { min: 1000, max: 20000, step: 1000, value: 12000, name: 'lesson-flatten-examples' }, () => {});
  const start = el('button', { type: 'button', 'data-control': 'lesson-flatten-race' }, 'Train the three');
  const status = el('span', { class: 'note', 'data-stat': 'flatten-race-status' });
  controls.append(examples.box, start, status);
  const note = el('p', { class: 'message', 'data-message': 'lesson' });
  const canvas = el('div', { class: 'lesson-chart chart', 'data-chart': 'flatten-race', role: 'img', 'aria-label': 'Loss of each copy against examples seen' });
  const results = el('div', { 'data-role': 'flatten-results' });
  root.append(controls, note, canvas, el('p', { class: 'note' }, 'Where the dotted curve (moved) lies on the solid one (ordered), the two copies compute the same.'), results);
  const chart = new Chart(canvas, { yLabel: 'loss (mean over 200 examples)', aspect: 280 / 720, series: RACERS.map(([key, label]) => ({ key, label })) });
  chart.draw();

  let net = null, fc = -1, snap = null, picked = 0, asking = false;
  async function ask() {
    if (asking || fc < 0) return;
    asking = true;
    try { snap = await ctx.request('inspect', { index: 0 }); draw(); } catch (err) { where.textContent = err.message; }
    asking = false;
  }

  function draw() {
    if (!snap || fc < 0) return;
    const V = snap.layers[fc - 1].act, [C, H, W] = V.shape, D = C * H * W, F = snap.layers[fc];
    const w = F.weights.w.data, j = Math.min(neuron.value, F.shape[0] - 1);
    const scale = Math.max(3, Math.floor(48 / Math.max(H, W)));
    // The volume, one map per canvas; a click picks a value.
    volume.replaceChildren(...Array.from({ length: C }, (_, c) => {
      const fig = el('figure', { class: 'lesson-cell-map', 'data-map': c });
      const map = Array.from(V.data.subarray(c * H * W, (c + 1) * H * W));
      const cv = cells(map, W, V.min < 0, scale, Math.floor(picked / (H * W)) === c ? picked % (H * W) : -1);
      cv.addEventListener('click', (e) => {
        const r = cv.getBoundingClientRect();
        const x = Math.min(W - 1, Math.floor((e.clientX - r.left) / r.width * W)), y = Math.min(H - 1, Math.floor((e.clientY - r.top) / r.height * H));
        picked = (c * H + y) * W + x;
        draw();
      });
      fig.append(cv, el('figcaption', {}, `map ${c}`));
      return fig;
    }));
    const c = Math.floor(picked / (H * W)), y = Math.floor(picked / W) % H, x = picked % W;
    where.textContent = `map ${c}, row ${y}, column ${x} → input ${c}·${H * W} + ${y}·${W} + ${x} = ${picked} of ${D}, value ${V.data[picked].toFixed(4)}`;
    Object.assign(where.dataset, { c, y, x, index: picked, value: V.data[picked] });
    vector.replaceChildren(cells(Array.from(V.data), Math.min(ROW, D), V.min < 0, Math.max(4, Math.min(CELL, Math.floor(640 / Math.min(ROW, D)))), picked),
      el('p', { class: 'note' }, `the ${D} inputs of the fc layer, ${Math.min(ROW, D)} to a line (the picked one in orange)`));
    vector.dataset.values = JSON.stringify(Array.from(V.data));
    // Neuron j's weights, folded back into C maps of H×W.
    const row = Array.from(w.subarray(j * D, (j + 1) * D));
    folded.replaceChildren(...Array.from({ length: C }, (_, k) => {
      const fig = el('figure', { class: 'lesson-cell-map', 'data-map': k });
      fig.append(cells(row.slice(k * H * W, (k + 1) * H * W), W, true, scale), el('figcaption', {}, `map ${k}`));
      return fig;
    }));
    folded.dataset.weights = JSON.stringify(row);
    const sum = row.reduce((s, v, i) => s + v * V.data[i], 0), b = F.weights.b.data[j];
    dot.textContent = `Neuron ${j}${F.shape[0] === ctx.classes().length ? ` (class ${ctx.classes()[j]})` : ''} on ${snap.source}: `
      + `Σ weight × input over the ${D} inputs = ${sum.toFixed(4)}, + bias ${b.toFixed(4)} = ${(sum + b).toFixed(4)}; the fc layer holds ${F.act.data[j].toFixed(4)}.`;
    Object.assign(dot.dataset, { sum: sum + b, held: F.act.data[j] });
  }

  start.addEventListener('click', async () => {
    try {
      await ctx.request('race', { kind: 'flatten', examples: examples.value });
      chart.clear(); results.replaceChildren(); message(note, '');
      start.disabled = true; status.textContent = 'starting…';
    } catch (err) { message(note, err.message); }
  });

  return {
    onTheme: draw,
    onNet(n) {
      net = n;
      fc = n.layers.findIndex((L) => L.type === 'fc');
      if (fc < 1) { where.textContent = 'This network has no fully connected layer.'; return; }
      const [C, H, W] = n.layers[fc - 1].shape;
      picked = Math.min(picked, C * H * W - 1);
      neuron.input.max = String(n.layers[fc].shape[0] - 1);
      snap = null;
      ask();
    },
    onStats(s) { if (!snap && s.test_loaded) ask(); },
    onRace(msg) {
      if (msg.progress && msg.progress.kind !== 'flatten') return;
      if (msg.error || msg.stopped) { start.disabled = false; status.textContent = msg.error || 'stopped'; return; }
      const r = msg.progress;
      chart.load(r.curves.ordered.map(([x], i) => [x, Object.fromEntries(RACERS.map(([key]) => [key, r.curves[key][i][1] ?? NaN]))]));
      status.textContent = `${num(r.done)} of ${num(r.examples)} examples each`;
      if (!r.result) return;
      start.disabled = false; status.textContent += ': done';
      const t = el('table', { class: 'lesson-table' });
      t.append(el('caption', {}, `accuracy on the first ${num(r.test_images)} test images after ${num(r.examples)} examples`));
      for (const [key, label] of RACERS) {
        const tr = el('tr', { 'data-racer': key, 'data-accuracy': String(r.result[key]), 'data-curve': JSON.stringify(r.curves[key].map(([, v]) => v)) });
        tr.append(el('th', {}, label), el('td', {}, r.result[key] === null ? '—' : `${(100 * r.result[key]).toFixed(1)}%`));
        t.append(tr);
      }
      results.replaceChildren(scrolling(t));
    },
    frame() { chart.draw(); },
  };
}
