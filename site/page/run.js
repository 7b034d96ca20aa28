// The page's connection to its training run: a dedicated worker for a page of its own, or, for an
// embed, a SharedWorker named after the run's settings, so that every embed of one run in a deck
// talks to one Pyodide. request(type, payload) asks the run; on(type, fn) hears what it reports.

/** -> {request, on, silence, shared: bool, fallback: string or ''}. `early` holds the dedicated worker
 * index.html started before this module loaded (or null). */
export function connect({ embed, runName, early, workerUrl }) {
  let port, shared = false, fallback = '';
  if (embed && typeof SharedWorker === 'function') {
    try {
      const w = new SharedWorker(workerUrl, { type: 'module', name: runName });
      port = w.port;
      shared = true;
      w.onerror = (e) => startFailed('the shared training worker', e);
    } catch (err) {
      fallback = `this browser could not share one run between embeds (${err.message}), so this embed trains its own`;
    }
  } else if (embed) {
    fallback = 'this browser has no SharedWorker, so each embed of this deck trains its own run';
  }
  let queued = [];
  if (!port) {
    const started = early || { worker: new Worker(workerUrl, { type: 'module' }), early: [] };
    port = started.worker;
    queued = started.early;
    port.onerror = (e) => {
      e.preventDefault();
      if (ready) emit({ type: 'error', lost: true, message: `the training worker failed: ${e.message || 'script error'}` });
      else startFailed('the training worker', e);
    };
  }
  // A worker that fails before it is ready: an error it threw names its module; a module that could
  // not be loaded comes as a bare event, so the worker's imports are checked to name the one at fault.
  function startFailed(who, e) {
    const say = (text) => emit({ type: 'error', message: `${who} failed to start: ${text}` });
    if (e.message) say(e.filename ? `${window.liveCnnStart.sitePath(e.filename)}: ${e.message}` : e.message);
    else {
      window.liveCnnStart.diagnose(workerUrl).then((found) => say(found ? `${found.module} ${found.message}`
        : 'its script or one of the modules it imports failed to load (the browser gave no reason)'));
    }
  }
  const listeners = new Map();
  function emit(msg) { for (const fn of listeners.get(msg.type) || []) fn(msg); }
  let nextId = 1, heard = performance.now(), ready = false;
  const pending = new Map();     // id -> {resolve, reject, sent}
  port.onmessage = (e) => {
    const msg = e.data;
    heard = performance.now();
    if (msg.type === 'ready') ready = true;
    if (msg.type === 'reply') {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (p) { if (msg.error !== undefined) p.reject(new Error(msg.error)); else p.resolve(msg.ok); }
      return;
    }
    emit(msg);
  };
  port.onmessageerror = () => emit({ type: 'error', message: 'a message from the training worker could not be read' });
  return {
    shared,
    fallback,
    /** Send a request to the run; resolves with its answer or rejects with its error message. */
    request(type, payload = {}) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject, sent: performance.now() });
        port.postMessage({ type, id, ...payload });
      });
    },
    /** How long (ms) the oldest unanswered request has waited while the run has said nothing at all:
     * a worker that is gone (killed for its memory, a trap) answers nothing. 0 when all is well. */
    silence() {
      let oldest = Infinity;
      for (const p of pending.values()) oldest = Math.min(oldest, p.sent);
      return oldest === Infinity ? 0 : Math.max(0, performance.now() - Math.max(oldest, heard));
    },
    /** Call fn(msg) for every message of this type; call replay() once every listener is in. */
    on(type, fn) {
      if (!listeners.has(type)) listeners.set(type, []);
      listeners.get(type).push(fn);
    },
    /** Deliver what the early worker said before the page's listeners existed. */
    replay() {
      for (const e of queued.splice(0)) {
        if (e.type === 'message') port.onmessage(e);
        else if (e.type === 'error') port.onerror(e);
        else port.onmessageerror(e);
      }
    },
  };
}
