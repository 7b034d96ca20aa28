// Layer views: one box per layer. buildLayers (then buildSome, a few rows per frame) creates
// every canvas once; drawSnapshot only repaints them in place (one canvas pixel per value, scaled
// up by CSS) and updates text.

import { DIVERGING, GRAY, NAN_COLOR, drawLegend, makeLegend, toRange } from './colormap.js';

const NORMALIZATIONS = { map: 'per map', layer: 'per layer', global: 'global (all layers)' };
const QUANTITIES = {   // row key -> data-map attribute, tooltip word, bias word
  act: { map: 'activations', word: 'activation' },
  grad: { map: 'gradients', word: 'gradient' },
  w: { map: 'weights', word: 'weight', bias: 'bias' },
  dw: { map: 'weight-gradients', word: 'weight gradient', bias: 'bias gradient' },
};
const LOSSES = new Set(['softmax', 'svm', 'regression']);
const NON_NEGATIVE = new Set(['input', 'relu', 'sigmoid', 'softplus', 'softmax']);
const PASS_SIGN = new Set(['pool', 'avgpool', 'dropout']);   // non-negative when their input is
const GAP = 1;              // transparent canvas pixels between kernels drawn side by side
const VECTOR_COLS = 64;     // vectors longer than this wrap onto several canvas rows
const MAX_WEIGHT_AREA = 400000;   // CSS px² a weight row may cover before its scale shrinks
const MAP_GAP = 4;          // CSS px between maps (layers.css .maps gap)
const WEIGHT_GAP = 10;      // CSS px between filters (layers.css, weight rows)
const MIN_MAP_PX = 24;      // maps shrink to save a line on narrow screens, but not below this

const state = { views: [], snapshot: null, mode: 'map', classNames: null, hover: null, tooltip: null };
const hits = new WeakMap();   // canvas -> { view, row, part } for the tooltip
const roots = new WeakSet();   // containers that already have the hover listeners
const building = [];   // rows buildLayers left for buildSome: functions, in page order

function el(tag, attrs = {}, text = '') {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

function setText(node, text) { if (node.textContent !== text) node.textContent = text; }

// Compact numbers: 0.234, -1.57e-3, 1.2e+4 (digits: significant digits).
function fmt(v, digits = 3) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return '0';
  return a >= 1e4 || a < 1e-2 ? v.toExponential(digits - 1) : v.toPrecision(digits);
}

const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));
const shapeText = ([C, H, W]) => (H === 1 && W === 1 ? `${C}` : `${C}×${H}×${W}`);

// rows x cols for C kernels side by side: the most square exact split (8 -> 2x4, 16 -> 4x4).
function gridShape(C) {
  let rows = Math.floor(Math.sqrt(C));
  while (C % rows) rows--;
  return [rows, C / rows];
}

function unitName(type, k) {
  if (!LOSSES.has(type)) return `${type === 'fc' ? 'neuron' : 'unit'} ${k}`;
  const name = state.classNames && state.classNames[k];
  return name !== undefined && String(name) !== String(k) ? `class ${k} (${name})` : `class ${k}`;
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

// C maps of H x W, or one strip of C values when H = W = 1 (wrapped every VECTOR_COLS).
function mapParts(row, [C, H, W], type, big) {
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
  for (let c = 0; c < C; c++) {
    const cells = [{ src: c * H * W, w: W, h: H, x: 0, y: 0, label: (x, y) => `map ${c} · (x ${x}, y ${y})` }];
    row.maps.append(makePart(row, W, H, s, s, cells, C * H * W).canvas);
  }
  row.fit = { W, smax: s, smin: Math.min(s, Math.ceil(MIN_MAP_PX / W)), s, gap: MAP_GAP };
}

// On resize: shrink a row's equal tiles (maps, filters) by whole CSS pixels per value when that
// saves a line, and make rows that still wrap wrap evenly (16 as 8 + 8, not 9 + 7). Styles only.
function fitMaps(views) {
  for (const view of views) {
    const avail = view.rowsEl.clientWidth;
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
      const even = Math.ceil(tiles.length / lines(s));
      row.maps.style.maxWidth = even < tiles.length ? `${even * (W * s + gap)}px` : '';
    }
  }
}

