// Layer boxes: one per layer with its shape, geometry and parameter arithmetic, and rows of
// canvases for activations, gradients, weights and weight gradients. buildLayers makes the boxes;
// buildSome makes the rows' canvases a few per frame. Canvases are made once; draw.js repaints them.

import { makeLegend } from './colormap.js';
import { LOSSES, QUANTITIES, clamp, el, hits, state, unitName } from './viewstate.js';
import { hideTooltip, onClick, onPointerMove } from './tooltip.js';
import { keyRow, listen } from './mapkeys.js';

const NON_NEGATIVE = new Set(['input', 'relu', 'sigmoid', 'softplus', 'softmax']);
const PASS_SIGN = new Set(['pool', 'avgpool', 'dropout', 'shuffle']);   // non-negative when their input is
const GAP = 1;              // transparent canvas pixels between kernels drawn side by side
const VECTOR_COLS = 64;     // vectors longer than this wrap onto several canvas rows
const MAX_WEIGHT_AREA = 400000;   // CSS px² a weight row may cover before its scale shrinks
const MAP_GAP = 4;          // CSS px between maps (layers.css .maps gap)
const WEIGHT_GAP = 10;      // CSS px between filters (layers.css, weight rows)
const MIN_MAP_PX = 48;      // maps shrink to save a line on narrow screens, but not below this: a
                             // 24x24 map at 2 CSS px a value still shows a digit's strokes on a phone
const MAX_TILES = 64;       // maps or filters a row draws; a wider layer shows its first ones
const MAX_MATRIX_ROWS = 256;   // neurons an fc weight matrix draws

const NEAR_PX = 200;        // boxes farther than this from sight are not rendered at all (see nearObserver)

const roots = new WeakSet();   // containers that already have the hover listeners
// The browser's own skipping (content-visibility: auto, layers.css) still renders the boxes within
// about 1.5 screens of sight: on the default page the first four, below the fold, with 76 canvases.
// Every canvas is a composited layer, and the browser's work for them (layerize, commit) made the
// main thread's longest tasks while the page starts. So the page hides the rows of the boxes
// farther than NEAR_PX from sight itself (class "far": content-visibility: hidden on the rows, the
// text stays), from an IntersectionObserver.
let nearObserver = null;
const boxViews = new WeakMap();   // a layer box -> its view
// skipped: not rendered, as the page hides it (far) or the browser skips it (autoSkipped).
const setSkipped = (view) => { view.skipped = view.far || view.autoSkipped; };
function observeNear(entries) {
  for (const e of entries) {
    const view = boxViews.get(e.target);
    if (!view) continue;
    view.far = !e.isIntersecting;
    e.target.classList.toggle('far', view.far);
    setSkipped(view);
  }
}
// The tiles are refitted when a view's rows change width. The observer hands over the widths, so
// fitting reads no layout (reading it in a frame's script forced a ~40 ms layout once the rows were
// built), and the new sizes are set in the next frame: set inside the callback, they would resize
// the observed elements again and the browser would report a ResizeObserver loop.
let fitObserver = null;
const rowWidths = new WeakMap();   // a view's rowsEl -> its content width in CSS px
let fitQueued = false;

function observeRows(entries) {
  for (const e of entries) rowWidths.set(e.target, e.contentRect.width);
  queueFit();
}
function queueFit() {
  if (fitQueued) return;
  fitQueued = true;
  requestAnimationFrame(() => { fitQueued = false; fitMaps(state.views); });
}
// The rows buildLayers left for buildSome, in page order: {view, steps}, steps a generator that
// makes one canvas per step (a row of 32 maps made at once took 5-16 ms, so a frame's build budget
// was no budget). A box's rows are made once it comes near sight: on a page that opens with the
// network view below the fold, making them (a step took up to 18 ms while the worker started
// training) made the main thread's longest tasks around the first step, for boxes nobody saw.
const building = [];
let madeSinceDone = false;   // rows were made since buildSome last said 'done'
let growth = 1;        // how much larger than their usual size tiles may grow to fill a line

