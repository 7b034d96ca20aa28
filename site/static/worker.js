// The training worker: loads Pyodide, NumPy, pycore and the data, then trains in slices of a few
// milliseconds, posting progress, statistics and (when asked) layer snapshots to the page.
import { loadPyodide } from '../pyodide/pyodide.mjs';

const ROOT = new URL('../', import.meta.url);
const SLICE_MS = 16;          // work per slice; between slices the worker reads its messages

let stage = 'starting';
let bytesLoaded = 0;
let paused = false;
let wantSnapshot = false;
let wakeUp = null;
let lastState = null;            // resolves the wait while paused or while no data has arrived

function post(msg, transfer = []) { self.postMessage(msg, transfer); }
function setState(state) { if (state !== lastState) { lastState = state; post({ type: 'state', state }); } }
function progress(newStage) {
  if (newStage) stage = newStage;
  post({ type: 'progress', stage, bytes: bytesLoaded });
}
function fail(message, detail = '') { post({ type: 'error', message, detail: String(detail || '') }); }

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
  if (!resp.body) return resp;
  const reader = resp.body.getReader();
  const counted = new ReadableStream({
    async pull(ctrl) {
      const { done, value } = await reader.read();
      if (done) { ctrl.close(); return; }
      bytesLoaded += value.byteLength;
      progress();
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

let pyodide, session;

async function start() {
  progress('downloading the Python runtime (Pyodide)');
  pyodide = await loadPyodide({ indexURL: new URL('pyodide/', ROOT).href });
  progress('downloading NumPy');
  await pyodide.loadPackage('numpy', { messageCallback: () => {}, errorCallback: (m) => fail('NumPy could not be loaded', m) });
  progress('downloading pycore');
  const zip = await fetchBytes('py/pycore.zip');
  pyodide.unpackArchive(zip, 'zip', { extractDir: '/home/pyodide/live' });
  pyodide.runPython("import sys; sys.path.insert(0, '/home/pyodide/live')");
  const bridge = pyodide.pyimport('bridge');
  progress('reading the data manifest');
  const manifest = JSON.parse(new TextDecoder().decode(await fetchBytes('data/manifest.json')));
  const data = manifest.datasets.mnist;
  session = bridge.Session(data.train_count, data.test_count);
  post({ type: 'ready', layers: session.describe_js(), dataset: data.title,
         trainCount: data.train_count, testCount: data.test_count });
  progress('downloading the first training images');
  loadData(data).catch((e) => fail('the data could not be loaded', e.stack || e));
  await trainLoop();
}

async function loadData(data) {
  // First one chunk of each split so training (and testing) can start, then the rest.
  const order = [['train', data.train[0]], ['test', data.test[0]],
    ...data.train.slice(1).map((c) => ['train', c]), ...data.test.slice(1).map((c) => ['test', c])];
  for (const [kind, chunk] of order) {
    const bytes = await fetchBytes(chunk.file);
    session.add_chunk(kind, bytes, chunk.count);
    post({ type: 'data', kind, loaded: chunk.count });
    if (wakeUp) wakeUp();
  }
}

// A macrotask yield without the 4 ms clamp that nested setTimeout calls get.
const channel = new MessageChannel();
let resumeSlice = null;
channel.port1.onmessage = () => resumeSlice();
const nextTask = () => new Promise((resolve) => { resumeSlice = resolve; channel.port2.postMessage(0); });
const waitForWake = () => new Promise((resolve) => { wakeUp = () => { wakeUp = null; resolve(); }; });

async function trainLoop() {
  stage = 'training';
  for (;;) {
    if (paused) { setState('paused'); await waitForWake(); continue; }
    const result = session.step(SLICE_MS, wantSnapshot);
    if (result === undefined) { await waitForWake(); continue; }
    setState('training');
    post({ type: 'stats', stats: result.stats });
    if (result.snapshot) {
      wantSnapshot = false;
      const transfer = [];
      for (const layer of result.snapshot.layers) {
        for (const part of [layer.act, layer.grad]) if (part) transfer.push(part.data.buffer);
      }
      post({ type: 'snapshot', snapshot: result.snapshot }, transfer);
    }
    await nextTask();
  }
}

self.onmessage = (e) => {
  const msg = e.data;
  if (msg.type === 'pause') paused = true;
  else if (msg.type === 'resume') { paused = false; if (wakeUp) wakeUp(); }
  else if (msg.type === 'snapshot') wantSnapshot = true;
};

start().catch((e) => {
  const text = String(e && e.message || e);
  // Python exceptions arrive as PythonError with the traceback in the message: keep its last line.
  const last = text.trim().split('\n').pop();
  fail(stage === 'training' ? `training stopped: ${last}` : `failed while ${stage}: ${last}`, e && e.stack || text);
});
