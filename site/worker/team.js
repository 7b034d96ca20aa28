// The training worker's side of data-parallel training: how many workers the page asked for, the
// helper workers (helpers.js) once started, and each batch's jobs handed to them and their results
// handed back to the session (site/worker/py/stepping.py: train_for's 'send' and 'wait'). Two batches can
// be out at once: the one under way and the next, sent as soon as this worker's pieces were done.
import { Helpers } from './helpers.js';

export class Team {
  /** helperUrl: helper.js's URL; shared: this is a SharedWorker; run: {call(method, ...args) -> {ok}
   *  or {error}, toPy(value), session() -> the session now, addShards(serial, results) -> its ok,
   *  post(message) to every page}. */
  constructor(helperUrl, shared, run) {
    this.helperUrl = helperUrl;
    this.shared = shared;
    this.run = run;
    this.helpers = null;
    this.wanted = 1;
    this.pending = new Map();   // serial -> the batch's jobs out: {session, pieces, result}
    this.busyMs = 0;            // the helpers' computing time so far (their results' busy_ms), for the stats
  }

  /** n workers from the next batch on. -> {ok: n} or {error} (not a whole number from 1 to 16). */
  set(asked) {
    let n = asked;
    if (asked > 1 && typeof Worker === 'undefined') {
      n = 1;
      this.run.post({ type: 'notice', text: `This browser's ${this.shared ? 'shared ' : ''}worker cannot start workers of its own, so the run trains on one core instead of ${asked}.` });
    }
    const r = this.run.call('set_workers', n);
    if (r.error) return r;
    this.wanted = n;
    // Helpers are stopped when their number changes or one was lost (others start after the next
    // step); a fresh session keeps them (its nets have numbers of their own, see stepping.py).
    if (this.helpers && this.helpers.size !== n - 1) { this.helpers.stop(); this.helpers = null; }
    this.run.call('set_ready', this.run.toPy(this.helpers ? this.helpers.ready() : []));
    return { ok: n };
  }

  /** After the first step (so that they do not slow it), the helpers boot; until they are up, this
   *  worker trains their pieces itself, with the same numbers. */
  start() {
    if (this.helpers || this.wanted < 2) return;
    this.helpers = new Helpers(this.helperUrl, this.wanted - 1, {
      onReady: (pieces) => this.run.call('set_ready', this.run.toPy(pieces)),
      onLost: (piece, why) => this.run.post({ type: 'notice', text: `Helper worker ${piece} stopped (${why}); this worker trains its share.` }),
    });
  }

  /** Post a batch's jobs (the session's 'send': {serial, jobs}) to the helpers. */
  send(send) {
    const pieces = send.jobs.map((j) => j.piece);
    const result = this.helpers ? this.helpers.run(send) : Promise.resolve({ serial: send.serial, results: [], lost: pieces });
    this.pending.set(send.serial, { session: this.run.session(), pieces, result });
  }

  /** Wait for the job under way and hand its results to the session, whose batch `serial` waits. */
  async settle(serial) {
    const job = this.pending.get(serial);
    for (const s of this.pending.keys()) if (s <= serial) this.pending.delete(s);   // and any dropped earlier
    if (!job) { this.run.call('take_back', serial, this.run.toPy(Array.from({ length: this.wanted - 1 }, (_, i) => i + 1))); return; }
    const got = await job.result;                          // {serial, results, lost}: it never fails
    if (job.session !== this.run.session()) return;        // "Start fresh" made a new session meanwhile
    for (const r of got.results) this.busyMs += r.busy_ms || 0;
    const added = this.run.addShards(got.serial, got.results);
    // Not this batch's answer (never seen; it would wait for ever): its pieces are trained here;
    // so are those of a helper that failed (or that a change of workers stopped).
    if (added === false) this.run.call('take_back', serial, this.run.toPy(job.pieces));
    else if (got.lost.length) this.run.call('take_back', serial, this.run.toPy(got.lost));
  }
}
