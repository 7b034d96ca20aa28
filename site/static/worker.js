// The training worker: loads Pyodide, NumPy, pycore and the data, then trains in slices of a few
// milliseconds. Between slices it answers the page's requests and posts statistics and, when
// asked, snapshots of every layer.
const ROOT = new URL('../', import.meta.url);
// Pyodide's module, in the site's versioned runtime folder (index.html names it: ?pyodide=...).
const PYODIDE_MJS = new URL(new URL(import.meta.url).searchParams.get('pyodide') || 'missing', ROOT);
const SLICE_MS = 25;          // training work per slice (pause and requests wait at most this long)
const EVAL_SLICE_MS = 8;      // test-set evaluation work per slice, while one is running

let stage = 'starting';
let bytesLoaded = 0;
let paused = false;
let stepRequested = false;
let wantSnapshot = false;
let evaluating = false;
let wakeUp = null;            // resolves the wait while paused or while no data has arrived
let lastState = null;
let pyodide, bridge, session, manifest;

function transferables(value, out = []) {
  if (ArrayBuffer.isView(value)) out.push(value.buffer);
  else if (Array.isArray(value)) value.forEach((v) => transferables(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => transferables(v, out));
  return out;
}
function post(msg) { self.postMessage(msg, transferables(msg)); }
function setState(state) { if (state !== lastState) { lastState = state; post({ type: 'state', state }); } }
function progress(newStage) {
  if (newStage) stage = newStage;
  post({ type: 'progress', stage, bytes: bytesLoaded });
}
function fail(message, detail = '') { post({ type: 'error', message, detail: String(detail || '') }); }
function wake() { if (wakeUp) wakeUp(); }

// Every fetch (Pyodide's own included) goes through here: it counts bytes for the progress line
// and turns the two silent failure modes (HTTP errors, wasm with the wrong MIME type) into errors.
const realFetch = self.fetch.bind(self);
self.fetch = async (input, init) => {
  const url = input instanceof Request ? input.url : String(input);   // Pyodide passes URL objects
  const name = decodeURIComponent(new URL(url, ROOT).pathname.split('/').pop());
  let resp;
  try {
    resp = await realFetch(input, init);
  } catch (e) {
    const err = new Error(`could not download ${name}: ${e.message}`);
    fail(err.message, url);
    throw err;
  }
  if (!resp.ok) {
    const err = new Error(`could not download ${name}: the server answered HTTP ${resp.status}`);
    fail(err.message, url);
    throw err;
  }
  const type = resp.headers.get('content-type') || '';
  if (name.endsWith('.wasm') && !type.startsWith('application/wasm')) {
    const err = new Error(`${name} was served as "${type || 'no type'}" but browsers only run it when ` +
      'served as "application/wasm". Serve the folder with `python build.py serve` or set that MIME type on your host.');
    fail(err.message, url);
    throw err;
  }
  // The wasm response is handed over untouched: a re-wrapped Response has no URL, and Chromium
  // only caches compiled WebAssembly for responses it can tie to a URL.
  if (!resp.body || name.endsWith('.wasm')) {
    bytesLoaded += Number(resp.headers.get('content-length')) || 0;
    return resp;
  }
  const reader = resp.body.getReader();
  const counted = new ReadableStream({
    async pull(ctrl) {
      const { done, value } = await reader.read();
      if (done) { ctrl.close(); return; }
      bytesLoaded += value.byteLength;
      if (stage !== 'training') progress();
      ctrl.enqueue(value);
    },
    cancel(reason) { return reader.cancel(reason); },
  });
  return new Response(counted, { status: resp.status, statusText: resp.statusText, headers: resp.headers });
};

async function fetchBytes(path) {
  const resp = await self.fetch(new URL(path, ROOT).href);
  let bytes = new Uint8Array(await resp.arrayBuffer());
  // Chunks are gzip files; a host that already decoded them (Content-Encoding) hands us raw bytes.
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  }
  return bytes;
}

// Session methods return {ok} or {error} (a PycoreError message for bad user input).
function call(method, ...args) { return bridge.call(session, method, ...args); }

async function start() {
  // Small downloads start at once, so they arrive while Pyodide compiles and boots.
  const zipBytes = fetchBytes('py/pycore.zip');
  const bytecode = fetchBytes('py/numpy-bytecode.zip');
  const manifestReady = fetchBytes('data/manifest.json').then((b) => JSON.parse(new TextDecoder().decode(b)));
  const firstChunks = manifestReady.then((m) => {
    const d = m.datasets.mnist;
    return [['train', d.train[0], fetchBytes(d.train[0].file)], ['test', d.test[0], fetchBytes(d.test[0].file)]];
  });
  for (const p of [zipBytes, bytecode, manifestReady, firstChunks]) p.catch(() => {});   // reported where awaited
  progress('downloading the Python runtime (Pyodide)');
  if (PYODIDE_MJS.origin !== ROOT.origin || !PYODIDE_MJS.pathname.endsWith('/pyodide.mjs')) {
    throw new Error(`the worker was started without the site's Pyodide module (got ${PYODIDE_MJS.href})`);
  }
  const { loadPyodide } = await import(PYODIDE_MJS.href);
  // The standard library with its start-up modules' bytecode added at build time (1.3 s less).
  pyodide = await loadPyodide({ indexURL: new URL('./', PYODIDE_MJS).href,
                                stdLibURL: new URL('py/python-stdlib.zip', ROOT).href });
  progress('downloading NumPy');
  await pyodide.loadPackage('numpy', { messageCallback: () => {}, errorCallback: (m) => fail('NumPy could not be loaded', m) });
  // NumPy's modules compiled at build time: importing it then skips compiling ~85 sources.
  const sitePackages = pyodide.runPython('import site; site.getsitepackages()[0]');
  pyodide.unpackArchive(await bytecode, 'zip', { extractDir: sitePackages });
  progress('downloading pycore');
  pyodide.unpackArchive(await zipBytes, 'zip', { extractDir: '/home/pyodide/live' });
  pyodide.runPython("import sys; sys.path.insert(0, '/home/pyodide/live')");
  bridge = pyodide.pyimport('bridge');
  progress('reading the data manifest');
  manifest = await manifestReady;
  const meta = {};
  for (const [name, d] of Object.entries(manifest.datasets)) {
    meta[name] = { title: d.title, classes: d.classes, train_count: d.train_count, test_count: d.test_count };
  }
  session = bridge.Session(pyodide.toPy(meta));
  announce('ready');
  progress('downloading the first training images');
  loadData('mnist', await firstChunks);
  await trainLoop();
}

