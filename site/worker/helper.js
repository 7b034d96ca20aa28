// A helper worker of data-parallel training: started by the training worker (helpers.js), it
// keeps a copy of the run and, for each job, makes the previous batch's update with the other
// pieces' sums that come with it, then computes its piece's gradient sums and answers with them
// (site/worker/py/helper.py). It keeps no training data.
import { bootPython, pyodideModule } from './pyboot.js';

const ROOT = new URL('../', import.meta.url);
let pyJob = null;                 // helper.job, once Python is up
let pyScore = null;               // helper.score
let scoreMs = 0;                  // the last scoring's time: it counts as busy with the next result
const queue = [];

async function fetchBytes(path) {
  const r = await fetch(new URL(path, ROOT));
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

function work(job) {
  const start = performance.now();
  const r = pyJob(job);
  const out = r.toJs ? r.toJs({ dict_converter: Object.fromEntries }) : r;
  if (r.destroy) r.destroy();
  // The time this job kept the helper busy: the leader sums it, and the page shows the share of
  // the helpers' time spent computing (the rest they wait for the other pieces' sums).
  out.busy_ms = performance.now() - start + scoreMs;
  scoreMs = 0;
  postMessage({ type: 'result', serial: job.serial, results: [out] },
              out.sums ? [out.sums.buffer, ...(out.predictions ? [out.predictions.buffer] : [])] : []);
  // Then the held-out images that came with the job, while the training worker finishes its piece
  // (their outcomes go with the next result).
  if (job.score) { const t0 = performance.now(); pyScore(); scoreMs = performance.now() - t0; }
}

self.onmessage = (e) => {
  if (!pyJob) { queue.push(e.data); return; }
  try { work(e.data); } catch (err) { postMessage({ type: 'error', message: String(err && err.message || err) }); }
};

(async () => {
  const pyodide = await bootPython(ROOT, pyodideModule(import.meta.url, ROOT), fetchBytes);
  const helper = pyodide.pyimport('helper');
  pyJob = helper.job;
  pyScore = helper.score;
  postMessage({ type: 'ready' });
  for (const job of queue.splice(0)) self.onmessage({ data: job });
})().catch((err) => postMessage({ type: 'error', message: `the helper could not start: ${String(err && err.message || err)}` }));
