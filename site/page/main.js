// Page wiring: reads the URL state, mounts the panels it names, connects them to the run, and
// draws once per animation frame while the page can be seen. The only module that knows every panel.
import { frameKeys, watchVisibility } from './embed.js';
import * as charts from './panels/charts.js';
import * as controls from './panels/controls.js';
import * as custom from './panels/custom.js';
import * as evaluation from './panels/evaluation.js';
import * as files from './panels/files.js';
import * as lessons from './panels/lessons.js';
import { message } from './panels/message.js';
import * as network from './panels/network.js';
import * as predictions from './panels/predictions.js';
import * as stats from './panels/stats.js';
import * as transport from './panels/transport.js';
import { connect } from './run.js';
import { holdKeyboardChanges } from './selects.js';
import { grouped, scrollSteady } from './views/viewstate.js';
import { KEYS, PANELS, defaultWorkers, queryOf, readState, runKey, shareLinks, writeState } from './state.js';
import { keepOffline } from './offline.js';
import * as pace from './pace.js';
import { listRuns } from '../common/runstore.js';
import { tabKeys } from './tabrun.js';
import { applyTheme } from './theme.js';

const PANEL_MODULES = { controls, stats, charts, network, lessons, predictions, evaluation, custom, files };
const EMBED_PANELS = ['charts', 'network'];   // what an embed shows when its URL names no panels
const HEARTBEAT_MS = 2000;   // see active()
const PING_MS = 5000;        // the watchdog asks the run this often (below)
const WATCHDOG_MS = 20000;   // ...and calls it gone when it has said nothing for this long
// Loading with no news from the worker for this long is an error; ?stall=SECONDS changes it.
const STALL_MS = 1000 * (Number(new URLSearchParams(location.search).get('stall')) || 30);

const $ = (id) => document.getElementById(id);
holdKeyboardChanges();
const root = document.documentElement;
const { values: url, notes: urlNotes } = readState(location.href);
const framed = window.parent !== window;
const embed = url.embed;
applyTheme(url.theme);

// The page's frame: embed mode drops the header and footer, puts the strip on top, and keeps only
// the chosen panels (so nothing unused is built, painted or asked for).
const chosen = url.panels || (embed ? (url.lesson ? ['lessons'] : EMBED_PANELS) : PANELS);
if (embed) {
  root.dataset.embed = '1';
  for (const node of document.querySelectorAll('[data-chrome]')) node.remove();
  document.querySelector('[data-role="transport"]').remove();
  $('status').after($('strip-template').content.cloneNode(true));
}
for (const section of document.querySelectorAll('[data-panel]')) if (!chosen.includes(section.dataset.panel)) section.remove();
const top = document.querySelector('.top');
if (top && !top.children.length) top.remove();
root.dataset.panels = chosen.join(' ');

const run = connect({ embed, runName: `live-cnn ${runKey(url)}`, early: window.liveCnnWorker,
                      workerUrl: document.querySelector('meta[name="live-cnn-worker"]').content });

let classes = [];
let visibility = null, drawing = false;   // set up once the panels are mounted (below)
let lastNews = performance.now(), loadingStage = 'starting', lastStats = null;

function setState(state) {
  if (root.dataset.state === 'error') return;      // an error stays on screen
  root.dataset.state = state;
  for (const h of hooks) if (h.onState) h.onState(state);
}

function showError(text, detail = '') {
  window.liveCnnStart.log(detail ? `${text} (${detail})` : text);
  setState('error');
  root.dataset.state = 'error';
  for (const h of hooks) if (h.onState) h.onState('error');
  $('error').hidden = false;
  $('error-message').textContent = text;
  $('error-detail').textContent = detail;
}

