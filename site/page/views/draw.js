// Painting the layer views from a snapshot, in place (one canvas pixel per value, scaled up by
// CSS), the colour-range control, and the class names on the loss layers' bars.

import { GRAY, NAN_COLOR, diverging, drawLegend, toRange } from './colormap.js';
import { onThemeChange } from '../theme.js';
import { renderTooltip } from './tooltip.js';
import { clamp, el, fmt, setText, state } from './viewstate.js';

const NORMALIZATIONS = { map: 'per map', layer: 'per layer', global: 'global (all layers)' };

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
  const colours = row.gray ? GRAY : diverging();
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

// A box's activation and gradient ranges (its text, shown whether or not its rows are rendered).
function setStats(view, L) {
  setText(view.actStat, L && L.act ? `activations ${fmt(L.act.min)} … ${fmt(L.act.max)}` : 'activations —');
  if (view.gradStat) setText(view.gradStat, L && L.grad ? `gradients ${fmt(L.grad.min)} … ${fmt(L.grad.max)}` : 'gradients: not computed');
}

/** Rows of the views in page order: the units drawSnapshot paints and counts in. */
export function rowCount(views) {
  return views.reduce((n, view) => n + view.rows.length, 0);
}

/** Repaint the views from one snapshot: {label, source, layers: [{type, shape, act, grad,
 * weights, wgrads}]}, each quantity {data: Float32Array, shape, min, max} or null. Paints rows in
 * page order from row index `from` (see rowCount) for about budgetMs, at least one row, and stops
 * before a row whose canvases would make more than maxShown canvases appear for the first time:
 * the page's first paint of a canvas costs the browser about a millisecond. Rows of a box the
 * browser skips (view.skipped: out of sight) are passed over and marked stale. -> the index of the
 * next row to paint, rowCount(views) when all are done. */
export function drawSnapshot(views, snapshot, from = 0, budgetMs = Infinity, maxShown = Infinity) {
  const end = performance.now() + budgetMs;
  state.views = views;
  state.snapshot = snapshot;
  const layers = snapshot.layers || [];
  const global = {};   // q -> [min, max] over all layers
  const rows = [];
  for (const view of views) {
    if (!view.rows.length) setStats(view, layers[view.index]);   // its rows are not made yet (far from sight)
    for (const row of view.rows) {
      rows.push(row);
      row.data = entryFor(row, layers[view.index]);
      if (!row.data) continue;
      row.extent = rowExtent(row, row.data);
      const g = global[row.q] || (global[row.q] = [Infinity, -Infinity]);
      g[0] = Math.min(g[0], row.extent[0]); g[1] = Math.max(g[1], row.extent[1]);
    }
  }
  const label = snapshot.label;
  let next = from, shown = 0;
  for (; next < rows.length; next++) {
    const row = rows[next];
    const fresh = row.data && !row.shown && !row.view.skipped ? row.parts.length : 0;
    if (next > from && (performance.now() >= end || (fresh && shown + fresh > maxShown))) break;
    shown += fresh;
    const view = row.view;
    if (row === view.rows[0]) setStats(view, layers[view.index]);
    setEmpty(row, !row.data);
    if (!row.data) continue;
    if (view.skipped) { row.stale = true; continue; }   // out of sight: painted when it comes back
    row.shown = true;
    row.stale = false;
    if (row.bars) {
      drawBars(row, row.data, label);
      const source = snapshot.source ? `${snapshot.source} image` : '';
      const known = label !== undefined && label !== null;
      setText(row.note, [source, known && `label ${state.classNames?.[label] ?? label}`].filter(Boolean).join(', '));
    } else {
      drawRow(row, row.data, state.mode === 'global' ? globalExtent(row, global[row.q]) : row.extent);
    }
  }
  if (state.hover && next === rows.length) renderTooltip();
  return next;
}

// Another theme: the last snapshot again, in its colours (a paused run sends no new one).
onThemeChange(() => { if (state.snapshot) drawSnapshot(state.views, state.snapshot); });

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
