// Lesson: two inputs side by side (a Fashion-MNIST pullover and a coat, or any two test images),
// their conv1 and conv2 maps next to each other with the difference, and why the first layer's
// maps look like the whole object rather than like edges.
import { GRAY, diverging } from '../views/colormap.js';
import { createDrawPad } from '../views/drawpad.js';
import { el } from '../views/viewstate.js';
import { message } from '../panels/message.js';
import { numberInput, para } from './util.js';

export const id = 'compare';
export const title = 'Compare two inputs, layer by layer';
export const question = 'Why do a pullover and a coat look alike to the network, and why does my first layer show whole objects, not edges?';

const PAIRS = { 'fashion-mnist': [2, 4], mnist: [4, 9] };   // classes that look alike: pullover/coat, 4/9

// One map as a canvas: gray from 0 to the pair's largest value, or blue-white-red for a difference.
function mapCanvas(data, H, W, scale, signed) {
  const c = el('canvas', { width: W, height: H, class: 'lesson-map' });
  const g = c.getContext('2d'), img = g.createImageData(W, H), u32 = new Uint32Array(img.data.buffer);
  const colours = signed ? diverging() : GRAY;
  for (let i = 0; i < H * W; i++) {
    const t = signed ? (data[i] / scale + 1) / 2 : data[i] / scale;
    u32[i] = colours[Math.max(0, Math.min(255, Math.round(255 * t)))];
  }
  g.putImageData(img, 0, 0);
  return c;
}

