// The layer views by keyboard: each row of maps is one tab stop. A cursor (a box over one value)
// moves with the arrow keys inside a map and on to the next; Page Up/Down and Home/End go from
// map to map; the value under it shows in the readout the pointer uses (and is read out by a
// screen reader); Enter or Space on an activation, a gradient or a class opens unit-math on
// that unit, as a click does. Esc hides the cursor.

import { el, state } from './viewstate.js';
import { hideTooltip, pickUnit, renderTooltip } from './tooltip.js';

const SAY_MS = 250;      // a held arrow key is read out once it stops
const rowOf = new WeakMap();     // .maps element -> its row
let box = null, sayTimer = 0;

/** Make a row's maps a tab stop that the cursor can walk. */
export function keyRow(row, name) {
  const pick = row.q === 'act' || row.q === 'grad';
  row.maps.tabIndex = 0;
  row.maps.setAttribute('role', 'group');
  row.maps.setAttribute('aria-label', `${name}: arrow keys read the values, Page Up and Page Down go from map to map`
    + (pick ? ', Enter explains the unit in the unit-math lesson' : ''));
  const live = el('span', { class: 'visually-hidden', 'aria-live': 'polite', 'data-role': 'map-readout' });
  row.maps.after(live);
  row.live = live;
  row.cursor = null;        // {part, cell, cx, cy} or {bar}
  rowOf.set(row.maps, row);
}

/** Listen on a layer list (once). */
export function listen(root) {
  root.addEventListener('keydown', onKey);
  root.addEventListener('focusin', (e) => { const row = rowOf.get(e.target); if (row) show(row); });
  root.addEventListener('focusout', (e) => { if (rowOf.has(e.target)) { hideBox(); hideTooltip(); } });
}

function cells(row) {      // every cell of the row, in reading order: [{part, cell}]
  const out = [];
  for (const part of row.parts) for (const cell of part.cells) out.push({ part, cell });
  return out;
}

function onKey(e) {
  const row = rowOf.get(e.target);
  if (!row || e.altKey || e.ctrlKey || e.metaKey) return;
  if (e.key === 'Escape') { hideBox(); hideTooltip(); row.cursor = null; return; }
  if ((e.key === 'Enter' || e.key === ' ') && (row.q === 'act' || row.q === 'grad')) {
    const c = row.cursor || start(row);
    if (!c) return;
    e.preventDefault();
    const detail = c.bar !== undefined ? { layer: row.view.index, index: c.bar, quantity: 'act' }
      : { layer: row.view.index, index: c.cell.src + c.cy * c.cell.w + c.cx, quantity: row.q };
    pickUnit(detail);
    say(row, 'opened in the unit-math lesson');
    return;
  }
  if (!row.cursor) { if (start(row)) { e.preventDefault(); show(row); } return; }
  if (move(row, e.key)) { e.preventDefault(); show(row); }
}

function start(row) {
  if (row.bars) row.cursor = { bar: 0 };
  else {
    const all = cells(row);
    row.cursor = all.length ? { ...all[0], cx: 0, cy: 0 } : null;
  }
  return row.cursor;
}

// -> true if the key moved the cursor.
function move(row, key) {
  const c = row.cursor;
  if (c.bar !== undefined) {
    const K = row.bars.rows.length;
    const to = { ArrowUp: c.bar - 1, ArrowLeft: c.bar - 1, ArrowDown: c.bar + 1, ArrowRight: c.bar + 1, Home: 0, End: K - 1 }[key];
    if (to === undefined) return false;
    c.bar = Math.max(0, Math.min(K - 1, to));
    return true;
  }
  const all = cells(row);
  const i = all.findIndex((a) => a.cell === c.cell);
  const go = (j, cx, cy) => {
    const a = all[Math.max(0, Math.min(all.length - 1, j))];
    row.cursor = { ...a, cx: Math.max(0, Math.min(a.cell.w - 1, cx)), cy: Math.max(0, Math.min(a.cell.h - 1, cy)) };
    return true;
  };
  switch (key) {
    case 'ArrowRight': return c.cx + 1 < c.cell.w ? go(i, c.cx + 1, c.cy) : go(i + 1, 0, c.cy);
    case 'ArrowLeft': return c.cx > 0 ? go(i, c.cx - 1, c.cy) : go(i - 1, Infinity, c.cy);
    case 'ArrowDown': return c.cy + 1 < c.cell.h ? go(i, c.cx, c.cy + 1) : go(i + 1, c.cx, 0);
    case 'ArrowUp': return c.cy > 0 ? go(i, c.cx, c.cy - 1) : go(i - 1, c.cx, Infinity);
    case 'PageDown': return go(i + 1, c.cx, c.cy);
    case 'PageUp': return go(i - 1, c.cx, c.cy);
    case 'Home': return go(0, 0, 0);
    case 'End': return go(all.length - 1, 0, 0);
    default: return false;
  }
}

// Point the readout at the cursor: the hover state the pointer would make there, and the box.
function show(row) {
  const c = row.cursor || start(row);
  if (!c) return;
  let target, rect;
  if (c.bar !== undefined) {
    target = row.bars.rows[c.bar].el;
    rect = target.getBoundingClientRect();
  } else {
    target = c.part.canvas;
    const r = target.getBoundingClientRect();
    const sx = target.clientWidth / target.width, sy = target.clientHeight / target.height;
    const left = r.left + target.clientLeft + (c.cell.x + c.cx) * sx, top = r.top + target.clientTop + (c.cell.y + c.cy) * sy;
    rect = { left, top, width: sx, height: sy };
  }
  state.hover = { target, x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 };
  renderTooltip();
  placeBox(rect);
  const tip = state.tooltip && !state.tooltip.hidden ? state.tooltip.textContent : '';
  clearTimeout(sayTimer);
  sayTimer = setTimeout(() => say(row, tip || 'no value yet'), SAY_MS);
}

function say(row, text) { if (row.live) row.live.textContent = text; }

function placeBox(rect) {
  if (!box) {
    box = el('div', { class: 'map-cursor', 'aria-hidden': 'true' });
    document.body.append(box);
  }
  const pad = 1;
  Object.assign(box.style, { left: `${rect.left + scrollX - pad}px`, top: `${rect.top + scrollY - pad}px`,
    width: `${Math.max(4, rect.width) + 2 * pad}px`, height: `${Math.max(4, rect.height) + 2 * pad}px` });
  box.hidden = false;
}

function hideBox() { if (box) box.hidden = true; }