const shapeText = ([C, H, W]) => (H === 1 && W === 1 ? `${C}` : `${C}×${H}×${W}`);

// rows x cols for C kernels side by side: the most square exact split (8 -> 2x4, 16 -> 4x4).
function gridShape(C) {
  let rows = Math.floor(Math.sqrt(C));
  while (C % rows) rows--;
  return [rows, C / rows];
}

function geometryText(type, g = {}) {
  const size = g.sx !== undefined ? `${g.sx}×${g.sy ?? g.sx}` : '';
  const parts = (...p) => p.filter((x) => x !== '' && x !== false && x !== undefined).join(', ');
  const stride = g.stride !== undefined && `stride ${g.stride}`;
  switch (type) {
    case 'conv': return parts(`${g.filters ?? ''} filters ${size}`.trim(), stride, g.pad !== undefined && `pad ${g.pad}`);
    case 'pool': return parts(`${size} max pool`.trim(), stride, g.pad > 0 && `pad ${g.pad}`);
    case 'avgpool': return parts(`${size} average pool`.trim(), stride, g.pad > 0 && `pad ${g.pad}`);
    case 'fc': return g.num_neurons !== undefined ? `${g.num_neurons} neurons` : '';
    case 'dropout': return g.drop_prob !== undefined ? `drop probability ${g.drop_prob}` : '';
    case 'shuffle': return g.seed !== undefined ? `a fixed reordering (seed ${g.seed})` : '';
    case 'lrelu': case 'elu': return g.alpha !== undefined ? `alpha ${g.alpha}` : '';
    default: return '';
  }
}

// One canvas holding `cells`: rectangles of w x h values, each read from data[src ..] row-major.
function makePart(row, W, H, sx, sy, cells, total, key = null, extra = {}) {
  const canvas = el('canvas', { width: W, height: H, 'data-map': QUANTITIES[row.q].map, ...extra });
  canvas.style.width = `${W * sx}px`;
  canvas.style.aspectRatio = `${W * sx} / ${H * sy}`;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const img = ctx.createImageData(W, H);
  const part = { canvas, ctx, img, u32: new Uint32Array(img.data.buffer), W, cells, key, total, lo: 0, hi: 1 };
  row.parts.push(part);
  hits.set(canvas, { view: row.view, row, part });
  return part;
}

// A wide layer draws its first `max` maps, filters or neurons and says how many it leaves out.
function more(row, n, max, what) {
  if (n > max) row.maps.append(el('span', { class: 'note', 'data-role': 'more' }, `the first ${max} of ${n.toLocaleString('en-US')} ${what}`));
}

// C maps of H x W, or one strip of C values when H = W = 1 (wrapped every VECTOR_COLS). A generator:
// it yields after each canvas.
function* mapParts(row, [C, H, W], type, big) {
  if (H === 1 && W === 1) {
    const rows = Math.ceil(C / VECTOR_COLS), cols = Math.ceil(C / rows);
    const cells = Array.from({ length: rows }, (_, r) => ({
      src: r * cols, w: Math.min(cols, C - r * cols), h: 1, x: 0, y: r,
      label: (x) => unitName(type, r * cols + x) }));
    const s = clamp(Math.floor(400 / cols), 4, 16);
    row.maps.append(makePart(row, cols, rows, s, s, cells, C).canvas);
    return;
  }
  const s = clamp(Math.floor((big ? 96 : C <= 8 ? 72 : 52) / Math.max(H, W)), 1, 10);
  for (let c = 0; c < Math.min(C, MAX_TILES); c++) {
    const cells = [{ src: c * H * W, w: W, h: H, x: 0, y: 0, label: (x, y) => `map ${c} · (x ${x}, y ${y})` }];
    row.maps.append(makePart(row, W, H, s, s, cells, C * H * W).canvas);
    yield;
  }
  more(row, C, MAX_TILES, 'maps');
  row.fit = { W, smax: s * growth, smin: Math.min(s, Math.ceil(MIN_MAP_PX / W)), s, gap: MAP_GAP };
  queueFit();   // the row's last canvases may not have changed its box's size
}