export function mount(root, ctx) {
  root.append(para('Put two inputs (two test images, or one and a drawing of yours) through the same network and look at each layer\'s maps side by side, with their ',
    'difference', ' (red where the first is larger, blue where the second is). Where the maps agree the network '
    + 'cannot tell the two apart at that layer.'),
  para('Why does the first layer show the whole object? conv1\'s maps are as large as the image, and each value says how '
    + 'strongly one 5×5 filter\'s pattern (a stroke or an edge at some angle) is present ', 'at that place', '. Such '
    + 'patterns run all along an object\'s outline, so the map traces the whole object. The edges are in the filters, '
    + 'not in the maps; after pooling, conv2\'s maps are smaller and look less like the picture.'));
  const pickers = el('div', { class: 'lesson-row' });
  const note = el('p', { class: 'message', 'data-message': 'lesson' });
  const fashion = el('button', { type: 'button', 'data-control': 'lesson-fashion' }, 'Switch to Fashion-MNIST: pullover against coat');
  const drawToggle = el('button', { type: 'button', 'data-control': 'lesson-draw' }, 'Draw the second input instead');
  const padBox = el('div', { class: 'lesson-pad', hidden: '' });
  const out = el('div', { 'data-role': 'compare-maps' });
  root.append(pickers, fashion, drawToggle, padBox, note, out);
  let net = null, dataset = null, convs = [], asking = false, drawing = null;   // drawing: the pad's picture, when used
  createDrawPad(padBox, (img) => { drawing = { pixels: img.pixels, width: img.width, height: img.height }; show(); },
    (text) => message(note, text));
  drawToggle.addEventListener('click', () => {
    padBox.hidden = !padBox.hidden;
    drawToggle.textContent = padBox.hidden ? 'Draw the second input instead' : 'Use the second test image again';
    inputs[1].input.disabled = !padBox.hidden;
    if (padBox.hidden) { drawing = null; show(); }
  });
  const inputs = [0, 1].map((k) => numberInput(k ? 'second test image #' : 'first test image #',
    { min: 0, max: 9999, value: k, name: `lesson-image-${k}` }, () => show()));
  pickers.append(...inputs.map((x) => x.box));

  fashion.addEventListener('click', async () => {
    const changed = await ctx.changeNetwork('dataset', { name: 'fashion-mnist' }, note);
    if (changed) ctx.setUrl({ dataset: 'fashion-mnist' });
  });

  // The first test image of each of two classes that look alike, once this dataset's test images arrive.
  let pairWanted = false, choosing = false;
  async function choosePair() {
    if (choosing) return;
    choosing = true;
    try {
      const found = await Promise.all((PAIRS[dataset] || [0, 1]).map((label) => ctx.request('first_test_of', { label })));
      if (found.every((index) => index >= 0)) {
        pairWanted = false;
        found.forEach((index, k) => { inputs[k].input.value = String(index); });
        show();
      }
    } catch (err) { /* still loading: the next statistics try again */ }
    choosing = false;
  }

  async function show() {
    if (asking || !convs.length) return;
    asking = true;
    try {
      const asks = [{ index: inputs[0].value }, drawing || { index: inputs[1].value }];
      const snaps = await Promise.all(asks.map((a) => ctx.request('inspect', a)));
      out.replaceChildren(...convs.map((i, n) => layerRows(i, n, snaps)));
      const named = (s) => (s.label == null ? s.source : `${s.source} (class ${ctx.classes()[s.label]})`);
      message(note, `${named(snaps[0])} against ${named(snaps[1])}.`, false);
      if (snaps[1].image) root.dataset.drawing = JSON.stringify(Array.from(snaps[1].image)); else delete root.dataset.drawing;
      const w = snaps[0].layers[convs[0]].weights;
      root.dataset.conv1 = JSON.stringify({ w: Array.from(w.w.data), b: Array.from(w.b.data), shape: w.w.shape });
    } catch (err) {
      message(note, err.message);
    }
    asking = false;
  }

  function layerRows(i, n, snaps) {
    const [A, B] = snaps.map((s) => s.layers[i].act);
    const [C, H, W] = A.shape;
    const box = el('section', { class: 'lesson-compare', 'data-layer': `conv${n + 1}` });
    box.append(el('h4', {}, `conv${n + 1}: ${C} maps of ${H}×${W}`));
    const grid = el('div', { class: 'lesson-compare-grid' });
    let peak = 0, differ = 0, total = 0;
    for (let k = 0; k < A.data.length; k++) {
      peak = Math.max(peak, Math.abs(A.data[k]), Math.abs(B.data[k]));
      differ += Math.abs(A.data[k] - B.data[k]); total += Math.abs(A.data[k]) + Math.abs(B.data[k]);
    }
    for (let c = 0; c < C; c++) {
      const a = A.data.subarray(c * H * W, (c + 1) * H * W), b = B.data.subarray(c * H * W, (c + 1) * H * W);
      const d = a.map((v, k) => v - b[k]);
      const cell = el('figure', { 'data-map': c });
      cell.append(mapCanvas(a.map((v) => Math.max(0, v)), H, W, peak || 1, false), mapCanvas(b.map((v) => Math.max(0, v)), H, W, peak || 1, false),
        mapCanvas(d, H, W, peak || 1, true), el('figcaption', {}, `map ${c}`));
      if (c === 0) Object.assign(cell.dataset, { a: JSON.stringify(Array.from(a)), b: JSON.stringify(Array.from(b)), diff: JSON.stringify(Array.from(d)) });
      grid.append(cell);
    }
    box.append(grid, el('p', { class: 'note', 'data-stat': `difference-conv${n + 1}` },
      `The maps differ by ${(100 * differ / (total || 1)).toFixed(0)}% of their total size (sum of |first − second| over sum of |first| + |second|), after the layer's ReLU as drawn.`));
    return box;
  }

  return {
    onTheme() { if (out.children.length) show(); },
    onNet(n) {
      net = n;
      convs = n.layers.map((L, i) => [L, i]).filter(([L]) => L.type === 'conv').slice(0, 2).map(([, i]) => i);
      fashion.hidden = n.dataset === 'fashion-mnist';
      if (!convs.length) { out.textContent = 'This network has no conv layer: choose the ConvNetJS preset.'; return; }
      if (dataset !== n.dataset) { dataset = n.dataset; pairWanted = true; }   // open on two look-alike classes
      if (pairWanted) choosePair(); else show();
    },
    onStats(s) {
      if (pairWanted && s.test_loaded) choosePair();
      else if (!out.children.length && s.test_loaded) show();
    },
  };
}
