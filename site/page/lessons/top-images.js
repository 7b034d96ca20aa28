// Lesson: what a unit responds to. For a conv filter or an fc neuron, the test images that drive it
// most, and for a conv filter the patch of each (its receptive field) where it fired, recomputed as
// the network trains: the way lecture slides show "images that maximise a unit's activation".
import { GRAY } from '../views/colormap.js';
import { el } from '../views/viewstate.js';
import { colour } from '../theme.js';
import { message } from '../panels/message.js';
import { numberInput, para } from './util.js';

export const id = 'top-images';
export const title = 'Top images: what makes a unit fire';
export const question = 'Which inputs excite a given filter or neuron the most, and which part of them does it see?';

const COUNT = 500;            // test images searched
const REFRESH_MS = 8000;      // while training, search again this often (each search takes the worker ~0.3 s)
const ZOOM = 4;

function picture(pixels, n, box) {
  const c = el('canvas', { width: n * ZOOM, height: n * ZOOM, class: 'lesson-top' });
  const g = c.getContext('2d'), img = g.createImageData(n, n), u32 = new Uint32Array(img.data.buffer);
  pixels.forEach((v, i) => { u32[i] = GRAY[v]; });
  const small = new OffscreenCanvas(n, n);
  small.getContext('2d').putImageData(img, 0, 0);
  g.imageSmoothingEnabled = false;
  g.drawImage(small, 0, 0, n * ZOOM, n * ZOOM);
  if (box) {
    g.strokeStyle = colour('highlight'); g.lineWidth = 2;
    g.strokeRect(box.left * ZOOM + 1, box.top * ZOOM + 1, box.size * ZOOM - 2, box.size * ZOOM - 2);
  }
  return c;
}

// The receptive field's pixels (zeros where it lies in the padding), as an image of its own.
function patch(pixels, n, { left, top, size }) {
  const out = [];
  for (let y = top; y < top + size; y++) for (let x = left; x < left + size; x++) out.push(y >= 0 && y < n && x >= 0 && x < n ? pixels[y * n + x] : 0);
  const c = el('canvas', { width: size, height: size, class: 'lesson-patch' });
  const g = c.getContext('2d'), img = g.createImageData(size, size), u32 = new Uint32Array(img.data.buffer);
  out.forEach((v, i) => { u32[i] = GRAY[v]; });
  g.putImageData(img, 0, 0);
  c.dataset.pixels = JSON.stringify(out);
  return c;
}

export function mount(root, ctx) {
  root.append(para('A way to see what a unit has learnt: run many images through the network and keep the ones that ',
    'drive it the most', `. For a conv filter each image counts by its largest value anywhere on the filter's map, and the orange square `
    + 'marks its receptive field there: the only pixels that unit can see. Early filters see small patches (strokes, ends, corners); '
    + 'deeper ones see more of the digit. For an fc neuron the whole image counts. Searched over the first '
    + `${COUNT} test images, again every few seconds while the network trains.`));
  const controls = el('div', { class: 'lesson-row' });
  const layerPick = el('select', { 'data-control': 'lesson-top-layer' });
  const lab = el('label', { class: 'lesson-input' }, 'layer ');
  lab.append(layerPick);
  const unit = numberInput('unit', { min: 0, max: 7, value: 0, name: 'lesson-top-unit' }, () => ask());
  controls.append(lab, unit.box);
  const note = el('p', { class: 'message', 'data-message': 'lesson' });
  const about = el('p', { class: 'note', 'data-stat': 'top-about' });
  const grid = el('div', { class: 'lesson-top-grid', 'data-role': 'top-images' });
  root.append(controls, note, about, grid);
  let net = null, asking = false, again = false, lastAsk = -Infinity, shown = false;

  async function ask(now = performance.now()) {
    if (!net || layerPick.value === '') return;
    if (asking) { again = true; return; }
    asking = true; lastAsk = now;
    try { draw(await ctx.request('top_images', { layer: Number(layerPick.value), unit: unit.value, count: COUNT })); message(note, ''); }
    catch (err) { message(note, err.message); }
    asking = false;
    if (again) { again = false; ask(); }
  }

  function draw(r) {
    shown = true;
    const n = Math.round(Math.sqrt(r.top[0]?.image.length || 0)), classes = ctx.classes();
    const name = layerPick.selectedOptions[0]?.textContent || '';
    about.textContent = `${r.kind === 'conv' ? `Filter ${r.unit} of ${name}` : `Neuron ${r.unit} of ${name}`}: the ${r.top.length} of ${r.count} test images `
      + `that drive it most${r.kind === 'conv' ? `; its receptive field is ${r.field}×${r.field} pixels of the ${n}×${n} input` : ''}.`;
    Object.assign(about.dataset, { layer: r.layer, unit: r.unit, field: r.field, count: r.count });
    grid.replaceChildren(...r.top.map((t, rank) => {
      const fig = el('figure', { 'data-rank': rank, 'data-index': t.index, 'data-value': t.value, 'data-x': t.x, 'data-y': t.y,
                                 'data-left': t.left ?? '', 'data-top': t.top ?? '' });
      const box = t.left !== undefined ? { left: t.left, top: t.top, size: r.field } : null;
      fig.append(picture(t.image, n, box));
      if (box) fig.append(patch(t.image, n, box));
      fig.append(el('figcaption', {}, `#${t.index} (${classes[t.label]}): ${t.value.toFixed(3)}`));
      return fig;
    }));
  }

  layerPick.addEventListener('change', () => {
    const L = net.layers[Number(layerPick.value)];
    unit.input.max = String(L.shape[0] - 1);
    if (unit.value > L.shape[0] - 1) unit.input.value = '0';
    ask();
  });
  return {
    onNet(n) {
      net = n;
      const seen = {};
      const options = n.layers.map((L, i) => [L, i, `${L.type}${(seen[L.type] = (seen[L.type] || 0) + 1)}`])
        .filter(([L]) => L.type === 'conv' || L.type === 'fc').map(([L, i, name]) => new Option(`${name} (${L.shape[0]} ${L.type === 'conv' ? 'filters' : 'neurons'})`, i));
      layerPick.replaceChildren(...options);
      if (!options.length) { about.textContent = 'This network has no conv or fc layer.'; return; }
      unit.input.max = String(n.layers[Number(layerPick.value)].shape[0] - 1);
      shown = false;
      ask();
    },
    onStats(s) { if (!shown && s.test_loaded) ask(); },
    frame(now, state) { if (state === 'training' && now - lastAsk >= REFRESH_MS) ask(now); },
  };
}