// Weights of conv [F, C, KH, KW], or of fc [M, D] over an input [C, H, W]: one canvas per filter
// or neuron holding its C kernels in a small grid; an fc over a vector is one M x D image.
function weightParts(row, type, ws, inShape) {
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
      const cells = [{ src: 0, w: D, h: M, x: 0, y: 0, label: (x, y) => `neuron ${y} · input ${x}` }];
      row.maps.append(makePart(row, D, M, sx, sy, cells, M * D, 'w', { 'data-part': 'matrix' }).canvas);
    }
  }
  if (F !== undefined) {
    const [gr, gc] = gridShape(C);
    const GW = gc * (KW + GAP) - GAP, GH = gr * (KH + GAP) - GAP;
    let s = clamp(Math.round(84 / Math.max(GW, GH)), 2, 8);   // about 84 CSS px per filter
    while (s > 1 && F * GW * GH * s * s > MAX_WEIGHT_AREA) s--;
    for (let f = 0; f < F; f++) {
      const cells = Array.from({ length: C }, (_, c) => ({
        src: (f * C + c) * KH * KW, w: KW, h: KH, x: (c % gc) * (KW + GAP), y: Math.floor(c / gc) * (KH + GAP),
        label: (x, y) => `${unit} ${f} · channel ${c} · (x ${x}, y ${y})` }));
      row.maps.append(makePart(row, GW, GH, s, s, cells, F * C * KH * KW, 'w', { 'data-part': unit }).canvas);
    }
    row.fit = { W: GW, smax: s, smin: Math.min(s, 3), s, gap: WEIGHT_GAP };
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
  return row;
}

/** Build one box per layer in `root`. layers: [{type, shape: [C, H, W], formula, params,
 * params_formula, geometry, weight_shapes}]. Returns the views to pass to drawSnapshot. */
export function buildLayers(root, layers) {
  building.length = 0;
  root.replaceChildren();
  root.classList.add('layer-list');
  if (!roots.has(root)) {
    roots.add(root);
    root.addEventListener('pointermove', onPointerMove);
    root.addEventListener('pointerleave', hideTooltip);
    new ResizeObserver(() => fitMaps(state.views)).observe(root);
  }
  hideTooltip();
  let prevGray = false;
  const views = layers.map((layer, i) => {
    const { type, shape } = layer;
    const gray = NON_NEGATIVE.has(type) || (PASS_SIGN.has(type) && prevGray);
    prevGray = gray;
    const box = el('div', { class: 'layer', 'data-type': type, 'data-index': i });
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
    const view = { index: i, type, shape, box, rowsEl, rows: [], actStat, gradStat };
    // The rows and their canvases (a few hundred for a small net) are made by buildSome, a few
    // per frame, so that no frame stalls the page.
    const isBars = LOSSES.has(type);
    building.push(() => {
      const act = makeRow(view, 'act', gray, type === 'softmax' ? 'probabilities' : isBars ? 'scores' : 'activations');
      if (isBars) makeBars(act, shape[0]); else mapParts(act, shape, type, type === 'input');
    });
    if (gradStat) building.push(() => mapParts(makeRow(view, 'grad', false, 'gradients'), shape, type, false));
    const ws = layer.weight_shapes;
    if (ws && ws.w && (type === 'conv' || type === 'fc')) {
      const inShape = i > 0 ? layers[i - 1].shape : null;
      building.push(() => weightParts(makeRow(view, 'w', false, 'weights'), type, ws, inShape));
      building.push(() => weightParts(makeRow(view, 'dw', false, 'weight gradients'), type, ws, inShape));
    }
    return view;
  });
  state.views = views;
  state.snapshot = null;
  return views;
}

/** Make the rows buildLayers left for later, for about budgetMs. -> 'busy' while rows remain,
 * 'done' on the call that makes the last one (the layout is fitted then), else 'idle'. */
export function buildSome(budgetMs) {
  if (!building.length) return 'idle';
  const end = performance.now() + budgetMs;
  do building.shift()(); while (building.length && performance.now() < end);
  if (building.length) return 'busy';
  fitMaps(state.views);
  return 'done';
}

function entryFor(row, L) {
  if (!L) return null;
  const d = row.q === 'act' ? L.act : row.q === 'grad' ? L.grad : row.q === 'w' ? L.weights : L.wgrads;
  if (!d) return null;
  for (const part of row.parts) {
    const e = part.key ? d[part.key] : d;
    if (!e || !e.data || e.data.length !== part.total) return null;   // not sent, or another net's
  }
  if (row.bars && (!d.data || d.data.length !== row.bars.rows.length)) return null;
  return d;
}

function extent(e, mn = Infinity, mx = -Infinity) {
  if (Number.isFinite(e.min) && Number.isFinite(e.max)) return [Math.min(mn, e.min), Math.max(mx, e.max)];
  for (const v of e.data) { if (v < mn) mn = v; if (v > mx) mx = v; }
  return [mn, mx];
}

function rowExtent(row, d) {
  if (row.q === 'act' || row.q === 'grad') return extent(d);
  let r = [Infinity, -Infinity];
  for (const k of ['w', 'b']) if (d[k]) r = extent(d[k], ...r);
  return r;
}

// Global ranges share max|v| over all layers; a grayscale row keeps its own lower end (0).
function globalExtent(row, [mn, mx]) {
  const m = Math.max(Math.abs(mn), Math.abs(mx));
  return row.gray ? [Math.min(0, row.extent[0]), m] : [-m, m];
}