// What the URL asked for that could not be used: one line per key, visible until dismissed.
function note(key, value, why) {
  if (key in KEYS && KEYS[key].run && String(url[key]) === value) { url[key] = KEYS[key].default; writeState(url); document.dispatchEvent(new Event('url-written')); }
  const list = $('notes').querySelector('ul');
  const item = document.createElement('li');
  item.dataset.note = key;
  const code = document.createElement('code');
  code.textContent = `${key}=${value}`;
  item.append('Ignored ', code, `: ${why}.`);
  list.append(item);
  $('notes').hidden = false;
}
$('notes').querySelector('[data-control="dismiss-notes"]').addEventListener('click', () => { $('notes').hidden = true; });
for (const n of urlNotes) note(n.key, n.value, n.why);
writeState(url);   // the address bar now holds what the page uses: unknown keys and bad values are gone

function notice(text) {
  $('notice').textContent = text;
  $('notice').hidden = !text;
}

const ctx = {
  url,
  request: run.request,
  classes: () => classes,
  note,
  setState,
  /** Record a change the user made, so the address bar (and Share) keeps describing the page. */
  setUrl(changes) { Object.assign(url, changes); writeState(url); document.dispatchEvent(new Event('url-written')); },
  /** Show the example the network view shows: {kind: 'training'|'test'|'custom', ...}; label: its
   * description, or a function of the run's answer that gives it. */
  async focus(payload, label) {
    const f = await run.request('focus', payload);
    const text = typeof label === 'function' ? label(f) : label;
    for (const h of hooks) if (h.onFocus) h.onFocus(f, text);
    if (payload.kind !== 'custom') ctx.setUrl({ focus: payload.kind === 'test' ? { kind: 'test', index: payload.index } : null });
    return f;
  },
  pick(index) {
    ctx.focus({ kind: 'test', index }, (f) => `test image #${index} (class ${classes[f.label]})`).then(() => {
      const view = $('network');
      if (view && !embed) scrollSteady(view);
    }).catch((err) => { const label = $('focus-label'); if (label) label.textContent = err.message; });
  },
  /** Ask the run for another network (spec, reset, dataset, load); -> its description or null. */
  async changeNetwork(type, payload, messageNode = null) {
    try {
      const net = await run.request(type, payload);
      if (messageNode) message(messageNode, '');
      return net;
    } catch (err) {
      if (messageNode) message(messageNode, err.message);
      else notice(err.message);
      return null;
    }
  },
  play() { if (visibility) visibility.start(); },
  /** 1 to 8: how many times less often periodic refreshes should come on this device now (pace.js). */
  slowness: pace.slowness,
  waitingReason: () => (visibility ? visibility.reason() : 'waiting'),
};

const hooks = [];
for (const name of chosen) hooks.push(PANEL_MODULES[name].mount(document.querySelector(`[data-panel="${name}"]`), ctx));
const transportRoot = embed ? $('strip') : document.querySelector('[data-role="transport"]');
if (transportRoot) hooks.push(transport.mount(transportRoot, ctx));
if (embed) hooks.push(stripStats());

// The strip's two numbers, and where it says whose run this is.
function stripStats() {
  const cell = (k) => $('strip').querySelector(`[data-strip="${k}"]`);
  $('strip').querySelector('[data-role="full-page"]').href = location.pathname + queryOf({ ...url, embed: false });
  return {
    onStats(s) {
      cell('examples').textContent = grouped(s.examples);
      cell('test-accuracy').textContent = s.test_accuracy == null ? '—' : `${(100 * s.test_accuracy).toFixed(1)}%`;
    },
  };
}
function runNote(text) {
  const node = document.querySelector('[data-role="run-note"]');
  if (node) node.textContent = text; else notice(text);
}

// The URL's focus: a test image can only be shown once its chunk has arrived.
let focusWanted = url.focus && url.focus.kind === 'test' ? url.focus : null;
function applyFocus(s) {
  if (!focusWanted || !s) return;
  if (focusWanted.index >= s.test_loaded && s.test_loaded < datasetTest) return;
  const f = focusWanted;
  focusWanted = null;
  if (f.index >= datasetTest) { note('focus', `test:${f.index}`, `there are ${datasetTest.toLocaleString('en-US')} test images (0 to ${datasetTest - 1})`); return; }
  ctx.pick(f.index);
}
let datasetTest = Infinity;
let datasetTitles = {};       // name -> title, from the worker's 'ready'

