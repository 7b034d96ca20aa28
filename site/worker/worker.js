// The training worker: loads Pyodide, NumPy, pycore and the data, then trains in slices of a few
// milliseconds. Between slices it answers the pages' requests and posts statistics and, when
// asked, snapshots of every layer. It runs as a dedicated Worker for one page, or as a SharedWorker
// that every embed of one run in a deck connects to: each connection is a port, and the run trains
// while the user has not paused it and at least one port says its embed can be seen.
import { DataLoader, datasetMeta, firstDataset } from './dataload.js';
import { fetchBytes as fetchFile, loaded, watchFetches } from './fetching.js';
import { ALIVE_MS, Pages, send } from './pages.js';
import { bootPython, pyodideModule } from './pyboot.js';
import { RunSaver } from './runsave.js';
import { Team } from './team.js';

const ROOT = new URL('../', import.meta.url);
const SLICE_MS = 25;          // training work per slice (pause and requests wait at most this long)
const EVAL_SLICE_MS = 8;      // test-set evaluation work per slice, while one is running
const SHARED = typeof SharedWorkerGlobalScope !== 'undefined' && self instanceof SharedWorkerGlobalScope;
// On a machine of 2 cores or fewer, the run's first GENTLE_MS of training rest after each slice as
// long as the slice took: the page draws its first frames with data then, and the browser's
// compositor and GPU process, starved by a worker at full speed, made its main thread wait 50-90 ms
// (cold starts with a task over 50 ms after the first step, interleaved runs: 7 of 23 without the
// rests, 5 of 32 with them). It costs about GENTLE_MS / 2 of training, once.
const GENTLE_MS = 1500;
const GENTLE = (self.navigator && navigator.hardwareConcurrency || 2) <= 2;

let stage = 'starting';
let paused = false;           // by the user, for every port
let stepRequested = false;
let evaluating = false;
let wakeUp = null;            // resolves the wait while paused or while no data has arrived
let lastState = null;
let pyodide, bridge, session, manifest;
let announced = null;         // the 'ready' message, for ports that connect later
let fatal = null;             // the error message, for ports that connect later
let config = null, resolveConfig;
let saver = null;             // the run kept in the browser (runsave.js), once configured
const configured = new Promise((resolve) => { resolveConfig = resolve; });
const pages = new Pages(call);
const post = (msg) => pages.post(msg);

function setState(state) { if (state !== lastState) { lastState = state; post({ type: 'state', state }); } }
function progress(newStage) {
  if (newStage) stage = newStage;
  post({ type: 'progress', stage, bytes: loaded() });
}
function fail(message, detail = '') {
  fatal = { type: 'error', message, detail: String(detail || '') };
  post(fatal);
}
function wake() { if (wakeUp) wakeUp(); }

watchFetches(ROOT, { onFail: fail, onBytes: () => { if (stage !== 'training') progress(); } });
const fetchBytes = (path) => fetchFile(ROOT, path);
// The data chunks as they came (gzip): session.add_chunk gunzips them into Python's heap, so that
// no gunzipped copy is left in this worker's JS heap for the collector (4 MB a chunk).
const data = new DataLoader(fetchBytes, {
  add: (...args) => call('add_chunk', ...args), onAdded: wake, onFail: fail });

// The build's trained nets of the current dataset (manifest.references), loaded once each for the
// lessons that compare with them; -> name -> their entry (preset, examples, test accuracy).
const references = new Map();
async function loadReferences() {
  const entries = (manifest.references || {})[call('dataset_name').ok] || {};
  for (const [name, entry] of Object.entries(entries)) {
    if (references.has(name)) continue;
    const r = bridge.load_reference(name, new TextDecoder().decode(await fetchBytes(entry.file)));
    if (r.error) throw new Error(r.error);
    references.set(name, entry);
  }
  return Object.fromEntries(Object.keys(entries).map((name) => [name, references.get(name)]));
}

// Session methods return {ok} or {error} (a PycoreError message for bad user input).
function call(method, ...args) { return bridge.call(session, method, ...args); }
const check = (r) => { if (r.error) throw new Error(r.error); return r.ok; };   // an answer that must not fail

async function start() {
  const manifestReady = fetchBytes('data/manifest.json').then((b) => JSON.parse(new TextDecoder().decode(b)));
  manifestReady.catch(() => {});                          // reported where awaited
  Promise.all([manifestReady, configured]).then(([m]) => data.prefetch(m, firstDataset(m, config.values.dataset)), () => {});
  // Pyodide's module, in the site's versioned runtime folder (index.html names it: ?pyodide=...).
  pyodide = await bootPython(ROOT, pyodideModule(import.meta.url, ROOT), fetchBytes, {
    stage: progress, onNumpyError: (m) => fail('NumPy could not be loaded', m) });
  bridge = pyodide.pyimport('bridge');
  progress('reading the data manifest');
  manifest = await manifestReady;
  await configured;
  saver = new RunSaver(config, { call, notice: (text) => post({ type: 'notice', text }) });
  const notes = await openSession();
  check(setWorkers());
  announce(notes);
  progress('downloading the first training images');
  data.load(manifest, call('dataset_name').ok);
  await trainLoop();
}