// On resize: shrink a row's equal tiles (maps, filters) by whole CSS pixels per value when that
// saves a line, and make rows that still wrap wrap evenly (16 as 8 + 8, not 9 + 7). Styles only.
function fitMaps(views) {
  for (const view of views) {
    const avail = rowWidths.get(view.rowsEl);
    if (!avail) continue;
    for (const row of view.rows) {
      if (!row.fit) continue;
      const { W, smax, smin, gap } = row.fit;
      const tiles = row.parts.filter((p) => p.key !== 'b');
      const perLine = (s) => Math.max(1, Math.floor((avail + gap) / (W * s + gap)));
      const lines = (s) => Math.ceil(tiles.length / perLine(s));
      let s = smax;
      for (let t = smax - 1; t >= smin; t--) if (lines(t) < lines(s)) s = t;
      if (s !== row.fit.s) {
        row.fit.s = s;
        for (const part of tiles) part.canvas.style.width = `${W * s}px`;
      }
      // As many on each line: 16 on three lines would be 6 + 6 + 4, so take one line more when
      // that divides them evenly (4 + 4 + 4 + 4).
      let even = Math.ceil(tiles.length / lines(s));
      const more = Math.ceil(tiles.length / (lines(s) + 1));
      if (tiles.length % even && !(tiles.length % more)) even = more;
      row.maps.style.maxWidth = even < tiles.length ? `${even * (W * s + gap)}px` : '';
    }
  }
}

// Weights of conv [F, C, KH, KW], or of fc [M, D] over an input [C, H, W]: one canvas per filter
// or neuron holding its C kernels in a small grid; an fc over a vector is one M x D image. A
// generator: it yields after each canvas.
function* weightParts(row, type, ws, inShape) {
  let F, C, KH, KW, unit;
  if (type === 'conv') { [F, C, KH, KW] = ws.w; unit = 'filter'; }
  else {
    const [M, D] = ws.w, [c, h, w] = inShape || [D, 1, 1];
    unit = 'neuron';
    if (c * h * w === D && (h > 1 || w > 1)) [F, C, KH, KW] = [M, c, h, w];
    else {
      // At most about 600 x 240 CSS px; rows may be taller than wide so that few neurons still show.
      const sx = clamp(Math.min(Math.floor(600 / D), Math.floor(240 / M)), 1, 8);
      const sy = clamp(Math.floor(120 / M), sx, 4 * sx);
      const shown = Math.min(M, MAX_MATRIX_ROWS);
      const cells = [{ src: 0, w: D, h: shown, x: 0, y: 0, label: (x, y) => `neuron ${y} · input ${x}` }];
      row.maps.append(makePart(row, D, shown, sx, sy, cells, M * D, 'w', { 'data-part': 'matrix' }).canvas);
      more(row, M, MAX_MATRIX_ROWS, 'neurons');
    }
  }
  if (F !== undefined) {
    const [gr, gc] = gridShape(C);
    const GW = gc * (KW + GAP) - GAP, GH = gr * (KH + GAP) - GAP;
    let s = clamp(Math.round(84 / Math.max(GW, GH)), 2, 8);   // about 84 CSS px per filter
    while (s > 1 && Math.min(F, MAX_TILES) * GW * GH * s * s > MAX_WEIGHT_AREA) s--;
    for (let f = 0; f < Math.min(F, MAX_TILES); f++) {
      const cells = Array.from({ length: C }, (_, c) => ({
        src: (f * C + c) * KH * KW, w: KW, h: KH, x: (c % gc) * (KW + GAP), y: Math.floor(c / gc) * (KH + GAP),
        label: (x, y) => `${unit} ${f} · channel ${c} · (x ${x}, y ${y})` }));
      row.maps.append(makePart(row, GW, GH, s, s, cells, F * C * KH * KW, 'w', { 'data-part': unit }).canvas);
      yield;
    }
    more(row, F, MAX_TILES, `${unit}s`);
    row.fit = { W: GW, smax: s * growth, smin: Math.min(s, 3), s, gap: WEIGHT_GAP };
    queueFit();
  }
  if (ws.b) {
    const B = ws.b[0];
    const cells = [{ src: 0, w: B, h: 1, x: 0, y: 0, bias: true, label: (x) => `${unit} ${x}` }];
    const wrap = el('span', { class: 'bias' }, QUANTITIES[row.q].bias);
    wrap.append(makePart(row, B, 1, clamp(Math.floor(200 / B), 3, 12), 8, cells, B, 'b', { 'data-part': 'bias' }).canvas);
    row.maps.append(wrap);
  }
}