function onNet(net, chartData, datasets, presets, trainers) {
  classes = net.classes;
  datasetTest = net.test_count;
  if (datasets) datasetTitles = datasets;
  // The header names the dataset the run trains on (the page is built saying MNIST).
  const lede = document.querySelector('[data-role="lede-dataset"]');
  if (lede) lede.textContent = `${datasetTitles[net.dataset] ?? net.dataset} (${net.train_count.toLocaleString('en-US')} training images)`;
  for (const h of hooks) if (h.onNet) h.onNet(net, chartData, datasets, presets, trainers);
}

run.on('progress', (msg) => {
  lastNews = performance.now();
  loadingStage = msg.stage;
  const stage = msg.stage[0].toUpperCase() + msg.stage.slice(1) + '…';
  if ($('loading-stage').textContent !== stage) $('loading-stage').textContent = stage;   // announced once a stage
  $('loading-bytes').textContent = `${(msg.bytes / 1e6).toFixed(1)} MB downloaded`;
  $('loading-progress').value = Math.min(msg.bytes, $('loading-progress').max);
});
run.on('ready', (msg) => {
  lastNews = performance.now();
  for (const n of msg.notes || []) note(n.key, n.value, n.why);
  onNet(msg.net, msg.charts, msg.datasets, msg.presets, msg.trainers);
  if (msg.restored) {
    const when = new Date(msg.restored.savedAt).toLocaleTimeString();
    runNote(`continued the run saved at ${when} (${msg.restored.examples.toLocaleString('en-US')} examples)`);
    offerFresh();
  } else if (msg.pretrained) {
    runNote(`started from the build's pretrained run: ${msg.pretrained.examples.toLocaleString('en-US')} examples, `
      + `${(100 * msg.pretrained.test_accuracy).toFixed(2)}% on the whole test set`);
  } else if (run.shared) runNote('shared run: every embed of it on this page shows this one run');
  if (run.fallback) runNote(run.fallback);
  if (lastStats) applyFocus(lastStats);
});
run.on('net', (msg) => onNet(msg.net, msg.charts));
run.on('charts', (msg) => { for (const h of hooks) if (h.onCharts) h.onCharts(msg.charts); });
run.on('cost', (msg) => { for (const h of hooks) if (h.onCost) h.onCost(msg.cost); });
run.on('state', (msg) => { if (root.dataset.state !== msg.state) setState(msg.state); });
run.on('stats', (msg) => {
  lastStats = msg.stats;
  for (const h of hooks) if (h.onStats) h.onStats(msg.stats);
  applyFocus(msg.stats);
});
run.on('snapshot', (msg) => { for (const h of hooks) if (h.onSnapshot) h.onSnapshot(msg.snapshot); });
run.on('evaluation', (msg) => { for (const h of hooks) if (h.onEvaluation) h.onEvaluation(msg); });
run.on('race', (msg) => { for (const h of hooks) if (h.onRace) h.onRace(msg); });
run.on('notice', (msg) => notice(msg.text));
// The divergence guard (pycore/guard.py) stopped the run: say why, and offer the rollback.
run.on('diverged', (msg) => {
  const box = $('diverged');
  if (!box) return;
  box.hidden = !msg.diverged;
  if (msg.diverged) box.querySelector('[data-role="diverged-text"]').textContent = msg.diverged.text;
  box.dataset.examples = msg.diverged ? msg.diverged.examples : '';
});
if ($('diverged')) {
  $('diverged').querySelector('[data-control="rollback"]').addEventListener('click', async () => {
    const net = await ctx.changeNetwork('rollback', {});
    if (net) notice(`Rolled back to ${net.rolled_back.examples.toLocaleString('en-US')} examples; training goes on with the settings you have now.`);
    if (net) run.request('resume').catch(() => {});
  });
}
run.on('error', (msg) => { showError(msg.message, msg.detail); if (msg.lost) offerRestart(); });