// The run the page asked for: from its URL state, then (start=pretrained) the build's trained run,
// then, when `restore`, (an embed) the run it had when its frame was last destroyed.
// -> notes about what was not used.
async function openSession({ restore = true } = {}) {
  const v = config.values;
  fromPretrained = null;
  session = bridge.open_session(pyodide.toPy(datasetMeta(manifest)), pyodide.toPy(v));   // Python reads what it knows
  const notes = call('take_notes').ok;
  const pretrained = manifest.pretrained && manifest.pretrained[call('dataset_name').ok];
  if (v.start === 'pretrained') {
    if (!pretrained) notes.push({ key: 'start', value: 'pretrained', why: `this build has no pretrained run for ${call('dataset_name').ok}` });
    else if (v.spec || (v.preset && v.preset !== pretrained.spec_preset)) {
      notes.push({ key: 'start', value: 'pretrained', why: `the pretrained run is of the ${pretrained.spec_preset} preset, not this network` });
    } else {
      progress('downloading the pretrained run');
      const r = call('load', new TextDecoder().decode(await fetchBytes(pretrained.file)));
      if (r.error) notes.push({ key: 'start', value: 'pretrained', why: r.error });
      else {
        fromPretrained = { examples: pretrained.examples, test_accuracy: pretrained.test_accuracy };
        call('apply_url_options', pyodide.toPy(v));
      }
    }
  }
  restored = null;
  const saved = restore ? await saver.restore(notes) : null;
  if (saved) { restored = { examples: saved.examples, savedAt: saved.savedAt }; paused = saved.paused; }
  return notes;
}

let restored = null;          // {examples, savedAt} when the run continued from an autosave
let fromPretrained = null;    // {examples, test_accuracy} when it started from the build's trained run
function announce(notes = []) {
  const datasets = Object.fromEntries(Object.entries(manifest.datasets).map(([k, d]) => [k, d.title]));
  const net = call('describe').ok;
  saver.describe(net);
  announced = { type: 'ready', net, charts: call('charts').ok, presets: bridge.export(bridge.PRESETS), trainers: bridge.export(bridge.TRAINER_MENU),
                datasets, shared: SHARED, restored, pretrained: fromPretrained };
  post({ ...announced, notes });
}

// A macrotask yield without the 4 ms clamp that nested setTimeout calls get.
const channel = new MessageChannel();
let resumeSlice = null;
channel.port1.onmessage = () => resumeSlice();
const nextTask = () => new Promise((resolve) => { resumeSlice = resolve; channel.port2.postMessage(0); });
// While waiting, a timer also wakes the loop: a port that goes silent (its frame destroyed) must
// stop counting as visible. The wait costs no CPU in between.
const waitForWake = () => new Promise((resolve) => {
  const timer = setTimeout(() => wakeUp && wakeUp(), ALIVE_MS);
  wakeUp = () => { wakeUp = null; clearTimeout(timer); resolve(); };
});

// Data-parallel training (team.js): the workers the page asked for, and their helpers once started.
const team = new Team(new URL(`helper.js${new URL(import.meta.url).search}`, import.meta.url), SHARED, {
  call, post, toPy: (v) => pyodide.toPy(v), session: () => session,
  addShards: (serial, results) => check(bridge.add_shards(session, serial, results)),
});
const setWorkers = (asked = config.values.workers || 1) => team.set(asked);

// -> false (no training data yet), 'part' (a slow batch under way, no update yet) or true.
async function trainSlice(budget) {
  let result;
  inSlice = true;
  for (;;) {
    // The slice's own snapshot is of the latest training example: ask for it when a port wants that
    // (asked anew each call: with helpers, a page's request may come while this slice waits for them).
    // Paused while it waited for the helpers: the slice ends with the batch under way (budget 0);
    // its stats then come before the loop's 'paused', and nothing is trained after it.
    const now = paused && !stepRequested ? 0 : budget;
    result = check(call('train_for', now, pages.wantsFree()));   // plain JS values: no proxies to free
    if (result && result.send && !result.stats) { team.send(result.send); continue; }
    if (!(result && result.wait !== undefined)) break;
    await team.settle(result.wait);
  }
  inSlice = false;
  if (result === undefined) return false;
  if (result.send) team.send(result.send);                  // the next batch, computed while this one is shown
  if (!result.stats) { pages.serve(null, false); return 'part'; }   // a slow batch, still in parts
  post({ type: 'stats', stats: { ...result.stats, helper_busy_ms: team.busyMs } });
  if (result.stats.diverged && !diverged) {
    // The guard caught a blow-up: stop here, say what happened, and show it on the charts.
    diverged = result.stats.diverged;
    paused = true;
    post({ type: 'diverged', diverged });
    post({ type: 'charts', charts: call('charts').ok });
  }
  pages.serve(result.snapshot || null);
  return true;
}

