// The training worker's helpers for data-parallel training: dedicated workers (helper.js) that
// each compute one piece of every batch. run(job) posts a batch's pieces and resolves with their
// results; a helper that fails is dropped and its pieces are trained by the training worker.
const TIMEOUT_MS = 30000;     // a helper silent this long while it owes a result is taken for lost

export class Helpers {
  /** count helpers for pieces 1..count; onReady(pieces) whenever the set of ready ones changes. */
  constructor(url, count, { onReady = () => {}, onLost = () => {} } = {}) {
    this.onReady = onReady;
    this.onLost = onLost;
    this.workers = new Map();     // piece -> {worker, ready, owed: {serial, resolve, reject} | null}
    for (let piece = 1; piece <= count; piece++) {
      const worker = new Worker(url, { type: 'module', name: `helper ${piece}` });
      const h = { worker, ready: false, owed: null, timer: null, netVersion: null };
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
    else if (msg.type === 'result' && h.owed && h.owed.serial === msg.serial) {
      clearTimeout(h.timer);
      const owed = h.owed; h.owed = null;
      owed.resolve(msg.results);
    }
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
    if (h.owed) h.owed.reject(new Error(why));
    return true;
  }

  /** Post job's pieces to their helpers. -> Promise<{serial, results, lost}>: the results of the
   *  helpers that answered, and the pieces of those that failed or were stopped meanwhile. */
  run(job) {
    const { pieces, ...common } = job;
    return Promise.allSettled(pieces.map((p) => new Promise((resolve, reject) => {
      const h = this.workers.get(p.piece);
      if (!h) { reject(new Error('no helper')); return; }
      h.owed = { serial: job.serial, resolve, reject };
      h.timer = setTimeout(() => this.lose(p.piece, `no answer in ${TIMEOUT_MS / 1000} s`), TIMEOUT_MS);
      // The net's spec goes to a helper once per net: it builds the net when the version changes.
      const net = h.netVersion === common.net.version ? { version: common.net.version } : common.net;
      h.netVersion = common.net.version;
      h.worker.postMessage({ ...common, net, pieces: [p] });
    }))).then((settled) => ({
      serial: job.serial,
      results: settled.filter((s) => s.status === 'fulfilled').flatMap((s) => s.value),
      lost: pieces.filter((p, i) => settled[i].status === 'rejected').map((p) => p.piece),
    }));
  }

  /** Every helper stops; what they owed counts as lost. */
  stop() { for (const piece of [...this.workers.keys()]) this.drop(piece, 'stopped'); }
}
