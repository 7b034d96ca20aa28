// The pages a training worker serves, each through a port: one for a dedicated worker, one per
// embed of a shared run. Whether any can be seen decides whether the run trains; what each looks at
// (its focus: the latest training example, a test image or a drawing) decides the layer snapshots
// it gets, the session's focus being switched between them as they are served.

export const ALIVE_MS = 6000;   // a port that has not said it is visible for this long counts as hidden

function transferables(value, out = []) {
  if (ArrayBuffer.isView(value)) out.push(value.buffer);
  else if (Array.isArray(value)) value.forEach((v) => transferables(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => transferables(v, out));
  return out;
}

/** To one port; typed arrays are transferred, so a message can only go to one port. */
export function send(port, msg) { port.postMessage(msg, transferables(msg)); }

// A focus as the session's key: 'training', 'test:INDEX' or 'custom:SERIAL' (a page's drawing).
const focusOf = (f) => (!f || f.kind === 'training' ? 'training' : f.kind === 'test' ? `test:${f.index}` : `custom:${f.serial}`);

export class Pages {
  /** call(method, ...args) -> {ok} or {error}: the session's methods (set_focus, snapshot). */
  constructor(call) {
    this.call = call;
    this.ports = new Map();       // port -> {active, seen, wantSnapshot, focus, serial}
    this.focusKey = 'training';   // the focus the session has now (null: not known, set it anew)
  }

  /** A page connects: hidden until it says otherwise, wanting nothing yet. -> its record. */
  add(port) {
    const p = { active: false, seen: 0, wantSnapshot: false, focus: null };
    this.ports.set(port, p);
    return p;
  }

  get(port) { return this.ports.get(port); }

  /** To every port (typed arrays copied for all but the last). */
  post(msg) {
    const all = [...this.ports.keys()];
    all.forEach((port, i) => (i === all.length - 1 ? send(port, msg) : port.postMessage(msg)));
  }

  /** Some page is active and said so within ALIVE_MS: the run should train. */
  wanted() {
    const now = Date.now();
    for (const p of this.ports.values()) if (p.active && now - p.seen < ALIVE_MS) return true;
    return false;
  }

  /** A page waits for a snapshot of the latest training example, which training makes for free. */
  wantsFree() {
    return this.focusKey === 'training' && [...this.ports.values()].some((p) => p.wantSnapshot && focusOf(p.focus) === 'training');
  }

  /** Every port that asked for a snapshot gets one of its own focus; `free` is the one the training
   *  slice made of the latest training example. fresh: whether training moved on since the last
   *  snapshot (a batch still in parts did not). */
  serve(free = null, fresh = true) {
    for (const [port, p] of this.ports) {
      if (!p.wantSnapshot || (!fresh && focusOf(p.focus) === 'training')) continue;
      if (focusOf(p.focus) === 'training' && free) { p.wantSnapshot = false; send(port, { type: 'snapshot', snapshot: free }); free = null; continue; }
      if (this.setFocus(p.focus).error) { p.focus = null; this.setFocus(null); }
      const snap = this.call('snapshot').ok;
      if (snap) { p.wantSnapshot = false; send(port, { type: 'snapshot', snapshot: snap }); }
    }
  }

  /** The session looks at focus f (null: training) unless it does already. -> set_focus's answer. */
  setFocus(f) {
    const key = focusOf(f);
    if (key === this.focusKey) return { ok: null };
    const r = f && f.kind !== 'training'
      ? this.call('set_focus', f.kind, f.index ?? null, f.pixels ?? null, f.width ?? null, f.height ?? null)
      : this.call('set_focus', 'training');
    if (r.ok) this.focusKey = key;
    return r;
  }

  /** Page p asks to look at msg's focus: set now, so that its errors reach that page; the page
   *  then wants a snapshot of it. -> set_focus's answer (on an error p keeps its focus). */
  look(p, msg) {
    const f = msg.kind === 'training' ? null : { kind: msg.kind, index: msg.index ?? null, pixels: msg.pixels ?? null,
      width: msg.width ?? null, height: msg.height ?? null, serial: (p.serial = (p.serial || 0) + 1) };
    this.focusKey = null;
    const r = f ? this.call('set_focus', f.kind, f.index, f.pixels, f.width, f.height) : this.call('set_focus', 'training');
    if (r.ok) { p.focus = f; this.focusKey = focusOf(f); p.wantSnapshot = true; }
    else this.setFocus(p.focus);
    return r;
  }

  /** A new network: every page looks at training again and wants a snapshot of it. */
  reset() {
    this.focusKey = null;
    for (const p of this.ports.values()) { p.wantSnapshot = true; p.focus = null; }
    this.setFocus(null);
  }
}