// The watchdog: a worker that dies (its memory, a wasm trap) says nothing more. Every PING_MS the
// page asks it something; a request unanswered for WATCHDOG_MS while the run said nothing at all
// means it is gone, and the page offers to restart from the run it saved last (a reload continues
// this tab's autosave; an embed's, its run's).
let answered = false;          // the run has been ready: before, Pyodide may be busy compiling for long
run.on('ready', () => { answered = true; });
run.on('ready', () => keepOffline(new URL(import.meta.url).searchParams.get('v'), (text) => {
  const el = document.querySelector('[data-role="offline"]');
  if (el) el.textContent = ` Offline: ${text}.`;
}));
setInterval(() => {
  if (!answered || root.dataset.state === 'error') return;
  if (run.silence() > WATCHDOG_MS) {
    showError(`The training worker stopped answering (nothing for ${Math.round(run.silence() / 1000)} s): it ran out of memory, crashed or was stopped.`);
    offerRestart();
    return;
  }
  if (!run.silence()) run.request('ping').catch(() => {});
}, PING_MS);

async function offerRestart() {
  const box = $('error-restart');
  if (!box) return;
  const key = await ctx.savedKey;
  const saved = key ? (await listRuns().catch(() => [])).find((r) => r.key === key) : null;
  box.querySelector('[data-role="restart-note"]').textContent = saved
    ? `The run was saved at ${new Date(saved.savedAt).toLocaleTimeString()} (${saved.examples.toLocaleString('en-US')} examples).`
    : 'No saved run: it restarts from the beginning.';
  box.hidden = false;
}
if ($('error-restart')) $('error-restart').querySelector('[data-control="restart"]').addEventListener('click', () => location.reload());
run.replay();

function offerFresh() {
  const node = document.querySelector('[data-role="run-note"]') || $('notice');
  if (!node || document.querySelector('[data-control="start-fresh"]')) return;
  const b = document.createElement('button');
  b.type = 'button'; b.className = 'small'; b.dataset.control = 'start-fresh'; b.textContent = 'Start fresh';
  b.addEventListener('click', async () => { await ctx.changeNetwork('fresh', {}); runNote(''); b.remove(); });
  node.after(b);                      // beside the note, which may be cut short to fit the strip
}

// The run's settings go first: the worker waits for them before it makes the network. It saves the
// run in this browser (runstore.js): an embed's under its run's keys, shared by the deck's copies of
// it; a page's under its tab's own id (tabrun.js), so that a reload or a crash continues it.
const runValues = Object.fromEntries(Object.keys(KEYS).filter((k) => KEYS[k].run).map((k) => [k, url[k]]));
let lastRunKey = runKey(url);
const saveKeys = embed ? Promise.resolve({ save: `embed ${lastRunKey}`, restore: `embed ${lastRunKey}` }) : tabKeys().catch(() => null);
ctx.savedKey = saveKeys.then((k) => k && k.save);
saveKeys.then((autosave) => run.request('configure', { values: { ...runValues, workers: url.workers ?? defaultWorkers() }, autosave, runKey: lastRunKey })).catch(() => {});
// The page's URL is what a reload comes back to: the run's record says which run it makes.
document.addEventListener('url-written', () => {
  const key = runKey(url);
  if (key !== lastRunKey) { lastRunKey = key; run.request('run_key', { runKey: key }).catch(() => {}); }
});
// Leaving (a reload, a closed tab, another tab in front): save now rather than within 5 s.
const saveNow = () => run.request('save_now').catch(() => {});
document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'hidden') saveNow(); });
window.addEventListener('pagehide', saveNow);