function announce(type, extra = {}) {
  const net = call('describe').ok;
  const datasets = Object.fromEntries(Object.entries(manifest.datasets).map(([k, d]) => [k, d.title]));
  post({ type, net, presets: bridge.export(bridge.PRESETS), datasets, ...extra });
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
      const bytes = await (early ? early[2] : fetchBytes(chunk.file));
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
const waitForWake = () => new Promise((resolve) => { wakeUp = () => { wakeUp = null; resolve(); }; });

function trainSlice(budget) {
  const r = call('train_for', budget, wantSnapshot);   // plain JS values: no proxies to free
  if (r.error) throw new Error(r.error);
  const result = r.ok;
  if (result === undefined) return false;
  post({ type: 'stats', stats: result.stats });
  if (result.snapshot) { wantSnapshot = false; post({ type: 'snapshot', snapshot: result.snapshot }); }
  return true;
}

async function trainLoop() {
  stage = 'training';
  for (;;) {
    if (evaluating) {
      const r = call('evaluation_step', EVAL_SLICE_MS);
      if (r.error) { evaluating = false; post({ type: 'evaluation', error: r.error }); }
      else if (r.ok) { evaluating = false; post({ type: 'evaluation', result: r.ok }); }
    }
    if (paused && !stepRequested) {
      setState('paused');
      if (!evaluating) await waitForWake(); else await nextTask();
      continue;
    }
    // A step while paused trains exactly one batch (a zero budget still does one).
    const trained = trainSlice(stepRequested ? 0 : SLICE_MS);
    stepRequested = false;
    if (!trained) { await waitForWake(); continue; }
    if (!paused) setState('training');
    await nextTask();
  }
}

// Requests from the page: {type, id, ...}; answered with {type: 'reply', id, ok} or {..., error}.
const handlers = {
  pause() { paused = true; return true; },
  resume() { paused = false; wake(); return true; },
  step() { stepRequested = true; wantSnapshot = true; wake(); return true; },
  snapshot() {
    if (!paused) { wantSnapshot = true; return true; }
    const snap = call('snapshot').ok;                      // paused: nothing else will take one
    if (snap) post({ type: 'snapshot', snapshot: snap });
    return true;
  },
  options(msg) { return call('set_options', pyodide.toPy(msg.options)); },
  spec(msg) { return renet(call('change_spec', msg.text)); },
  reset() { return renet(call('reset')); },
  dataset(msg) { const r = renet(call('switch_dataset', msg.name)); if (r.ok) loadData(msg.name); return r; },
  focus(msg) {
    const r = call('set_focus', msg.kind, msg.index ?? null, msg.pixels ?? null, msg.width ?? null, msg.height ?? null);
    if (r.ok) handlers.snapshot();
    return r;
  },
  cards(msg) { return call('cards', msg.count || 12); },
  evaluate() { const r = call('start_evaluation'); evaluating = !r.error; wake(); return r; },
  cell(msg) { return call('cell', msg.true, msg.pred); },
  save(msg) { return call('save', pyodide.toPy(msg.page ?? null)); },
  load(msg) { const r = renet(call('load', msg.text)); return r; },
};

function renet(r) {
  if (r.ok) { wantSnapshot = true; evaluating = false; wake(); }
  return r;
}

self.onmessage = (e) => {
  const msg = e.data;
  const handler = handlers[msg.type];
  if (!handler) return;
  if (!session && msg.type !== 'pause' && msg.type !== 'resume') {
    post({ type: 'reply', id: msg.id, error: 'still loading' });
    return;
  }
  try {
    const r = handler(msg);
    post({ type: 'reply', id: msg.id, ...(r && (r.ok !== undefined || r.error !== undefined) ? r : { ok: r }) });
  } catch (err) {
    const last = String(err && err.message || err).trim().split('\n').pop();
    post({ type: 'reply', id: msg.id, error: last });
    fail(`the worker failed handling "${msg.type}": ${last}`, err && err.stack);
  }
};

start().catch((e) => {
  const text = String(e && e.message || e);
  // Python exceptions arrive as PythonError with the traceback in the message: keep its last line.
  const last = text.trim().split('\n').pop();
  fail(stage === 'training' ? `training stopped: ${last}` : `failed while ${stage}: ${last}`, e && e.stack || text);
});