let inSlice = false;          // a slice is under way (trainSlice), maybe waiting for its helpers
let gentleUntil = null;       // GENTLE: the end of the first training's rests
let hadData = false;          // the last slice found training data
let racing = false;           // an activations race is running (bridge.RACE)
let diverged = null;          // what the divergence guard found, until a rollback or going on
async function trainLoop() {
  stage = 'training';
  for (;;) {
    if (evaluating) {
      const r = call('evaluation_step', EVAL_SLICE_MS);
      if (r.error) { evaluating = false; post({ type: 'evaluation', error: r.error }); }
      else if (r.ok) { evaluating = false; post({ type: 'evaluation', result: r.ok }); }
    }
    const wanted = pages.wanted();
    // The activations race, while one runs, trains instead of the run (paused or not) while visible.
    if (racing && wanted) {
      const r = bridge.race_step(SLICE_MS);
      if (r.error || r.ok.result) racing = false;
      post({ type: 'race', ...(r.error ? { error: r.error } : { progress: r.ok }) });
      await nextTask();
      continue;
    }
    if ((paused || !wanted) && !stepRequested) {
      setState(paused ? 'paused' : 'waiting');
      pages.serve();
      saver.save(paused, true);
      if (!evaluating) await waitForWake(); else await nextTask();
      continue;
    }
    // Once there is data, say so before the slice: a slide that is shown says "training" at once.
    if (!paused && wanted && hadData) setState('training');
    // A step while paused trains exactly one batch (a zero budget still does one part of one).
    const sliceStart = performance.now();
    const trained = await trainSlice(stepRequested ? 0 : SLICE_MS);
    if (trained === true) team.start();
    if (trained !== 'part') stepRequested = false;
    hadData = !!trained;
    if (!trained) { await waitForWake(); continue; }
    if (!paused && wanted) setState('training');
    saver.save(paused);
    if (GENTLE && trained === true) {
      gentleUntil = gentleUntil ?? sliceStart + GENTLE_MS;
      if (sliceStart < gentleUntil) await new Promise((resolve) => setTimeout(resolve, performance.now() - sliceStart));
    }
    await nextTask();
  }
}

