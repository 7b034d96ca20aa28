// A chart's text alternative: a label that says what it shows and where it stands now, and its
// values as a table, made when the visitor opens it ("Values as a table") and kept up to date while
// it is open.

import { grouped } from './viewstate.js';

const ROWS = 40;            // table rows: evenly spaced points, the last one always among them
const EVERY_MS = 2000;      // the label and an open table follow the chart this often

const num = (v) => (v == null || !Number.isFinite(v) ? '—' : Math.abs(v) >= 1000 ? grouped(Math.round(v))
  : Number(v.toPrecision(3)).toString());

/** charts: [{chart (a views/chart.js Chart), title ("Loss")}]; after: the element the tables follow.
 * -> {frame()} to call once a frame. */
export function chartData(charts, after) {
  const details = document.createElement('details');
  details.className = 'chart-data';
  details.dataset.role = 'chart-data';
  const summary = document.createElement('summary');
  summary.textContent = 'Values as tables';
  const boxes = charts.map(() => Object.assign(document.createElement('div'), { className: 'table-scroll' }));
  details.append(summary, ...boxes);
  after.after(details);
  details.addEventListener('toggle', () => { if (details.open) charts.forEach((c, i) => table(c, boxes[i])); });
  let last = -Infinity;
  const shown = new Map();         // chart -> the last point its table shows

  function label({ chart, title }) {
    const { points, series } = chart;
    if (!points.length) return `${title} against examples seen: no points yet`;
    const [x, v] = points[points.length - 1];
    const now = series.filter((s) => Number.isFinite(v[s.key])).map((s) => `${s.label} ${num(v[s.key])}`).join(', ');
    return `${title} against examples seen: ${points.length} points up to ${num(x)} examples; at the last, ${now || 'no value'}`;
  }

  function table({ chart, title }, box) {
    const { points, series } = chart;
    shown.set(chart, points[points.length - 1]);
    const t = document.createElement('table');
    t.createCaption().textContent = points.length > ROWS ? `${title}: ${ROWS} of ${points.length} points, evenly spaced, with the last`
      : `${title}: ${points.length ? 'every point' : 'no points yet'}`;
    const head = t.createTHead().insertRow();
    for (const text of ['examples seen', ...series.map((s) => s.label)]) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = text;
      head.append(th);
    }
    const body = t.createTBody();
    const step = Math.max(1, (points.length - 1) / (ROWS - 1));
    const picked = new Set();
    for (let i = 0; i < Math.min(ROWS, points.length); i++) picked.add(Math.round(i * step));
    if (points.length) picked.add(points.length - 1);
    for (const i of [...picked].sort((a, b) => a - b)) {
      const [x, v] = points[i];
      const tr = body.insertRow();
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = num(x);
      tr.append(th);
      for (const s of series) tr.insertCell().textContent = num(v[s.key]);
    }
    box.replaceChildren(t);
  }

  return {
    frame() {
      const now = performance.now();
      if (now - last < EVERY_MS) return;
      last = now;
      charts.forEach((c, i) => {
        c.chart.el.setAttribute('aria-label', label(c));
        if (details.open && shown.get(c.chart) !== c.chart.points[c.chart.points.length - 1]) table(c, boxes[i]);
      });
    },
  };
}
