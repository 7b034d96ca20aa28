// Page wiring: starts the worker, shows loading progress and errors, and draws what it reports
// once per animation frame. The main thread never computes anything heavy.
import { Chart } from './chart.js';
import { setupControls } from './controls.js';
import { buildNormalizationControl, drawSnapshot, rowCount, setClassNames } from './draw.js';
import { buildLayers, buildSome } from './layerbox.js';
import { createDrawPad, drawDigit } from './drawpad.js';
import { renderBars, renderCards, renderConfusion, renderGallery } from './predictions.js';

const params = new URLSearchParams(location.search);
// Loading with no news from the worker for this long is an error; ?stall=SECONDS changes it.
const STALL_MS = 1000 * (Number(params.get('stall')) || 30);
const SNAPSHOT_MS = 70;       // ask for a layer snapshot this often; the round trip makes it ~12 per second
const CARDS_MS = 3000;        // refresh the test prediction cards this often
const EVALUATE_MS = 60000;    // re-score the whole test set this often while training (costs ~5% of training)
const CHART_EVERY = 500;      // examples between chart points
const FRAME_BUDGET_MS = 3;    // layer-view painting per animation frame (8 ms still gave 50-80 ms tasks)
const SHOWN_PER_FRAME = 16;   // canvases painted for the first time per frame: each costs the browser
                              // ~1 ms (compositor set-up) outside the script's own time
const BUILD_BUDGET_MS = 2;    // layer-view building per frame: about one row, as the page's layout and
                              // compositing of new canvases cost several times the script's own time

const $ = (id) => document.getElementById(id);
const q = (name) => document.querySelector(`[data-control="${name}"]`);
const root = document.documentElement;

const lossChart = new Chart($('loss-chart'), { yLabel: 'loss', series: [
  { key: 'loss', label: 'classification loss', color: '#1f6feb' },
  { key: 'total', label: 'total (with weight decay)', color: '#bf8700' }] });
const accChart = new Chart($('accuracy-chart'), { yLabel: 'accuracy %', yRange: [0, 100], format: (v) => v.toFixed(0),
  series: [{ key: 'train', label: 'training', color: '#1f6feb' }, { key: 'validation', label: 'validation', color: '#2da44e' },
    { key: 'test', label: 'test', color: '#cf222e' }] });

let views = [];
let classes = [];
let latestStats = null, statsDirty = false, latestSnapshot = null;
let painting = null, paintFrom = 0, painted = 0, lastPainted = null;   // a snapshot painted over several frames
let snapshotPending = false, lastSnapshotAsk = 0, lastCards = -Infinity, lastEvaluation = performance.now();
let evaluationRunning = false;
let lastNews = performance.now(), loadingStage = 'starting';
let chartFrom = 0, chartSum = { loss: 0, total: 0, n: 0 };
const rate = [];              // [time, examples] for examples per second over the last 2 s

function setState(state) {
  if (root.dataset.state === 'error') return;      // an error stays on screen
  root.dataset.state = state;
  $('state-label').textContent = state;
  const live = state === 'training' || state === 'paused';
  for (const name of ['pause', 'reset']) q(name).disabled = !live;
  q('step').disabled = state !== 'paused';
  q('pause').textContent = state === 'paused' ? 'Resume' : 'Pause';
}

function showError(message, detail = '') {
  setState('error');
  root.dataset.state = 'error';
  $('state-label').textContent = 'error';
  for (const name of ['pause', 'step', 'reset']) q(name).disabled = true;
  $('error').hidden = false;
  $('error-message').textContent = message;
  $('error-detail').textContent = detail;
}

// index.html started the worker (a page without that script gets one here).
const { worker, early } = window.liveCnnWorker
  || { worker: new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }), early: [] };
let nextId = 1;
const pending = new Map();
/** Send a request to the worker; resolves with its answer or rejects with its error message. */
function request(type, payload = {}) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ type, id, ...payload });
  });
}

const controls = setupControls({
  request,
  onNet: showNet,
  pageState: () => ({ charts: { loss: lossChart.toJSON(), accuracy: accChart.toJSON() } }),
  restorePage: (page) => {
    lossChart.load(page && page.charts && page.charts.loss);
    accChart.load(page && page.charts && page.charts.accuracy);
  },
});

function showNet(net, presets, datasets) {
  classes = net.classes;
  setClassNames(classes);
  views = buildLayers($('layers'), net.layers);
  painting = lastPainted = null; paintFrom = 0; painted = 0;
  controls.show(net, presets, datasets);
  $('param-count').textContent = `${net.param_count.toLocaleString('en-US')} parameters`;
  latestStats = null;
  for (const cell of statCells) cell.textContent = '—';
  datasetCounts = { train: net.train_count, test: net.test_count };
  if (net.examples === 0) { lossChart.clear(); accChart.clear(); }
  chartFrom = net.examples; rate.length = 0;
  lastCards = -Infinity;
  requestSnapshot(true);
}