// Requests from a page: {type, id, ...}; answered with {type: 'reply', id, ok} or {..., error}.
const handlers = {
  configure(msg) {   // the first page's settings make the run; later pages of a shared run join it
    if (!config) { config = { values: msg.values, autosave: msg.autosave || null, runKey: msg.runKey ?? null }; resolveConfig(); }
    return true;
  },
  ping() { return true; },                                // the page's watchdog: the run still answers
  run_key(msg) { if (config) config.runKey = msg.runKey; return true; },   // the page's URL now makes this run
  save_now() { return saver.save(paused, true).then(() => true); },
  active(msg, p) { p.active = !!msg.active; p.seen = Date.now(); wake(); return true; },
  bye(msg, p) { p.active = false; wake(); return true; },
  // A handler runs between two parts of training, so the state it posts is already true; but one
  // that comes while a slice waits for its helpers leaves 'paused' to the loop, after the slice.
  pause() { paused = true; if (!inSlice) setState('paused'); wake(); return true; },
  resume() {
    if (diverged) { call('go_on'); diverged = null; post({ type: 'diverged', diverged: null }); }   // going on, not rolling back
    paused = false;
    if (pages.wanted() && hadData) setState('training');
    wake(); return true;
  },
  rollback() {
    const r = renet(call('rollback'));
    if (r.ok) { diverged = null; post({ type: 'diverged', diverged: null }); }
    return r;
  },
  step(msg, p) { stepRequested = true; p.wantSnapshot = true; wake(); return true; },
  snapshot(msg, p) { p.wantSnapshot = true; if (paused || !pages.wanted()) pages.serve(); return true; },
  workers(msg) {   // the workers control: from the next batch on (the batch under way is drawn again)
    const r = setWorkers(msg.count);
    if (r.ok) { config.values.workers = msg.count; wake(); }   // every page's stats show it
    return r;
  },
  options(msg) {   // the memory estimate follows the batch size and the update rule
    const r = call('set_options', pyodide.toPy(msg.options));
    if (r.ok) post({ type: 'cost', cost: call('memory').ok });
    return r;
  },
  spec(msg) { return renet(call('change_spec', msg.text)); },
  reset() { return renet(call('reset')); },
  async fresh() {
    const old = session;
    const notes = await openSession({ restore: false });
    check(setWorkers());
    const kept = call('take_data', old);                   // the images already here, not downloaded again
    old.destroy();
    if (kept.error) { data.forget(); data.load(manifest, call('dataset_name').ok); }
    await saver.forget();
    restored = null;
    renet({ ok: call('describe').ok });
    return { ok: notes };
  },
  dataset(msg) { const r = renet(call('switch_dataset', msg.name)); if (r.ok) data.load(manifest, msg.name); return r; },
  focus(msg, p) {
    const r = pages.look(p, msg);
    if (r.ok && (paused || !pages.wanted())) pages.serve();
    return r;
  },
  cards(msg) { return call('cards', msg.count || 12); },
  plan(msg) { return call('plan', msg.spec); },
  inspect(msg) { return msg.pixels ? call('inspect_custom', msg.pixels, msg.width, msg.height) : call('inspect_test', msg.index); },
  first_test_of(msg) { return call('first_test_of', msg.label); },
  top_images(msg) { return bridge.top_images(session, msg.layer, msg.unit, msg.count ?? 500); },
  async shift(msg) {
    const references = await loadReferences();
    const r = bridge.shift_test(session, msg.index, pyodide.toPy(msg.shifts));
    return r.error ? r : { ok: { ...r.ok, references } };
  },
  async shift_accuracy(msg) {
    await loadReferences();
    return bridge.shift_accuracy(session, msg.count, pyodide.toPy(msg.shifts));
  },
  evaluate() {
    if (evaluating) return { ok: null };                  // one is running: its result reaches every page
    const r = call('start_evaluation'); evaluating = !r.error; wake(); return r;
  },
  race(msg) {
    const r = bridge.race_start(session, msg.examples, msg.kind);
    racing = !r.error;
    wake();
    return r;
  },
  race_stop() { racing = false; post({ type: 'race', stopped: true }); return bridge.race_stop(); },
  cell(msg) { return call('cell', msg.true, msg.pred); },
  clear_charts() { const r = call('clear_charts'); post({ type: 'charts', charts: call('charts').ok }); return r; },
  save() { return call('save', null); },
  load(msg) { return renet(call('load', msg.text)); },
};

// A new network (or a loaded run): every page rebuilds its views.
function renet(r) {
  if (r.ok) {
    evaluating = false;
    if (diverged) { diverged = null; post({ type: 'diverged', diverged: null }); }   // a new network has not diverged
    if (racing) { racing = false; bridge.race_stop(); post({ type: 'race', stopped: true }); }   // it raced the old network
    pages.reset();
    saver.describe(r.ok);
    post({ type: 'net', net: r.ok, charts: call('charts').ok });
    wake();
  }
  return r;
}

async function onMessage(port, msg) {
  const p = pages.get(port);
  const handler = handlers[msg.type];
  if (!handler || !p) return;
  const early = ['configure', 'active', 'bye', 'pause', 'resume', 'ping'];
  if (!session && !early.includes(msg.type)) {
    send(port, { type: 'reply', id: msg.id, error: 'still loading' });
    return;
  }
  try {
    const r = await handler(msg, p, port);
    if (pages.get(port)) send(port, { type: 'reply', id: msg.id, ...(r && (r.ok !== undefined || r.error !== undefined) ? r : { ok: r }) });
  } catch (err) {
    const last = String(err && err.message || err).trim().split('\n').pop();
    send(port, { type: 'reply', id: msg.id, error: last });
    fail(`the worker failed handling "${msg.type}": ${last}`, err && err.stack);
  }
}

function connect(port) {
  pages.add(port);
  port.onmessage = (e) => onMessage(port, e.data);
  // A page that connects to a run already under way gets where it is at once.
  if (fatal) send(port, fatal);
  else if (announced) {
    send(port, { ...announced, net: call('describe').ok, charts: call('charts').ok, notes: [] });
    send(port, { type: 'state', state: lastState || 'waiting' });
  } else send(port, { type: 'progress', stage, bytes: loaded() });
}

if (SHARED) {
  self.onconnect = (e) => connect(e.ports[0]);
} else {
  connect(self);
}

start().catch((e) => {
  const text = String(e && e.message || e);
  // Python exceptions arrive as PythonError with the traceback in the message: keep its last line.
  const last = text.trim().split('\n').pop();
  fail(stage === 'training' ? `training stopped: ${last}` : `failed while ${stage}: ${last}`, e && e.stack || text);
});
