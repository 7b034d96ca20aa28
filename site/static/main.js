// Page wiring: starts the worker, shows loading progress and errors, and draws what it reports
// once per animation frame. The main thread never computes anything heavy.
import { LossChart } from './chart.js';
import { buildLayers, drawSnapshot } from './draw.js';

// Loading with no news from the worker for this long is an error; ?stall=SECONDS changes it.
const STALL_MS = 1000 * (Number(new URLSearchParams(location.search).get('stall')) || 30);
const SNAPSHOT_MS = 100;      // ask for a layer snapshot at most this often (10 per second)
const CHART_EVERY = 200;      // examples between loss chart points

const $ = (id) => document.getElementById(id);
const root = document.documentElement;
const chart = new LossChart($('loss-chart'));
let views = [];
let latestStats = null, statsDirty = false;
let latestSnapshot = null, snapshotPending = false, lastSnapshotAsk = 0;
let lastNews = performance.now();
let nextChartAt = 0, chartLoss = 0, chartCount = 0;
let loadingStage = 'starting';

function setState(state) {
  if (root.dataset.state === 'error') return;      // an error stays on screen
  root.dataset.state = state;
  $('state-label').textContent = state;
  $('pause').disabled = state !== 'training' && state !== 'paused';
  $('pause').textContent = state === 'paused' ? 'Resume' : 'Pause';
}

function showError(message, detail = '') {
  setState('error');
  root.dataset.state = 'error';
  $('state-label').textContent = 'error';
  $('pause').disabled = true;
  $('error').hidden = false;
  $('error-message').textContent = message;
  $('error-detail').textContent = detail;
}

const formatters = {
  examples: (s) => s.examples.toLocaleString('en-US'),
  'fwd-ms': (s) => s.fwd_ms.toFixed(3),
  'bwd-ms': (s) => s.bwd_ms.toFixed(3),
  loss: (s) => s.loss.toFixed(4),
  'l2-loss': (s) => s.l2_loss.toFixed(4),
  'train-accuracy': (s) => pct(s.train_accuracy),
  'validation-accuracy': (s) => pct(s.validation_accuracy),
  'test-accuracy': (s) => pct(s.test_accuracy),
};
const pct = (v) => (v === undefined || v === null ? '—' : (100 * v).toFixed(1));
const statCells = [...document.querySelectorAll('[data-stat]')];

function drawStats() {
  const s = latestStats;
  for (const cell of statCells) cell.textContent = formatters[cell.dataset.stat](s);
  $('data-note').textContent = s.train_loaded < trainCount || s.test_loaded < testCount
    ? `Loaded so far: ${s.train_loaded.toLocaleString('en-US')} of ${trainCount.toLocaleString('en-US')} training and `
      + `${s.test_loaded.toLocaleString('en-US')} of ${testCount.toLocaleString('en-US')} test images.`
    : `Epochs: ${s.epochs.toFixed(2)}. Accuracies are percentages.`;
}

let trainCount = 0, testCount = 0;
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });

worker.onmessage = (e) => {
  const msg = e.data;
  lastNews = performance.now();
  switch (msg.type) {
    case 'progress':
      loadingStage = msg.stage;
      $('loading-stage').textContent = msg.stage[0].toUpperCase() + msg.stage.slice(1) + '…';
      $('loading-bytes').textContent = `${(msg.bytes / 1e6).toFixed(1)} MB downloaded`;
      $('loading-progress').value = Math.min(msg.bytes, $('loading-progress').max);
      break;
    case 'ready':
      trainCount = msg.trainCount; testCount = msg.testCount;
      views = buildLayers($('layers'), msg.layers);
      break;
    case 'state':
      if (root.dataset.state !== msg.state) setState(msg.state);
      break;
    case 'stats': {
      const s = msg.stats;
      latestStats = s; statsDirty = true;
      chartLoss += s.loss; chartCount += 1;
      if (s.examples >= nextChartAt) {
        chart.add(s.examples, chartLoss / chartCount);
        chartLoss = chartCount = 0;
        nextChartAt = s.examples + CHART_EVERY;
      }
      break;
    }
    case 'snapshot':
      latestSnapshot = msg.snapshot; snapshotPending = false;
      break;
    case 'error':
      showError(msg.message, msg.detail);
      break;
    default:
      break;
  }
};
worker.onerror = (e) => { e.preventDefault(); showError(`the training worker failed to start: ${e.message || 'script error'}`); };
worker.onmessageerror = () => showError('a message from the training worker could not be read');

function frame(now) {
  if (root.dataset.state === 'loading' && now - lastNews > STALL_MS) {
    showError(`loading stalled: nothing happened for ${STALL_MS / 1000} s while ${loadingStage}.`,
      'Check that the server is still running and reachable, then reload the page.');
  }
  if (statsDirty) { drawStats(); statsDirty = false; }
  chart.draw();
  if (latestSnapshot) { drawSnapshot(views, latestSnapshot); latestSnapshot = null; }
  if (root.dataset.state === 'training' && !snapshotPending && now - lastSnapshotAsk >= SNAPSHOT_MS) {
    worker.postMessage({ type: 'snapshot' });
    snapshotPending = true; lastSnapshotAsk = now;
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

$('pause').addEventListener('click', () => {
  const resume = root.dataset.state === 'paused';
  worker.postMessage({ type: resume ? 'resume' : 'pause' });
  setState(resume ? 'training' : 'paused');
});

window.addEventListener('error', (e) => showError(`the page failed: ${e.message}`));
window.addEventListener('unhandledrejection', (e) => showError(`the page failed: ${e.reason && e.reason.message || e.reason}`));
