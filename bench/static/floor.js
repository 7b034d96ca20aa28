// The memory floor page's one job: start floor-worker.js; window.floor resolves with what it posts.
const worker = new Worker('/bench/floor-worker.js', { type: 'module' });
window.floor = new Promise((resolve) => {
  worker.onmessage = (e) => resolve(e.data);
  worker.onerror = (e) => resolve({ error: `floor worker: ${e.message || 'it failed to start'}` });
});
