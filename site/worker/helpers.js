// The training worker's helpers for data-parallel training: dedicated workers (helper.js) that
// each keep a copy of the run and compute one piece of every batch. run(send) posts a batch's jobs
// and resolves with their results; a helper that fails is dropped and its pieces are trained by the
// training worker. A helper can owe two batches at once: the one under way and the one drawn ahead.
const TIMEOUT_MS = 30000;     // a helper silent this long while it owes a result is taken for lost

export class Helpers {
  /** count helpers for pieces 1..count; onReady(pieces) whenever the set of ready ones changes. */
  constructor(url, count, { onReady = () => {}, onLost = () => {} } = {}) {
    this.onReady = onReady;
    this.onLost = onLost;
    this.workers = new Map();     // piece -> {worker, ready, owed: Map(serial -> {resolve, reject}), timer}
    for (let piece = 1; piece <= count; piece++) {
      const worker = new Worker(url, { type: 'module', name: `helper ${piece}` });
      const h = { worker, ready: false, owed: new Map(), timer: null };
      worker.onmessage = (e) => this.message(piece, e.data);
      worker.onerror = (e) => { e.preventDefault(); this.lose(piece, e.message || 'it failed'); };
      this.workers.set(piece, h);
    }
  }

  /** The helpers not lost. */
  get size() { return this.workers.size; }

  ready() { return [...this.workers].filter(([, h]) => h.ready).map(([k]) => k); }

  message(piece, msg) {
    const h = this.workers.get(piece);
    if (!h) return;
    if (msg.type === 'ready') { h.ready = true; this.onReady(this.ready()); }
    else if (msg.type === 'error') this.lose(piece, msg.message);
    else if (msg.type === 'result' && h.owed.has(msg.serial)) {
      const owed = h.owed.get(msg.serial);
      h.owed.delete(msg.serial);
      this.watch(piece, h);
      owed.resolve(msg.results);
    }
  }

  // While a helper owes a result, it must answer within TIMEOUT_MS of its last answer.
  watch(piece, h) {
    clearTimeout(h.timer);
    h.timer = h.owed.size ? setTimeout(() => this.lose(piece, `no answer in ${TIMEOUT_MS / 1000} s`), TIMEOUT_MS) : null;
  }

  lose(piece, why) {
    if (!this.drop(piece, why)) return;
    this.onLost(piece, why);
    this.onReady(this.ready());
  }

  // The helper of `piece` stops; what it owed is rejected. -> false if there was none.
  drop(piece, why) {
    const h = this.workers.get(piece);
    if (!h) return false;
    this.workers.delete(piece);
    clearTimeout(h.timer);
    h.worker.terminate();
    for (const owed of h.owed.values()) owed.reject(new Error(why));
    h.owed.clear();
    return true;
  }

  /** Post a batch's jobs ({serial, jobs: [{piece, ...}]}, stepping.py's _jobs) to their helpers.
   *  -> Promise<{serial, results, lost}>: the results of the helpers that answered, and the pieces
   *  of those that failed or were stopped meanwhile. */
  run(send) {
    const { serial, jobs } = send;
    return Promise.allSettled(jobs.map((job) => new Promise((resolve, reject) => {
      const h = this.workers.get(job.piece);
      if (!h) { reject(new Error('no helper')); return; }
      h.owed.set(serial, { resolve, reject });
      if (h.owed.size === 1) this.watch(job.piece, h);
      h.worker.postMessage(job);
    }))).then((settled) => ({
      serial,
      results: settled.filter((s) => s.status === 'fulfilled').flatMap((s) => s.value),
      lost: jobs.filter((j, i) => settled[i].status === 'rejected').map((j) => j.piece),
    }));
  }

  /** Every helper stops; what they owed counts as lost. */
  stop() { for (const piece of [...this.workers.keys()]) this.drop(piece, 'stopped'); }
}