// Training and drawing only while this page can be seen (a frame) and has been started. While it
// trains it says so every HEARTBEAT_MS: the run counts a page that falls silent as gone.
let training = false;
function active(on) {
  training = on;
  run.request('active', { active: on }).catch(() => {});
  if (on) draw();
}
setInterval(() => { if (training) run.request('active', { active: true }).catch(() => {}); }, HEARTBEAT_MS);
function draw() { if (!drawing) { drawing = true; requestAnimationFrame(frame); } }
if (framed) {
  let asked = null;
  visibility = watchVisibility({ framed, autoplay: url.autoplay, onChange: (on) => {
    if (on !== asked) { asked = on; active(on); }       // (also called when only the reason changed)
    if (visibility && visibility.visible()) draw();
    for (const h of hooks) if (h.onState) h.onState(root.dataset.state);
  } });
} else if (url.autoplay !== false) {
  active(true);
} else {
  visibility = { start: () => active(true), reason: () => 'press Play to train' };
}
draw();

// The panels' per-frame work, in turn: each frame runs them from where the last one stopped until
// FRAME_SCRIPT_MS is spent, so that a slow device spreads them over several frames (and every one
// still gets its turn) rather than making one long frame of them all.
const FRAME_SCRIPT_MS = 6;
let turn = 0;
function frame(now) {
  const state = root.dataset.state;
  if (state === 'loading' && now - lastNews > STALL_MS) {
    showError(`loading stalled: nothing happened for ${STALL_MS / 1000} s while ${loadingStage}.`,
      'Check that the server is still running and reachable, then reload the page.');
  }
  pace.tick(now);
  const framers = hooks.filter((h) => h.frame);
  const start = performance.now();
  for (let k = 0; k < framers.length; k++) {
    framers[(turn + k) % framers.length].frame(now, state);
    if (performance.now() - start > FRAME_SCRIPT_MS) { turn = (turn + k + 1) % framers.length; break; }
  }
  // A frame that cannot be seen draws nothing: the loop stops until it is visible again.
  if (visibility && visibility.visible && !visibility.visible() && state !== 'loading') { drawing = false; pace.rest(); return; }
  requestAnimationFrame(frame);
}

// Share: the link of what the page shows now, and an <iframe> for a slide.
for (const button of document.querySelectorAll('[data-control="share"]')) {
  button.addEventListener('click', () => {
    const { link, iframe, slides } = shareLinks(url);
    const dialog = $('share');
    dialog.querySelector('[data-role="share-link"]').value = link;
    dialog.querySelector('[data-role="share-iframe"]').value = iframe;
    dialog.querySelector('[data-role="share-slides"]').value = slides;
    message(dialog.querySelector('[data-message="share"]'), '');
    dialog.showModal();
  });
}
for (const [control, role] of [['copy-link', 'share-link'], ['copy-iframe', 'share-iframe'], ['copy-slides', 'share-slides']]) {
  $('share').querySelector(`[data-control="${control}"]`).addEventListener('click', async () => {
    const field = $('share').querySelector(`[data-role="${role}"]`);
    const out = $('share').querySelector('[data-message="share"]');
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      message(out, 'Copied.', false);
    } catch (err) {
      message(out, 'This page may not use the clipboard here: the text is selected, press Ctrl+C (⌘C) to copy it.');
    }
  });
}

if (embed || framed) {
  frameKeys({
    pause: () => document.querySelector('[data-control="pause"]')?.click(),
    step: () => run.request('step').catch(() => {}),
    reset: () => document.querySelector('[data-control="reset"]')?.click(),
  });
}

window.addEventListener('pagehide', () => run.request('bye').catch(() => {}));
window.addEventListener('error', (e) => showError(`the page failed: ${e.message}`, e.filename ? `in ${window.liveCnnStart.sitePath(e.filename)}, line ${e.lineno}` : ''));
window.addEventListener('unhandledrejection', (e) => showError(`the page failed: ${e.reason && e.reason.message || e.reason}`));
window.liveCnnStart.done();   // from here on the listeners above report errors (startwatch.js did until now)