// Bars per class: probabilities (softmax, 0..1) or signed scores (svm, regression).
function makeBars(row, K) {
  const list = el('div', { class: 'bars', 'data-map': QUANTITIES[row.q].map });
  row.bars = { list, signed: row.gray === false, rows: [] };
  for (let k = 0; k < K; k++) {
    const r = el('div', { class: 'bar-row', 'data-class': k });
    const name = el('span', { class: 'bar-name' }, String(state.classNames?.[k] ?? k));
    const fill = el('span', { class: 'bar-fill' });
    const track = el('span', { class: 'bar-track' });
    track.append(fill);
    const value = el('span', { class: 'bar-value' }), tag = el('span', { class: 'bar-tag' });
    r.append(name, track, value, tag);
    list.append(r);
    row.bars.rows.push({ el: r, name, fill, value, tag, flags: '' });
  }
  row.maps.append(list);
  row.legend.hidden = true;   // bars carry their own numbers
}

function makeRow(view, q, gray, label) {
  const box = el('div', { class: 'row', 'data-row': QUANTITIES[q].map });
  const head = el('div', { class: 'row-head' });
  const legend = el('span', { class: 'legend', title: 'colour scale; with per-map ranges each map has its own and the widest is shown' });
  const mode = el('span', { class: 'legend-mode' });
  const scale = makeLegend(gray);
  legend.append(scale.canvas, mode);
  const note = el('span', { class: 'row-note' });
  head.append(el('span', { class: 'row-label' }, label), legend, note);
  const maps = el('div', { class: 'maps' });
  box.append(head, maps, el('p', { class: 'empty' }, 'not computed'));
  box.classList.add('is-empty');
  view.rowsEl.append(box);
  const row = { view, q, gray, fit: null, el: box, maps, legend, scale, mode, note, parts: [], bars: null, empty: true, data: null };
  view.rows.push(row);
  keyRow(row, `${view.box.querySelector('h3').textContent}, ${label}`);
  return row;
}

/** Build one box per layer in `root`. layers: [{type, shape: [C, H, W], formula, params,
 * params_formula, geometry, weight_shapes}]; only: a Set of the layer indices to show (null: all);
 * rows: a Set of the rows to show, of activations, gradients, weights, weight-gradients (null: all);
 * grow: how many times their usual size maps and filters may grow while they keep to as few lines
 * (an embed on a slide has room to spare). Returns the views to pass to drawSnapshot. */
