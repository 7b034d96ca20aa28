// The statistics panel: examples, speed, losses and moving accuracies, and what data has arrived.
import { grouped } from '../views/viewstate.js';

const pct = (v) => (v === undefined || v === null ? '—' : (100 * v).toFixed(1));

const SHOW_MS = 200;       // the numbers change at most this often, times the device's slowness (pace.js)

export function mount(root, ctx) {
  const cells = [...root.querySelectorAll('[data-stat]')];
  const note = root.querySelector('[data-role="data-note"]');
  const rate = [];              // [time, examples, helpers' busy ms] for the rates over the last 2 s
  let latest = null, dirty = false, counts = { train: 0, test: 0 }, shownAt = -Infinity;
  // Column k's change per ms over the window: null until two samples span some time.
  function perMs(k) {
    if (rate.length < 2) return null;
    const a = rate[0], b = rate[rate.length - 1];
    return b[0] > a[0] && b[k] >= a[k] ? (b[k] - a[k]) / (b[0] - a[0]) : null;
  }
  function examplesPerSecond() {
    const r = perMs(1);
    return r === null ? '—' : grouped(Math.round(1000 * r));
  }
  // The helpers' computing time over the window, as a share of their time (s.helping of them up).
  function helpersBusy(s) {
    const r = s.helping > 0 ? perMs(2) : null;
    return r === null ? '—' : Math.min(100, (100 * r) / s.helping).toFixed(0);
  }
  const busyCell = root.querySelector('[data-stat="helpers-busy"]');
  const formatters = {
    examples: (s) => grouped(s.examples),
    epochs: (s) => s.epochs.toFixed(2),
    'examples-per-s': () => examplesPerSecond(),
    // workers in all; while helpers start (or after one failed) this one trains their pieces
    workers: (s) => (s.workers > 1 && s.helping < s.workers - 1 ? `${s.workers} (${s.helping + 1} up)` : String(s.workers)),
    'helpers-busy': (s) => helpersBusy(s),
    'fwd-ms': (s) => s.fwd_ms.toFixed(3),
    'bwd-ms': (s) => s.bwd_ms.toFixed(3),
    loss: (s) => s.loss.toFixed(4),
    'l2-loss': (s) => s.l2_loss.toFixed(4),
    'train-accuracy': (s) => pct(s.train_accuracy),
    'validation-accuracy': (s) => pct(s.validation_accuracy),
    'test-accuracy': (s) => pct(s.test_accuracy),
  };
  return {
    onNet(net) {
      latest = null; rate.length = 0;
      counts = { train: net.train_count, test: net.test_count };
      // A loaded or restored run has trained already: its count shows before it trains again.
      for (const cell of cells) cell.textContent = cell.dataset.stat === 'examples' && net.examples ? net.examples.toLocaleString('en-US') : '—';
    },
    onStats(s) {
      latest = s; dirty = true;
      const now = performance.now();
      rate.push([now, s.examples, s.helper_busy_ms || 0]);
      while (rate.length > 2 && now - rate[0][0] > 2000) rate.shift();
    },
    onState(state) { if (state !== 'training') rate.length = 0; },
    frame(now) {
      if (!dirty || !latest || now - shownAt < SHOW_MS * ctx.slowness()) return;
      dirty = false; shownAt = now;
      for (const cell of cells) cell.textContent = formatters[cell.dataset.stat](latest);
      if (busyCell) busyCell.dataset.busyMs = latest.helper_busy_ms || 0;   // the total, for benchmarks
      if (!note) return;
      const s = latest, n = grouped;
      note.textContent = s.train_loaded < counts.train || s.test_loaded < counts.test
        ? `Loaded so far: ${n(s.train_loaded)} of ${n(counts.train)} training and ${n(s.test_loaded)} of ${n(counts.test)} test images.`
        : 'All images loaded. 1/12 of the training images are held out for validation.';
    },
  };
}
