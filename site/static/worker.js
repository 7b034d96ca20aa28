// The training worker: loads Pyodide, NumPy, pycore and the data, then trains in slices of a few
// milliseconds. Between slices it answers the pages' requests and posts statistics and, when
// asked, snapshots of every layer. It runs as a dedicated Worker for one page, or as a SharedWorker
// that every embed of one run in a deck connects to: each connection is a port, and the run trains
// while the user has not paused it and at least one port says its embed can be seen.
import { fetchBytes as fetchFile, loaded, watchFetches } from './fetching.js';
import { forgetRun, loadRun, saveRun } from './runstore.js';
import { bootPython, pyodideModule } from './pyboot.js';
import { Team } from './team.js';

const ROOT = new URL('../', import.meta.url);
const SLICE_MS = 25;          // training work per slice (pause and requests wait at most this long)
const EVAL_SLICE_MS = 8;      // test-set evaluation work per slice, while one is running
const SHARED = typeof SharedWorkerGlobalScope !== 'undefined' && self instanceof SharedWorkerGlobalScope;
const ALIVE_MS = 6000;        // a port that has not said it is visible for this long counts as hidden
const AUTOSAVE_MS = 5000;     // while training, save the run this often (when the page asked for it)
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
const configured = new Promise((resolve) => { resolveConfig = resolve; });
const ports = new Map();      // port -> {active, seen, wantSnapshot, focus}
let focusKey = 'training';    // the focus the session has now

function transferables(value, out = []) {
  if (ArrayBuffer.isView(value)) out.push(value.buffer);
  else if (Array.isArray(value)) value.forEach((v) => transferables(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => transferables(v, out));
  return out;
}
/** To one port; typed arrays are transferred, so a message can only go to one port. */
function send(port, msg) { port.postMessage(msg, transferables(msg)); }
/** To every port (typed arrays copied for all but the last). */
function post(msg) {
  const all = [...ports.keys()];
  all.forEach((port, i) => (i === all.length - 1 ? send(port, msg) : port.postMessage(msg)));
}
function trainingWanted() {
  const now = Date.now();
  for (const p of ports.values()) if (p.active && now - p.seen < ALIVE_MS) return true;
  return false;
}
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
// A data chunk as it came (gzip): session.add_chunk gunzips it into Python's heap, so that no
// gunzipped copy is left in this worker's JS heap for the collector (4 MB a chunk).
const fetchChunk = (path) => fetchFile(ROOT, path, { gunzip: false });

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
  const firstChunks = Promise.all([manifestReady, configured]).then(([m]) => {
    const d = m.datasets[firstDataset(m)];
    return [['train', d.train[0], fetchChunk(d.train[0].file)], ['test', d.test[0], fetchChunk(d.test[0].file)]];
  });
  for (const p of [manifestReady, firstChunks]) p.catch(() => {});   // reported where awaited
  // Pyodide's module, in the site's versioned runtime folder (index.html names it: ?pyodide=...).
  pyodide = await bootPython(ROOT, pyodideModule(import.meta.url, ROOT), fetchBytes, {
    stage: progress, onNumpyError: (m) => fail('NumPy could not be loaded', m) });
  bridge = pyodide.pyimport('bridge');
  progress('reading the data manifest');
  manifest = await manifestReady;
  await configured;
  const notes = await openSession();
  check(setWorkers());
  const first = call('dataset_name').ok;
  announce(notes);
  progress('downloading the first training images');
  loadData(first, first === firstDataset(manifest) ? await firstChunks : []);
  await trainLoop();
}

function firstDataset(m) {
  return config.values.dataset in m.datasets ? config.values.dataset : Object.keys(m.datasets)[0];
}

function datasetMeta() {
  const meta = {};
  for (const [name, d] of Object.entries(manifest.datasets)) {
    meta[name] = { title: d.title, classes: d.classes, train_count: d.train_count, test_count: d.test_count };
  }
  return meta;
}

// The run the page asked for: from its URL state, then (start=pretrained) the build's trained run,
// then, when `restore`, (an embed) the run it had when its frame was last destroyed.
// -> notes about what was not used.
async function openSession({ restore = true } = {}) {
  const v = config.values;
  fromPretrained = null;
  session = bridge.open_session(pyodide.toPy(datasetMeta()), pyodide.toPy(v));   // Python reads what it knows
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
  const keys = config.autosave;
  if (keys && keys.restore && restore) {
    try {
      const saved = await loadRun(keys.restore);
      if (saved && saved.runKey !== undefined && saved.runKey !== config.runKey) {
        // This tab's run, but the URL now asks for another network: keep the old run, listed under Saved runs.
        if (keys.restore === keys.save) {
          const { text, ...meta } = saved;
          await saveRun(`kept ${saved.savedAt}`, text, { ...meta, kept: keys.save });
          await forgetRun(keys.save);
        }
        notes.push({ key: 'autosave', value: new Date(saved.savedAt).toISOString(),
                     why: 'this tab\'s saved run was of another network than the link asks for; it is kept under "Saved in this browser"' });
      } else if (saved) {
        const r = call('load', saved.text);
        if (r.ok) { restored = { examples: r.ok.examples, savedAt: saved.savedAt }; paused = !!saved.paused; savedExamples = r.ok.examples; }
        else notes.push({ key: 'autosave', value: new Date(saved.savedAt).toISOString(), why: `the saved run could not be loaded: ${r.error}` });
      }
    } catch (err) {
      notes.push({ key: 'autosave', value: 'IndexedDB', why: `the browser refused to read saved runs (${err.message}); starting afresh` });
    }
  }
  return notes;
}