function paintPart(part, data, lo, hi, colours) {
  const { u32, W, cells } = part;
  const k = 255 / (hi - lo);
  for (const c of cells) {
    for (let r = 0; r < c.h; r++) {
      let s = c.src + r * c.w, d = (c.y + r) * W + c.x;
      for (const end = s + c.w; s < end; s++, d++) {
        const v = data[s];
        const t = (v - lo) * k + 0.5;
        u32[d] = v !== v ? NAN_COLOR : colours[t <= 0 ? 0 : t >= 255 ? 255 : t | 0];
      }
    }
  }
  part.ctx.putImageData(part.img, 0, 0);
}

function scanPart(part, data) {
  let mn = Infinity, mx = -Infinity;
  for (const c of part.cells) {
    for (let i = c.src, end = c.src + c.w * c.h; i < end; i++) {
      const v = data[i];
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
  }
  return [mn, mx];
}

function drawRow(row, d, shared) {
  const colours = row.gray ? GRAY : DIVERGING;
  let lo = Infinity, hi = -Infinity;
  for (const part of row.parts) {
    const data = (part.key ? d[part.key] : d).data;
    const [a, b] = state.mode === 'map' ? toRange(...scanPart(part, data), row.gray) : toRange(...shared, row.gray);
    part.lo = a; part.hi = b;
    paintPart(part, data, a, b, colours);
    lo = Math.min(lo, a); hi = Math.max(hi, b);
  }
  if (row.parts.length) {
    drawLegend(row.scale, fmt(lo), fmt(hi));
    setText(row.mode, state.mode === 'map' ? 'per map (widest)' : NORMALIZATIONS[state.mode]);
  }
}

function drawBars(row, d, label) {
  const { rows, signed } = row.bars;
  const data = d.data;
  let best = 0, m = 0;
  for (let k = 0; k < rows.length; k++) {
    if (data[k] > data[best]) best = k;
    m = Math.max(m, Math.abs(data[k]));
  }
  const scale = signed ? (m > 0 ? 1 / m : 1) : 1;
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k], v = data[k];
    r.fill.style.transform = `scaleX(${Number.isFinite(v) ? clamp(v * scale, -1, 1) : 0})`;
    setText(r.value, signed ? fmt(v) : Number.isFinite(v) ? v.toFixed(3) : String(v));
    const flags = (k === label ? 'L' : '') + (k === best ? 'P' : '');
    if (flags !== r.flags) {
      r.flags = flags;
      r.el.classList.toggle('is-label', k === label);
      r.el.classList.toggle('is-predicted', k === best);
      r.el.classList.toggle('is-wrong', k === best && label !== undefined && label !== null && best !== label);
      r.tag.textContent = [k === label && 'label', k === best && 'predicted'].filter(Boolean).join(', ');
    }
  }
}

function setEmpty(row, empty) {
  if (row.empty !== empty) { row.empty = empty; row.el.classList.toggle('is-empty', empty); }
}

/** Repaint the views from one snapshot: {label, source, layers: [{type, shape, act, grad,
 * weights, wgrads}]}, each quantity {data: Float32Array, shape, min, max} or null. Paints
 * views[from], views[from + 1], ... for about budgetMs (at least one view); -> the index of the
 * next view to paint, views.length when all are done. */
export function drawSnapshot(views, snapshot, from = 0, budgetMs = Infinity) {
  const end = performance.now() + budgetMs;
  state.views = views;
  state.snapshot = snapshot;
  const layers = snapshot.layers || [];
  const global = {};   // q -> [min, max] over all layers
  for (const view of views) {
    for (const row of view.rows) {
      row.data = entryFor(row, layers[view.index]);
      if (!row.data) continue;
      row.extent = rowExtent(row, row.data);
      const g = global[row.q] || (global[row.q] = [Infinity, -Infinity]);
      g[0] = Math.min(g[0], row.extent[0]); g[1] = Math.max(g[1], row.extent[1]);
    }
  }
  const label = snapshot.label;
  let next = from;
  for (; next < views.length && (next === from || performance.now() < end); next++) {
    const view = views[next];
    const L = layers[view.index];
    setText(view.actStat, L && L.act ? `activations ${fmt(L.act.min)} … ${fmt(L.act.max)}` : 'activations —');
    if (view.gradStat) setText(view.gradStat, L && L.grad ? `gradients ${fmt(L.grad.min)} … ${fmt(L.grad.max)}` : 'gradients: not computed');
    for (const row of view.rows) {
      setEmpty(row, !row.data);
      if (!row.data) continue;
      if (row.bars) {
        drawBars(row, row.data, label);
        const source = snapshot.source ? `${snapshot.source} image` : '';
        const known = label !== undefined && label !== null;
        setText(row.note, [source, known && `label ${state.classNames?.[label] ?? label}`].filter(Boolean).join(', '));
      } else {
        drawRow(row, row.data, state.mode === 'global' ? globalExtent(row, global[row.q]) : row.extent);
      }
    }
  }
  if (state.hover && next === views.length) renderTooltip();
  return next;
}

