// Benchmark harness page: loads the MNIST chunks once, then runs one benchmark worker at a time.
// bench/run.py calls window.runBench(kind, seconds) and gets back the worker's result object.

const WORKERS = {
  pycore: () => new Worker('/bench/pycore-worker.js', { type: 'module' }),
  convnetjs: () => new Worker('/bench/convnetjs-worker.js'),
};
const CHUNKS = 2;             // the first 2 training chunks: 10,000 images
const SIZE = 28 * 28;

async function gunzip(resp) {
  const stream = resp.body.pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The first CHUNKS training chunks of MNIST; -> {images: Uint8Array (N*784), labels: Uint8Array (N)}. */
async function loadTrainChunks() {
  const manifest = await (await fetch('/data/manifest.json')).json();
  const chunks = manifest.datasets.mnist.train.slice(0, CHUNKS);
  const parts = [];
  for (const c of chunks) {
    const resp = await fetch('/' + c.file);
    if (!resp.ok) throw new Error(`${c.file}: HTTP ${resp.status}`);
    const raw = await gunzip(resp);   // count label bytes, then count*784 pixel bytes
    if (raw.length !== c.count * (1 + SIZE)) throw new Error(`${c.file}: ${raw.length} bytes for ${c.count} images`);
    parts.push({ labels: raw.subarray(0, c.count), images: raw.subarray(c.count) });
  }
  const N = parts.reduce((n, p) => n + p.labels.length, 0);
  const labels = new Uint8Array(N), images = new Uint8Array(N * SIZE);
  let n = 0;
  for (const p of parts) { labels.set(p.labels, n); images.set(p.images, n * SIZE); n += p.labels.length; }
  return { images, labels };
}

const data = loadTrainChunks();

window.runBench = async (kind, seconds, timeoutS) => {
  const { images, labels } = await data;
  const worker = WORKERS[kind]();
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${kind} worker gave no result in ${timeoutS} s`)), timeoutS * 1000);
      worker.onmessage = (e) => { clearTimeout(timer); if (e.data.error) reject(new Error(e.data.error)); else resolve(e.data); };
      worker.onerror = (e) => { clearTimeout(timer); reject(new Error(`${kind} worker failed: ${e.message || 'script error'}`)); };
      // Copies, so a second run still has the data.
      worker.postMessage({ images: images.slice(), labels: labels.slice(), seconds });
    });
  } finally {
    worker.terminate();
  }
};
