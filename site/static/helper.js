// A helper worker of data-parallel training: started by the training worker (helpers.js), it
// computes the gradients of its pieces of every batch with the weights that come with the piece,
// and answers with their sums (site/py/helper.py). It keeps no training data.
import { bootPython, pyodideModule } from './pyboot.js';

const ROOT = new URL('../', import.meta.url);
let piece = null;                 // helper.piece, once Python is up
const queue = [];

async function fetchBytes(path) {
  const r = await fetch(new URL(path, ROOT));
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

function work(job) {
  const start = performance.now();
  const out = job.pieces.map((p) => {
    const r = piece(job.net.version, job.net.spec ?? null, job.weights, job.part, job.key, p.piece, p.x, p.y);
    const plain = r.toJs ? r.toJs({ dict_converter: Object.fromEntries }) : r;
    if (r.destroy) r.destroy();
    return plain;
  });
  // The time this job kept the helper busy: the leader sums it, and the page shows the share of
  // the helpers' time spent computing (the rest they wait for the next batch's weights).
  const busy = (performance.now() - start) / out.length;
  for (const r of out) r.busy_ms = busy;
  postMessage({ type: 'result', serial: job.serial, results: out },
              out.flatMap((r) => [r.sums.buffer, ...(r.predictions ? [r.predictions.buffer] : [])]));
}

self.onmessage = (e) => {
  if (!piece) { queue.push(e.data); return; }
  try { work(e.data); } catch (err) { postMessage({ type: 'error', message: String(err && err.message || err) }); }
};

(async () => {
  const pyodide = await bootPython(ROOT, pyodideModule(import.meta.url, ROOT), fetchBytes);
  piece = pyodide.pyimport('helper').piece;
  postMessage({ type: 'ready' });
  for (const job of queue.splice(0)) self.onmessage({ data: job });
})().catch((err) => postMessage({ type: 'error', message: `the helper could not start: ${String(err && err.message || err)}` }));