/** Colour range of every map: 'map' (each map its own), 'layer' (one per layer and quantity)
 * or 'global' (one per quantity over all layers). Redraws the last snapshot at once. */
export function setNormalization(mode) {
  if (!(mode in NORMALIZATIONS)) throw new Error(`unknown normalization ${mode}; use map, layer or global`);
  state.mode = mode;
  for (const select of document.querySelectorAll('select[data-control="normalization"]')) select.value = mode;
  if (state.snapshot) drawSnapshot(state.views, state.snapshot);
}

/** A labelled <select data-control="normalization"> appended to `container`, wired to setNormalization. */
export function buildNormalizationControl(container) {
  const label = el('label', { class: 'normalization-control' }, 'Colour range ');
  const select = el('select', { 'data-control': 'normalization' });
  for (const [value, text] of Object.entries(NORMALIZATIONS)) select.append(el('option', { value }, text));
  select.value = state.mode;
  select.addEventListener('change', () => setNormalization(select.value));
  label.append(select);
  container.append(label);
  return select;
}

/** Class names for the loss layers' bars and tooltips, e.g. ['0', ..., '9']. */
export function setClassNames(names) {
  state.classNames = names ? [...names] : null;
  for (const view of state.views) {
    for (const row of view.rows) {
      if (row.bars) row.bars.rows.forEach((r, k) => setText(r.name, String(state.classNames?.[k] ?? k)));
    }
  }
}

function tooltipEl() {
  if (!state.tooltip) {
    state.tooltip = el('div', { class: 'layer-tooltip', role: 'tooltip' });
    state.tooltip.hidden = true;
    document.body.append(state.tooltip);
  }
  return state.tooltip;
}

function hideTooltip() {
  state.hover = null;
  if (state.tooltip) state.tooltip.hidden = true;
}

function onPointerMove(e) {
  const target = e.target;
  const bar = target.closest && target.closest('.bar-row');
  if (hits.has(target) || bar) {
    state.hover = { target: bar || target, x: e.clientX, y: e.clientY };
    renderTooltip();
  } else if (state.hover) hideTooltip();
}

// Text for the hovered value, from the canvas or bar under the pointer and the last snapshot.
function hoverText() {
  const { target, x, y } = state.hover;
  if (target.classList.contains('bar-row')) {
    const view = state.views[Number(target.closest('.layer').dataset.index)];
    const L = state.snapshot && view && state.snapshot.layers[view.index];
    const k = Number(target.dataset.class);
    if (!L || !L.act) return null;
    const word = view.type === 'softmax' ? 'probability' : 'score';
    const lines = [`${view.type} · ${word} · ${unitName(view.type, k)} = ${fmt(L.act.data[k], 4)}`];
    if (L.grad) lines.push(`gradient ${fmt(L.grad.data[k], 4)}`);
    return lines;
  }
  const { view, row, part } = hits.get(target);
  if (!row.data || state.views[view.index] !== view) return null;
  const rect = target.getBoundingClientRect();
  const px = Math.floor(((x - rect.left - target.clientLeft) / target.clientWidth) * target.width);
  const py = Math.floor(((y - rect.top - target.clientTop) / target.clientHeight) * target.height);
  const cell = part.cells.find((c) => px >= c.x && px < c.x + c.w && py >= c.y && py < c.y + c.h);
  if (!cell) return null;
  const cx = px - cell.x, cy = py - cell.y;
  const data = (part.key ? row.data[part.key] : row.data).data;
  const word = cell.bias ? QUANTITIES[row.q].bias : QUANTITIES[row.q].word;
  return [`${view.type} · ${word} · ${cell.label(cx, cy)} = ${fmt(data[cell.src + cy * cell.w + cx], 4)}`,
    `colour range ${fmt(part.lo)} … ${fmt(part.hi)}`];
}

function renderTooltip() {
  const tip = tooltipEl();
  const lines = state.hover && hoverText();
  if (!lines) { tip.hidden = true; return; }
  tip.replaceChildren(...lines.map((t, i) => el('div', i ? { class: 'muted' } : {}, t)));
  tip.hidden = false;
  const { x, y } = state.hover;
  const w = tip.offsetWidth, h = tip.offsetHeight;
  tip.style.left = `${x + 14 + w > innerWidth ? Math.max(0, x - 14 - w) : x + 14}px`;
  tip.style.top = `${y + 14 + h > innerHeight ? Math.max(0, y - 14 - h) : y + 14}px`;
}