let restored = null;          // {examples, savedAt} when the run continued from an autosave
let fromPretrained = null;    // {examples, test_accuracy} when it started from the build's trained run
function announce(notes = []) {
  const datasets = Object.fromEntries(Object.entries(manifest.datasets).map(([k, d]) => [k, d.title]));
  const net = call('describe').ok;
  summarise(net);
  announced = { type: 'ready', net, charts: call('charts').ok, presets: bridge.export(bridge.PRESETS), trainers: bridge.export(bridge.TRAINER_MENU),
                datasets, shared: SHARED, restored, pretrained: fromPretrained };
  post({ ...announced, notes });
}

const loading = new Set();
async function loadData(name, started = []) {
  if (loading.has(name)) return;
  loading.add(name);
  const data = manifest.datasets[name];
  // First one chunk of each split so training (and testing) can start, then the rest; `started`
  // holds [kind, chunk, bytes promise] for chunks already being fetched.
  const order = [['train', data.train[0]], ['test', data.test[0]],
    ...data.train.slice(1).map((c) => ['train', c]), ...data.test.slice(1).map((c) => ['test', c])];
  try {
    for (const [kind, chunk] of order) {
      const early = started.find(([k, c]) => k === kind && c.file === chunk.file);
      const bytes = await (early ? early[2] : fetchChunk(chunk.file));
      const r = call('add_chunk', name, kind, bytes, chunk.count);
      if (r.error) throw new Error(r.error);
      wake();
    }
  } catch (e) {
    fail(`the ${data.title} data could not be loaded`, e.stack || e);
  }
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

const focusOf = (f) => (!f || f.kind === 'training' ? 'training' : f.kind === 'test' ? `test:${f.index}` : `custom:${f.serial}`);
function setFocus(f) {
  const key = focusOf(f);
  if (key === focusKey) return { ok: null };
  const r = f && f.kind !== 'training'
    ? call('set_focus', f.kind, f.index ?? null, f.pixels ?? null, f.width ?? null, f.height ?? null)
    : call('set_focus', 'training');
  if (r.ok) focusKey = key;
  return r;
}

// Every port that asked for a snapshot gets one of its own focus; `free` is the one the training
// slice made of the latest training example.
// fresh: whether training moved on since the last snapshot (a batch still in parts did not).
function serveSnapshots(free = null, fresh = true) {
  for (const [port, p] of ports) {
    if (!p.wantSnapshot || (!fresh && focusOf(p.focus) === 'training')) continue;
    if (focusOf(p.focus) === 'training' && free) { p.wantSnapshot = false; send(port, { type: 'snapshot', snapshot: free }); free = null; continue; }
    if (setFocus(p.focus).error) { p.focus = null; setFocus(null); }
    const snap = call('snapshot').ok;
    if (snap) { p.wantSnapshot = false; send(port, { type: 'snapshot', snapshot: snap }); }
  }
}

// Data-parallel training (team.js): the workers the page asked for, and their helpers once started.
const team = new Team(new URL(`helper.js${new URL(import.meta.url).search}`, import.meta.url), SHARED, {
  call, post, toPy: (v) => pyodide.toPy(v), session: () => session,
  addShards: (serial, results) => check(bridge.add_shards(session, serial, results)),
});
const setWorkers = (asked = config.values.workers || 1) => team.set(asked);

// -> false (no training data yet), 'part' (a slow batch under way, no update yet) or true.
async function trainSlice(budget) {
  let result;
  for (;;) {
    // The slice's own snapshot is of the latest training example: ask for it when a port wants that
    // (asked anew each call: with helpers, a page's request may come while this slice waits for them).
    const wantFree = focusKey === 'training' && [...ports.values()].some((p) => p.wantSnapshot && focusOf(p.focus) === 'training');
    result = check(call('train_for', budget, wantFree));   // plain JS values: no proxies to free
    if (result && result.send && !result.stats) { team.send(result.send); continue; }
    if (!(result && result.wait !== undefined)) break;
    await team.settle(result.wait);
  }
  if (result === undefined) return false;
  if (result.send) team.send(result.send);                  // the next batch, computed while this one is shown
  if (!result.stats) { serveSnapshots(null, false); return 'part'; }   // a slow batch, still in parts
  post({ type: 'stats', stats: { ...result.stats, helper_busy_ms: team.busyMs } });
  if (result.stats.diverged && !diverged) {
    // The guard caught a blow-up: stop here, say what happened, and show it on the charts.
    diverged = result.stats.diverged;
    paused = true;
    post({ type: 'diverged', diverged });
    post({ type: 'charts', charts: call('charts').ok });
  }
  serveSnapshots(result.snapshot || null);
  return true;
}

let lastSave = 0, savedExamples = -1, savedPaused = false, saving = false;
let summary = '';             // the saved runs list's line for this run, kept as its network changes
const summarise = (net) => { summary = `${net.dataset}, ${net.param_count.toLocaleString('en-US')} parameters`; };
async function autosave(force = false) {
  if (!config.autosave || saving || !session) return;
  const examples = call('examples').ok;
  if ((examples === savedExamples && paused === savedPaused) || (!force && Date.now() - lastSave < AUTOSAVE_MS)) return;
  saving = true; lastSave = Date.now();
  try {
    await saveRun(config.autosave.save, call('save', null).ok, { examples, runKey: config.runKey, paused, summary });
    savedPaused = paused;
    savedExamples = examples;
  } catch (err) {
    post({ type: 'notice', text: `The run could not be saved in this browser (${err.message}); training goes on.` });
  } finally {
    saving = false;
  }
}

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
    const wanted = trainingWanted();
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
      serveSnapshots();
      autosave(true);
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
    autosave();
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
  save_now() { return autosave(true).then(() => true); },
  active(msg, p) { p.active = !!msg.active; p.seen = Date.now(); wake(); return true; },
  bye(msg, p) { p.active = false; wake(); return true; },
  // A handler runs between two parts of training, so the state it posts is already true.
  pause() { paused = true; setState('paused'); wake(); return true; },
  resume() {
    if (diverged) { call('go_on'); diverged = null; post({ type: 'diverged', diverged: null }); }   // going on, not rolling back
    paused = false;
    if (trainingWanted() && hadData) setState('training');
    wake(); return true;
  },
  rollback() {
    const r = renet(call('rollback'));
    if (r.ok) { diverged = null; post({ type: 'diverged', diverged: null }); }
    return r;
  },
  step(msg, p) { stepRequested = true; p.wantSnapshot = true; wake(); return true; },
  snapshot(msg, p) { p.wantSnapshot = true; if (paused || !trainingWanted()) serveSnapshots(); return true; },
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
    if (kept.error) { loading.clear(); loadData(call('dataset_name').ok); }
    savedExamples = -1;
    if (config.autosave) await forgetRun(config.autosave.save).catch(() => {});
    restored = null;
    renet({ ok: call('describe').ok });
    return { ok: notes };
  },
  dataset(msg) { const r = renet(call('switch_dataset', msg.name)); if (r.ok) loadData(msg.name); return r; },
  focus(msg, p) {
    const f = msg.kind === 'training' ? null : { kind: msg.kind, index: msg.index ?? null, pixels: msg.pixels ?? null,
      width: msg.width ?? null, height: msg.height ?? null, serial: (p.serial = (p.serial || 0) + 1) };
    focusKey = null;                                        // set_focus runs now, so its errors reach this page
    const r = f ? call('set_focus', f.kind, f.index, f.pixels, f.width, f.height) : call('set_focus', 'training');
    if (r.ok) { p.focus = f; focusKey = focusOf(f); p.wantSnapshot = true; if (paused || !trainingWanted()) serveSnapshots(); }
    else setFocus(p.focus);
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
    evaluating = false; focusKey = null;
    if (diverged) { diverged = null; post({ type: 'diverged', diverged: null }); }   // a new network has not diverged
    if (racing) { racing = false; bridge.race_stop(); post({ type: 'race', stopped: true }); }   // it raced the old network
    for (const p of ports.values()) { p.wantSnapshot = true; p.focus = null; }
    setFocus(null);
    summarise(r.ok);
    post({ type: 'net', net: r.ok, charts: call('charts').ok });
    wake();
  }
  return r;
}

async function onMessage(port, msg) {
  const p = ports.get(port);
  const handler = handlers[msg.type];
  if (!handler || !p) return;
  const early = ['configure', 'active', 'bye', 'pause', 'resume', 'ping'];
  if (!session && !early.includes(msg.type)) {
    send(port, { type: 'reply', id: msg.id, error: 'still loading' });
    return;
  }
  try {
    const r = await handler(msg, p, port);
    if (ports.has(port)) send(port, { type: 'reply', id: msg.id, ...(r && (r.ok !== undefined || r.error !== undefined) ? r : { ok: r }) });
  } catch (err) {
    const last = String(err && err.message || err).trim().split('\n').pop();
    send(port, { type: 'reply', id: msg.id, error: last });
    fail(`the worker failed handling "${msg.type}": ${last}`, err && err.stack);
  }
}

function connect(port) {
  ports.set(port, { active: false, seen: 0, wantSnapshot: false, focus: null });
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
