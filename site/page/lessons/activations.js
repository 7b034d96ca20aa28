// Lesson: activation functions. The seven pycore has, each drawn with its derivative, and a race: the
// network being trained, copied once per activation (same weights, same batches), trained side by
// side, with the loss curves and the test accuracy compared.
import { Chart } from '../views/chart.js';
import { colour } from '../theme.js';
import { el } from '../views/viewstate.js';
import { message } from '../panels/message.js';
import { ELEMENTWISE, num, numberInput, para, scrolling } from './util.js';

export const id = 'activations';
export const title = 'Activation functions, raced';
export const question = 'Which activation function should I use: ReLU, sigmoid, tanh, ELU…? What changes when I swap it?';

// pycore's names and defaults (lrelu's alpha 0.01, elu's 1); each is drawn in the theme's series
// colour of its place, as the race's chart draws it.
const FUNCTIONS = [
  ['relu', 'ReLU', 0], ['lrelu', 'leaky ReLU', 0.01], ['elu', 'ELU', 1], ['selu', 'SELU', 0],
  ['softplus', 'softplus', 0], ['sigmoid', 'sigmoid', 0], ['tanh', 'tanh', 0],
];
const SAMPLES = [-3, -1, -0.5, 0.5, 1, 3];     // where each curve's values are listed (and tested)
const NOTES = {
  relu: 'slope 1 for v > 0, 0 below: cheap, no saturation on the positive side; a unit whose inputs stay negative stops learning',
  lrelu: 'a small slope (0.01) below 0, so no unit is ever without a gradient',
  elu: 'smooth, and negative down to −α, which pulls the mean activation toward 0',
  selu: 'ELU scaled (λ ≈ 1.05, α ≈ 1.67) so that activations keep mean 0 and variance 1 from layer to layer',
  softplus: 'a smooth ReLU; its slope is the sigmoid',
  sigmoid: 'squashes to (0, 1); its slope is at most 0.25 and nearly 0 for |v| > 4: gradients shrink at every layer',
  tanh: 'squashes to (−1, 1), centred on 0; slope 1 at 0 but it saturates like the sigmoid',
};

// A function (solid) and its slope (dashed) from -4 to 4, on `c` (made when not given).
function plot(name, alpha, ink, c = null) {
  const W = 150, H = 110;
  c = c || el('canvas', { width: W * 2, height: H * 2, class: 'lesson-plot', 'data-fn': name });
  c.style.width = `${W}px`;
  const g = c.getContext('2d');
  g.setTransform(2, 0, 0, 2, 0, 0);
  g.clearRect(0, 0, W, H);
  const X = (v) => ((v + 4) / 8) * W, Y = (v) => H / 2 - (v / 4) * (H / 2) * 1.6;
  g.strokeStyle = colour('grid'); g.lineWidth = 1; g.setLineDash([]);
  g.beginPath(); g.moveTo(0, Y(0)); g.lineTo(W, Y(0)); g.moveTo(X(0), 0); g.lineTo(X(0), H); g.stroke();
  const E = ELEMENTWISE[name];
  for (const [which, dash] of [['f', []], ['d', [4, 3]]]) {
    g.strokeStyle = ink; g.lineWidth = 1.6; g.setLineDash(dash);
    g.beginPath();
    for (let i = 0; i <= 160; i++) {
      const v = -4 + i / 20, o = E.f(v, alpha), y = which === 'f' ? o : E.d(v, o, alpha);
      if (i) g.lineTo(X(v), Y(y)); else g.moveTo(X(v), Y(y));
    }
    g.stroke();
  }
  return c;
}

