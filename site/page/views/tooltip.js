// The hover readout of the layer views: the value under the pointer, from the last snapshot.

import { QUANTITIES, el, fmt, hits, state, unitName } from './viewstate.js';

function tooltipEl() {
  if (!state.tooltip) {
    state.tooltip = el('div', { class: 'layer-tooltip', role: 'tooltip' });
    state.tooltip.hidden = true;
    document.body.append(state.tooltip);
  }
  return state.tooltip;
}

export function hideTooltip() {
  state.hover = null;
  if (state.tooltip) state.tooltip.hidden = true;
}

export function onPointerMove(e) {
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
  const at = cellAt(target, x, y);
  if (!at) return null;
  const { cell, cx, cy } = at;
  const data = (part.key ? row.data[part.key] : row.data).data;
  const word = cell.bias ? QUANTITIES[row.q].bias : QUANTITIES[row.q].word;
  return [`${view.type} · ${word} · ${cell.label(cx, cy)} = ${fmt(data[cell.src + cy * cell.w + cx], 4)}`,
    `colour range ${fmt(part.lo)} … ${fmt(part.hi)}`];
}

// The cell of a layer-view canvas under a client point: {cell, cx, cy}, cx and cy within the cell.
function cellAt(target, x, y) {
  const { part } = hits.get(target);
  const rect = target.getBoundingClientRect();
  const px = Math.floor(((x - rect.left - target.clientLeft) / target.clientWidth) * target.width);
  const py = Math.floor(((y - rect.top - target.clientTop) / target.clientHeight) * target.height);
  const cell = part.cells.find((c) => px >= c.x && px < c.x + c.w && py >= c.y && py < c.y + c.h);
  return cell ? { cell, cx: px - cell.x, cy: py - cell.y } : null;
}

/** The unit under a click on an activation or gradient row (or a class bar): a 'unit-pick' event on
 * the document with {layer, index (flat, into the layer's output), quantity: 'act'|'grad'}. */
export function onClick(e) {
  const target = e.target;
  const bar = target.closest && target.closest('.bar-row');
  let detail = null;
  if (bar) detail = { layer: Number(bar.closest('.layer').dataset.index), index: Number(bar.dataset.class), quantity: 'act' };
  else if (hits.has(target)) {
    const { view, row } = hits.get(target);
    const at = (row.q === 'act' || row.q === 'grad') && cellAt(target, e.clientX, e.clientY);
    if (at) detail = { layer: view.index, index: at.cell.src + at.cy * at.cell.w + at.cx, quantity: row.q };
  }
  if (detail) pickUnit(detail);
}

/** Say that this unit was picked (the unit-math lesson opens on it). */
export function pickUnit(detail) { document.dispatchEvent(new CustomEvent('unit-pick', { detail })); }

export function renderTooltip() {
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
