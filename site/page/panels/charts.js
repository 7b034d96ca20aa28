// The loss and accuracy charts. Their points come from the run (it keeps the history, so every
// embed of a run and every reload shows the whole of it).
import { Chart } from '../views/chart.js';
import { chartData } from '../views/chartdata.js';

const CHART_MS = 250;      // a chart redraws at most this often, times the device's slowness (pace.js)

export function mount(root, ctx) {
  // Each series has a colour and a dash of its own (chart.js): solid, dashed, dotted.
  const loss = new Chart(root.querySelector('[data-chart="loss"]'), { yLabel: 'loss', series: [
    { key: 'loss', label: 'classification loss' }, { key: 'total', label: 'total (with weight decay)' },
    { key: 'rate', label: 'learning rate (right)', right: true }] });
  const accuracy = new Chart(root.querySelector('[data-chart="accuracy"]'), { yLabel: 'accuracy %', yRange: [0, 100],
    format: (v) => v.toFixed(0), series: [{ key: 'train', label: 'training' }, { key: 'validation', label: 'validation' },
      { key: 'test', label: 'test' }] });
  let drawn = -Infinity, next = 0;
  const data = chartData([{ chart: loss, title: 'Loss' }, { chart: accuracy, title: 'Accuracy' }], root.querySelector('.charts'));
  // Points are [examples, {series: value}]; a value not measured yet is null (the chart skips it).
  function load(charts) {
    loss.load(charts && charts.loss, charts && charts.marks);
    accuracy.load(charts && charts.accuracy, charts && charts.marks);
  }
  root.querySelector('[data-control="clear-charts"]').addEventListener('click', () => ctx.request('clear_charts').catch(() => {}));
  // A log scale keeps a divergence's spike from flattening the rest of the curve.
  const logLoss = root.querySelector('[data-control="log-loss"]');
  logLoss.checked = ctx.url.logloss;
  loss.setLog(logLoss.checked);
  logLoss.addEventListener('change', () => { loss.setLog(logLoss.checked); ctx.setUrl({ logloss: logLoss.checked }); });
  return {
    onNet(net, charts) { load(charts); },
    onCharts(charts) { load(charts); },
    onStats(s) {
      if (!s.chart) return;
      loss.add(...s.chart.loss);
      accuracy.add(...s.chart.accuracy);
    },
    // One chart per frame, and then a rest: a slow device redraws them less often.
    frame(now) {
      data.frame();
      if (now - drawn < CHART_MS * ctx.slowness()) return;
      [loss, accuracy][next].draw();
      next = 1 - next;
      if (!next) drawn = now;
    },
  };
}