const pct = (v) => (v === undefined || v === null ? '—' : (100 * v).toFixed(1));
const formatters = {
  examples: (s) => s.examples.toLocaleString('en-US'),
  epochs: (s) => s.epochs.toFixed(2),
  'examples-per-s': () => examplesPerSecond(),
  'fwd-ms': (s) => s.fwd_ms.toFixed(3),
  'bwd-ms': (s) => s.bwd_ms.toFixed(3),
  loss: (s) => s.loss.toFixed(4),
  'l2-loss': (s) => s.l2_loss.toFixed(4),
  'train-accuracy': (s) => pct(s.train_accuracy),
  'validation-accuracy': (s) => pct(s.validation_accuracy),
  'test-accuracy': (s) => pct(s.test_accuracy),
};
const statCells = [...document.querySelectorAll('#stats [data-stat]')];

function examplesPerSecond() {
  if (rate.length < 2) return '—';
  const [t0, e0] = rate[0], [t1, e1] = rate[rate.length - 1];
  return t1 > t0 ? Math.round((1000 * (e1 - e0)) / (t1 - t0)).toLocaleString('en-US') : '—';
}

function drawStats() {
  const s = latestStats;
  for (const cell of statCells) cell.textContent = formatters[cell.dataset.stat](s);
  const ds = datasetCounts;
  $('data-note').textContent = s.train_loaded < ds.train || s.test_loaded < ds.test
    ? `Loaded so far: ${s.train_loaded.toLocaleString('en-US')} of ${ds.train.toLocaleString('en-US')} training and `
      + `${s.test_loaded.toLocaleString('en-US')} of ${ds.test.toLocaleString('en-US')} test images.`
    : 'All images loaded. 1/12 of the training images are held out for validation.';
}
let datasetCounts = { train: 0, test: 0 };

function onStats(s) {
  latestStats = s; statsDirty = true;
  const now = performance.now();
  rate.push([now, s.examples]);
  while (rate.length > 2 && now - rate[0][0] > 2000) rate.shift();
  chartSum.loss += s.loss * s.trained; chartSum.total += (s.loss + s.l2_loss + s.l1_loss) * s.trained; chartSum.n += s.trained;
  if (s.examples >= chartFrom + CHART_EVERY) {
    lossChart.add(s.examples, { loss: chartSum.loss / chartSum.n, total: chartSum.total / chartSum.n });
    const p = (v) => (v === undefined || v === null ? NaN : 100 * v);
    accChart.add(s.examples, { train: p(s.train_accuracy), validation: p(s.validation_accuracy), test: p(s.test_accuracy) });
    chartSum = { loss: 0, total: 0, n: 0 };
    chartFrom = s.examples;
  }
}

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
      showNet(msg.net, msg.presets, msg.datasets);
      break;
    case 'state':
      if (root.dataset.state !== msg.state) setState(msg.state);
      break;
    case 'stats':
      onStats(msg.stats);
      break;
    case 'snapshot':
      latestSnapshot = msg.snapshot; snapshotPending = false;
      break;
    case 'evaluation':
      evaluationRunning = false;
      if (msg.error) $('evaluation-note').textContent = msg.error;
      else showEvaluation(msg.result);
      break;
    case 'reply': {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (p) { if (msg.error !== undefined) p.reject(new Error(msg.error)); else p.resolve(msg.ok); }
      break;
    }
    case 'error':
      showError(msg.message, msg.detail);
      break;
    default:
      break;
  }
};
worker.onerror = (e) => { e.preventDefault(); showError(`the training worker failed to start: ${e.message || 'script error'}`); };
worker.onmessageerror = () => showError('a message from the training worker could not be read');
for (const e of early.splice(0)) worker[`on${e.type}`](e);

function requestSnapshot(force = false) {
  if (snapshotPending && !force) return;
  snapshotPending = true; lastSnapshotAsk = performance.now();
  request('snapshot').catch(() => { snapshotPending = false; });
}

