// Line charts against examples seen, drawn by uPlot (vendored and hash-pinned by the build): ticks
// at round values spaced by their labels' size, a log scale for the loss, a hover readout (the
// legend shows the values under the pointer), a second scale on the right, and labelled marks.
// Series differ by dash as well as by colour, and the legend draws each one's line as the plot does;
// the colours are the theme's (theme.js), and the plot is made again when the theme changes.
import uPlot from '../../vendor/uplot/uPlot.esm.js';
import { colour, palette } from '../theme.js';

const MAX_POINTS = 600;       // past this, neighbouring points are merged (averaged) in pairs
const ASPECT = 220 / 560;     // plot height per width (option aspect), unless the page sizes the chart (--chart-fill: 1)
const FONT = '11px system-ui, sans-serif';
// A series' dash by its place (CSS px, [] solid): solid, dashed, dotted, dash-dot, ... so that no two
// lines of a chart are told apart by colour alone (red and green look alike to many).
const DASHES = [[], [9, 4], [2, 3], [9, 3, 2, 3], [4, 4], [14, 4, 2, 4, 2, 4], [1, 5]];
const LINE = 1.5;             // series width, CSS px

export class Chart {
  /** el: an empty element to draw in. series: [{key, label, right}] (right: against a scale of its
   * own on the right, from 0, with rightFormat), the i-th drawn in the theme's series-(i+1) colour
   * and DASHES[i]; yLabel: axis title; yRange: [lo, hi] fixed, or null to fit (from 0, or on a log
   * scale); format: tick and readout text of a left value. */
  constructor(el, { series, yLabel, yRange = null, format = null, rightFormat = (v) => Number(v.toPrecision(2)).toString(),
    log = false, aspect = ASPECT }) {
    series = series.map((s, i) => ({ ...s, colour: `series-${i + 1}`, dash: DASHES[i % DASHES.length] }));
    Object.assign(this, { el, series, yLabel, yRange, format, rightFormat, log, aspect });
    this.points = [];         // [examples, {key: value}]
    this.marks = [];          // [examples, text]
    this.plot = null;
    this.dirty = true;
    this.empty = el.appendChild(Object.assign(document.createElement('p'), { className: 'chart-empty',
      textContent: 'Appears here once training starts.' }));
    new ResizeObserver(() => { this.resized = true; this.dirty = true; }).observe(el);
  }

  add(x, values) {
    this.points.push([x, values]);
    if (this.points.length > MAX_POINTS) {
      const merged = [];
      for (let i = 0; i + 1 < this.points.length; i += 2) merged.push(mean(this.points[i], this.points[i + 1]));
      if (this.points.length % 2) merged.push(this.points[this.points.length - 1]);
      this.points = merged;
    }
    this.dirty = true;
  }

  clear() { this.points = []; this.marks = []; this.dirty = true; }
  /** points: [[x, {key: value}]]; marks: [[x, text]], drawn as labelled vertical lines. */
  load(points, marks = []) {
    this.points = Array.isArray(points) ? points : [];
    this.marks = Array.isArray(marks) ? marks : [];
    this.dirty = true;
  }

  /** The left scale logarithmic (true) or linear; values at or below 0 are left out on a log scale. */
  setLog(on) {
    if (on === this.log) return;
    this.log = on;
    if (this.plot) { this.plot.destroy(); this.plot = null; }
    this.dirty = true;
  }

  draw() {
    if (this.plot && this.version !== palette.version) { this.plot.destroy(); this.plot = null; this.dirty = true; }
    if (!this.dirty || !this.el.clientWidth) return;    // hidden: drawn once it shows
    this.dirty = false;
    const { el, points } = this;
    // What the chart holds, for tests and tools: its number of points and the last one's x.
    el.dataset.points = points.length;
    el.dataset.lastX = points.length ? points[points.length - 1][0] : '';
    el.dataset.marks = JSON.stringify(this.marks);
    el.dataset.scale = this.log ? 'log' : 'linear';
    const right = this.series.filter((s) => s.right && points.some(([, v]) => Number.isFinite(v[s.key]) && v[s.key] > 0));
    el.dataset.rightAxis = right.map((s) => s.label).join(', ');
    this.empty.hidden = points.length > 0;
    const data = this.columns();
    if (!this.plot) {
      this.plot = new uPlot(this.options(), data, el);
      this.version = palette.version;
      drawKeys(this.plot, this.series);
      this.resized = true;
    } else {
      this.plot.setData(data);
    }
    this.series.forEach((s, i) => {        // a right-hand series (the learning rate) shows once it has a value
      if (s.right && this.plot.series[i + 1].show !== right.includes(s)) this.plot.setSeries(i + 1, { show: right.includes(s) });
    });
    if (this.resized) { this.resized = false; this.plot.setSize(this.fit()); }
  }

  /** The plot's size: the element's width, and its height when the page sizes it, else in proportion. */
  fit() {
    const width = this.el.clientWidth;
    const legend = this.plot ? this.plot.root.querySelector('.u-legend') : null;
    const fill = getComputedStyle(this.el).getPropertyValue('--chart-fill').trim() === '1';
    const height = fill ? this.el.clientHeight - (legend ? legend.offsetHeight : 0) : width * this.aspect;
    return { width, height: Math.max(80, Math.round(height)) };
  }