export function mount(root, ctx) {
  root.append(para('Between the layers that weigh their inputs sits a function applied to every value on its own. Without it, '
    + 'conv and fc layers stacked together would still be one linear map. Each curve below is drawn solid, ', 'its slope dashed',
    ': backpropagation multiplies every gradient by that slope, so where it is near 0 the layers below learn little.'));
  const grid = el('div', { class: 'lesson-plots' });
  const plots = FUNCTIONS.map(([name, label, alpha], i) => {
    const E = ELEMENTWISE[name];
    const fig = el('figure', { 'data-activation': name });
    const values = SAMPLES.map((v) => { const o = E.f(v, alpha); return [v, o, E.d(v, o, alpha)]; });
    fig.dataset.samples = JSON.stringify(values);
    const c = plot(name, alpha, colour(`series-${i + 1}`));
    fig.append(c, el('figcaption', {}, `${label}: ${E.text}`), el('p', { class: 'note' }, NOTES[name]));
    grid.append(fig);
    return c;
  });
  const redraw = () => FUNCTIONS.forEach(([name, , alpha], i) => plot(name, alpha, colour(`series-${i + 1}`), plots[i]));
  root.append(grid);
  root.append(para('Which one learns fastest here? ', 'Race them', ': the network being trained is copied seven times, '
    + 'each copy with another activation in place of its own, and all seven train on the same batches from the same start, '
    + 'with the run\'s trainer. The run itself waits meanwhile.'));
  const controls = el('div', { class: 'lesson-row' });
  const examples = numberInput('examples each', { min: 1000, max: 20000, step: 1000, value: 4000, name: 'lesson-race-examples' }, () => {});
  const start = el('button', { type: 'button', 'data-control': 'lesson-race' }, 'Race the seven');
  const stop = el('button', { type: 'button', 'data-control': 'lesson-race-stop', hidden: '' }, 'Stop');
  const status = el('span', { class: 'note', 'data-stat': 'race-status' });
  controls.append(examples.box, start, stop, status);
  const note = el('p', { class: 'message', 'data-message': 'lesson' });
  const canvas = el('div', { class: 'lesson-chart chart', 'data-chart': 'race', role: 'img', 'aria-label': 'Loss of each copy against examples seen' });
  const results = el('div', { 'data-role': 'race-results' });
  root.append(controls, note, canvas, results);
  const chart = new Chart(canvas, { yLabel: 'loss (mean over 200 examples)', aspect: 300 / 720, series: FUNCTIONS.map(([key, label]) => ({ key, label })) });
  chart.draw();

  start.addEventListener('click', async () => {
    try {
      await ctx.request('race', { kind: 'activations', examples: examples.value });
      chart.clear(); results.replaceChildren(); message(note, '');
      start.disabled = true; stop.hidden = false;
      status.textContent = 'starting…';
    } catch (err) { message(note, err.message); }
  });
  stop.addEventListener('click', () => ctx.request('race_stop').catch(() => {}));

  function finish(r) {
    const rows = FUNCTIONS.map(([key, label]) => {
      const curve = r.curves[key] || [], last = curve.length ? curve[curve.length - 1][1] : null;
      return { key, label, last, accuracy: r.result[key] };
    }).sort((a, b) => (b.accuracy ?? -1) - (a.accuracy ?? -1));
    const t = el('table', { class: 'lesson-table' });
    t.append(el('caption', {}, `after ${num(r.examples)} examples each; accuracy on the first ${num(r.test_images)} test images`));
    const head = el('tr');
    for (const h of ['activation', 'last loss', 'test accuracy']) head.append(el('th', {}, h));
    t.append(head);
    for (const row of rows) {
      const tr = el('tr', { 'data-activation': row.key, 'data-loss': String(row.last), 'data-accuracy': String(row.accuracy) });
      for (const x of [row.label, row.last === null ? 'diverged' : row.last.toFixed(3), row.accuracy === null ? '—' : `${(100 * row.accuracy).toFixed(1)}%`]) tr.append(el('td', {}, x));
      t.append(tr);
    }
    results.replaceChildren(scrolling(t));
  }

  return {
    onTheme: redraw,
    onRace(msg) {
      if (msg.progress && msg.progress.kind !== 'activations') return;
      if (msg.error || msg.stopped) {
        start.disabled = false; stop.hidden = true;
        status.textContent = msg.error ? '' : 'stopped';
        if (msg.error) message(note, msg.error);
        return;
      }
      const r = msg.progress;
      chart.load(r.curves.relu.map(([x], i) => [x, Object.fromEntries(FUNCTIONS.map(([key]) => [key, r.curves[key][i][1] ?? NaN]))]));
      status.textContent = `${num(r.done)} of ${num(r.examples)} examples each`;
      status.dataset.done = r.done;
      if (r.result) { start.disabled = false; stop.hidden = true; status.textContent += ': done'; finish(r); }
    },
    frame() { chart.draw(); },
  };
}