// Layer views within a frame budget: first the rows still to build, then the newest snapshot, row
// by row. A newer snapshot that arrives mid-way takes over from the same row and wraps round (so
// no row starves when snapshots come faster than one can be painted whole); a round ends when
// every row shows the same snapshot.
function paintViews(end) {
  const built = buildSome(BUILD_BUDGET_MS);
  if (built === 'busy') return;
  if (built === 'done') { painting = latestSnapshot || painting || lastPainted; latestSnapshot = null; painted = 0; }
  if (latestSnapshot) { painting = latestSnapshot; latestSnapshot = null; painted = 0; }
  const rows = rowCount(views);
  while (painting && rows && performance.now() < end) {
    const next = drawSnapshot(views, painting, paintFrom, end - performance.now(), SHOWN_PER_FRAME);
    painted += next - paintFrom;
    paintFrom = next % rows;
    if (next < rows && painted < rows) break;   // stopped early: the frame's budget is spent
    if (painted >= rows) {
      showFocusPrediction(painting);
      lastPainted = painting; painting = null; painted = 0;
      document.dispatchEvent(new Event('views-painted'));   // every view shows one snapshot (for benchmarks)
    }
  }
}

function frame(now) {
  const state = root.dataset.state;
  if (state === 'loading' && now - lastNews > STALL_MS) {
    showError(`loading stalled: nothing happened for ${STALL_MS / 1000} s while ${loadingStage}.`,
      'Check that the server is still running and reachable, then reload the page.');
  }
  if (statsDirty && latestStats) { drawStats(); statsDirty = false; }
  lossChart.draw(); accChart.draw();
  paintViews(performance.now() + FRAME_BUDGET_MS);
  if (state === 'training') {
    if (now - lastSnapshotAsk >= SNAPSHOT_MS) requestSnapshot();
    if (now - lastCards >= CARDS_MS && latestStats && latestStats.test_loaded) refreshCards(now);
    if (now - lastEvaluation >= EVALUATE_MS && !evaluationRunning) evaluate();
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

// Pause, step, and the test-set views.
q('pause').addEventListener('click', () => {
  const resume = root.dataset.state === 'paused';
  request(resume ? 'resume' : 'pause');
  setState(resume ? 'training' : 'paused');
});
q('step').addEventListener('click', () => request('step'));
q('clear-charts').addEventListener('click', () => { lossChart.clear(); accChart.clear(); });
buildNormalizationControl($('normalization'));
$('normalization').addEventListener('change', () => requestSnapshot(true));

async function refreshCards(now) {
  lastCards = now;
  try { renderCards($('cards'), await request('cards', { count: 12 }), classes, pick); } catch (err) { /* reported below */ }
}

function evaluate() {
  evaluationRunning = true; lastEvaluation = performance.now();
  $('evaluation-note').textContent = 'Scoring every loaded test image…';
  request('evaluate').catch((err) => { evaluationRunning = false; $('evaluation-note').textContent = err.message; });
}
q('evaluate').addEventListener('click', evaluate);

function showEvaluation(result) {
  renderConfusion($('confusion'), result, showCell);
  renderGallery($('mistakes'), result.mistakes, result.classes, pick);
  $('evaluation-note').textContent = 'Recomputed every minute while training. Click a cell to list its images; '
    + 'click any image to show it in the network view.';
}

async function showCell(t, p) {
  try {
    const cell = await request('cell', { true: t, pred: p });
    renderGallery($('cell-list'), cell.images, classes, pick,
      `${cell.total} test images of class ${classes[t]} predicted as ${classes[p]}`
      + (cell.total > cell.images.length ? ` (first ${cell.images.length} shown)` : ''));
  } catch (err) {
    $('cell-list').textContent = err.message;
  }
}

// The example shown in the network view: the latest training one, a test image, or the user's.
async function focus(payload, label) {
  const f = await request('focus', payload);
  $('focus-label').textContent = label || f.description;
  q('follow-training').hidden = payload.kind === 'training';
  return f;
}
function pick(index) {
  focus({ kind: 'test', index }).then((f) => {
    $('focus-label').textContent = `test image #${index} (class ${classes[f.label]})`;
    document.getElementById('network').scrollIntoView({ behavior: 'smooth' });
  }).catch((err) => { $('focus-label').textContent = err.message; });
}
q('follow-training').addEventListener('click', () => focus({ kind: 'training' }));

function showFocusPrediction(snap) {
  if (snap.source === 'your image' && snap.probs) renderBars($('custom-prediction'), Array.from(snap.probs), classes);
}
createDrawPad($('pad'), async (img) => {
  try {
    const f = await focus({ kind: 'custom', pixels: img.pixels, width: img.width, height: img.height }, 'your image');
    drawDigit($('custom-preview'), f.image);
    $('custom-message').textContent = '';
  } catch (err) {
    $('custom-message').textContent = err.message;
  }
}, (text) => { $('custom-message').textContent = text; });

window.addEventListener('error', (e) => showError(`the page failed: ${e.message}`));
window.addEventListener('unhandledrejection', (e) => showError(`the page failed: ${e.reason && e.reason.message || e.reason}`));