export function buildLayers(root, layers, { only = null, rows = null, grow = 1 } = {}) {
  growth = grow;
  building.length = 0;
  madeSinceDone = false;
  root.replaceChildren();
  root.classList.add('layer-list');
  if (!roots.has(root)) {
    roots.add(root);
    root.addEventListener('pointermove', onPointerMove);
    root.addEventListener('pointerleave', hideTooltip);
    root.addEventListener('click', onClick);
    listen(root);
  }
  fitObserver = fitObserver || new ResizeObserver(observeRows);
  fitObserver.disconnect();
  nearObserver = nearObserver || new IntersectionObserver(observeNear, { rootMargin: `${NEAR_PX}px 0px` });
  nearObserver.disconnect();
  hideTooltip();
  let prevGray = false;
  const wanted = (q) => !rows || rows.has(QUANTITIES[q].map);
  const views = [];
  layers.forEach((layer, i) => {
    const { type, shape } = layer;
    const gray = NON_NEGATIVE.has(type) || (PASS_SIGN.has(type) && prevGray);
    prevGray = gray;
    if (only && !only.has(i)) return;
    const box = el('div', { class: 'layer far', 'data-type': type, 'data-index': i });   // until seen near
    const info = el('div', { class: 'info' });
    info.append(el('h3', {}, `${type} · ${shapeText(shape)}`));
    const geometry = geometryText(type, layer.geometry);
    if (geometry) info.append(el('p', { class: 'geometry' }, geometry));
    if (layer.formula) info.append(el('p', { class: 'formula' }, layer.formula));
    if (layer.params_formula) info.append(el('p', { class: 'params' }, `parameters: ${layer.params_formula}`));
    const actStat = el('p', { class: 'stat', 'data-stat': 'activations' }, 'activations —');
    info.append(actStat);
    // Nobody needs the gradient with respect to the input images, so it is never computed.
    const gradStat = type === 'input' ? null : el('p', { class: 'stat', 'data-stat': 'gradients' }, 'gradients —');
    if (gradStat) info.append(gradStat);
    const rowsEl = el('div', { class: 'rows' });
    box.append(info, rowsEl);
    root.append(box);
    fitObserver.observe(rowsEl);
    const view = { index: i, type, shape, box, rowsEl, rows: [], actStat, gradStat, skipped: true, far: true, autoSkipped: false };
    // Painting a box that is not rendered is wasted: drawSnapshot passes over it while it is skipped.
    box.addEventListener('contentvisibilityautostatechange', (e) => {
      view.autoSkipped = e.skipped;
      setSkipped(view);
    });
    boxViews.set(box, view);
    nearObserver.observe(box);
    // The rows and their canvases (a few hundred for a small net) are made by buildSome, a few
    // per frame once the box is near sight, so that no frame stalls the page.
    const isBars = LOSSES.has(type);
    // make: a row's maker, run when its turn comes; -> the steps (an iterable) of its canvases.
    const later = (make) => building.push({ view, steps: (function* () { yield* make(); })() });
    if (wanted('act')) {
      later(() => {
        const act = makeRow(view, 'act', gray, type === 'softmax' ? 'probabilities' : isBars ? 'scores' : 'activations');
        if (!isBars) return mapParts(act, shape, type, type === 'input');
        makeBars(act, shape[0]);
        return [];
      });
    }
    if (gradStat && wanted('grad')) later(() => mapParts(makeRow(view, 'grad', false, 'gradients'), shape, type, false));
    const ws = layer.weight_shapes;
    if (ws && ws.w && (type === 'conv' || type === 'fc')) {
      const inShape = i > 0 ? layers[i - 1].shape : null;
      for (const [q, label] of [['w', 'weights'], ['dw', 'weight gradients']]) {
        if (wanted(q)) later(() => weightParts(makeRow(view, q, false, label), type, ws, inShape));
      }
    }
    views.push(view);
  });
  state.views = views;
  state.snapshot = null;
  return views;
}

/** Make the rows buildLayers left for later of the boxes near sight, canvas by canvas, for about
 * budgetMs. -> 'busy' while some of those remain; 'done' on the first call that finds none left
 * after some were made: the call that makes the last one, or the next call after the boxes still
 * being made went far from sight (scrolled past), as the rows made so far need painting either
 * way; else 'idle' (the rows of boxes far from sight wait until they come near). */
export function buildSome(budgetMs) {
  const end = performance.now() + budgetMs;
  for (let i = building.findIndex((b) => !b.view.far); i >= 0; i = building.findIndex((b) => !b.view.far)) {
    madeSinceDone = true;
    if (building[i].steps.next().done) building.splice(i, 1);
    if (performance.now() >= end) break;
  }
  if (building.some((b) => !b.view.far)) return 'busy';
  if (!madeSinceDone) return 'idle';
  madeSinceDone = false;
  return 'done';
}