  /** uPlot's columns: x, then one per series; null where a value is missing (or not positive on a log scale). */
  columns() {
    const ok = (s, v) => Number.isFinite(v) && (!this.log || s.right || v > 0);
    return [this.points.map(([x]) => x),
      ...this.series.map((s) => this.points.map(([, v]) => (ok(s, v[s.key]) ? v[s.key] : null)))];
  }

  options() {
    const left = this.format || fmt;
    const text = (f) => (u, ticks) => ticks.map((v) => (v == null ? '' : f(v)));
    const grid = colour('grid');
    const axis = { font: FONT, labelFont: FONT, stroke: colour('ink'), labelSize: 16, labelGap: 2,
      grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1, size: 4 } };
    return {
      width: this.el.clientWidth, height: Math.round(this.el.clientWidth * this.aspect),
      scales: {
        x: { time: false },
        y: this.log ? { distr: 3, log: 10 } : { range: this.yRange ? () => this.yRange : (u, lo, hi) => [0, niceTop(hi)] },
        right: { range: (u, lo, hi) => (hi == null ? [null, null] : [0, niceTop(hi)]) },   // no values: no axis
      },
      axes: [
        { ...axis, label: 'examples seen', size: 22, values: text((v) => Math.round(v).toLocaleString('en-US')) },
        { ...axis, label: this.yLabel + (this.log ? ' (log)' : ''), values: text(left), size: labelWidth },
        ...(this.series.some((s) => s.right)
          ? [{ ...axis, scale: 'right', side: 1, grid: { show: false }, values: text(this.rightFormat), size: labelWidth }] : []),
      ],
      series: [
        { label: 'examples', value: (u, v) => (v == null ? '—' : Math.round(v).toLocaleString('en-US')) },
        ...this.series.map((s) => ({ label: s.label, stroke: colour(s.colour), width: LINE, scale: s.right ? 'right' : 'y',
          dash: s.dash, spanGaps: false, points: { show: false },
          value: (u, v) => (v == null ? '—' : s.right ? this.rightFormat(v) : left(v)) })),
      ],
      legend: { live: true, markers: { width: 0 } },     // drawKeys draws them
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      hooks: { draw: [(u) => drawMarks(u, this.marks, colour('bad'))] },
    };
  }
}

// Width of a vertical axis in CSS px: its widest tick label and the tick and gap beside it (uPlot
// adds the title's room, labelSize), so labels never run into the title.
const measure = document.createElement('canvas').getContext('2d');
function labelWidth(u, values) {
  if (!values) return 40;
  measure.font = FONT;
  return Math.ceil(Math.max(0, ...values.map((v) => measure.measureText(String(v ?? '')).width))) + 12;
}

// Labelled dashed vertical lines (a divergence, a rollback), on staggered rows so close ones stay legible.
function drawMarks(u, marks, ink) {
  const { ctx } = u;
  const [x0, x1] = [u.scales.x.min, u.scales.x.max];
  const { top, height, left, width } = u.bbox;
  ctx.save();
  ctx.strokeStyle = ink; ctx.fillStyle = ink; ctx.setLineDash([4, 3]); ctx.lineWidth = devicePixelRatio;
  ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`; ctx.textAlign = 'left';
  marks.forEach(([x, text], i) => {
    if (!(x >= x0 && x <= x1)) return;
    const px = Math.round(u.valToPos(x, 'x', true));
    ctx.beginPath(); ctx.moveTo(px, top); ctx.lineTo(px, top + height); ctx.stroke();
    const w = ctx.measureText(text).width;
    ctx.fillText(text, Math.min(px + 3 * devicePixelRatio, left + width - w), top + (10 + 12 * (i % 3)) * devicePixelRatio);
  });
  ctx.restore();
}

// The legend's key of each series: a short stretch of its line, in its colour and dash, as drawn.
const KEY = { w: 28, h: 10 };
function drawKeys(u, series) {
  const dpr = Math.max(1, Math.ceil(window.devicePixelRatio || 1));
  u.root.querySelectorAll('.u-legend .u-series').forEach((row, i) => {
    const s = series[i - 1], marker = row.querySelector('.u-marker');
    if (!s || !marker) return;
    const c = Object.assign(document.createElement('canvas'), { width: KEY.w * dpr, height: KEY.h * dpr });
    c.style.width = `${KEY.w}px`; c.style.height = `${KEY.h}px`;
    c.dataset.dash = s.dash.join(',');
    const g = c.getContext('2d');
    g.scale(dpr, dpr);
    g.strokeStyle = colour(s.colour); g.lineWidth = LINE + 0.5; g.setLineDash(s.dash);
    g.beginPath(); g.moveTo(0, KEY.h / 2); g.lineTo(KEY.w, KEY.h / 2); g.stroke();
    marker.replaceChildren(c);
  });
}

// The top of a linear scale from 0: a little above the largest value, at a round number.
function niceTop(hi) {
  if (!Number.isFinite(hi) || hi <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(hi * 1.05));
  return Math.ceil((hi * 1.05) / (step / 2)) * (step / 2);
}

// A value as few digits as tell it apart: 5924, 12.3, 0.231, 0.00042.
function fmt(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  return Number(v.toPrecision(3)).toString();
}

function mean([xa, a], [xb, b]) {
  const out = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const va = a[k], vb = b[k];
    out[k] = Number.isFinite(va) && Number.isFinite(vb) ? (va + vb) / 2 : (Number.isFinite(vb) ? vb : va);
  }
  return [xb, out];
}
