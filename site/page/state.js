// The page's URL state: one typed table of every key a link or an embed may set, read from the
// query string and the hash, and written back with history.replaceState (never a new history entry,
// which would break a deck's back button). Nothing from a URL is ever evaluated: each value is
// parsed by its key's type and checked against its key's limits; pycore checks spec and trainer values.

export const PANELS = ['controls', 'stats', 'charts', 'network', 'lessons', 'predictions', 'evaluation', 'custom', 'files'];
export const ROWS = ['activations', 'gradients', 'weights', 'weight-gradients'];
export const METHODS = ['sgd', 'momentum', 'nesterov', 'adagrad', 'adadelta', 'adam', 'windowgrad'];
export const SCHEDULES = ['constant', 'step', 'exponential', 'cosine'];
const MAX_SPEC_CHARS = 20000;    // a long spec is a mistake or an attack; pycore's parameter cap applies too
const MAX_TEXT = 200;            // any other value

// Each parser takes the URL text and returns the value or throws an Error saying why.
function number({ min = -Infinity, max = Infinity, integer = false, minExclusive = false } = {}) {
  return (text) => {
    const v = Number(text);
    if (text.trim() === '' || !Number.isFinite(v)) throw new Error('it is not a number');
    if (integer && !Number.isInteger(v)) throw new Error('it must be a whole number');
    if (v < min || (minExclusive && v === min)) throw new Error(`it must be ${minExclusive ? 'above' : 'at least'} ${min}`);
    if (v > max) throw new Error(`it must be at most ${max}`);
    return v;
  };
}
function oneOf(values) {
  return (text) => {
    if (!values.includes(text)) throw new Error(`it must be one of ${values.join(', ')}`);
    return text;
  };
}
function flag(text) {
  if (text !== '0' && text !== '1') throw new Error('it must be 1 or 0');
  return text === '1';
}
// A comma list of known words: unknown words are dropped and reported, the rest kept.
function listOf(values) {
  return (text, note) => {
    const items = text.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = items.filter((s) => !values.includes(s));
    if (bad.length) note(`${bad.join(', ')} ${bad.length > 1 ? 'are' : 'is'} not one of ${values.join(', ')}`);
    const good = [...new Set(items.filter((s) => values.includes(s)))];
    if (!good.length) throw new Error(`it names none of ${values.join(', ')}`);
    return good;
  };
}
// Layer names are checked later, against the network (they are its layers' indices or names).
function layerList(text) {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.filter((s) => !/^(\d{1,3}|[a-z]{2,12}\d{1,3})$/.test(s));
  if (bad.length || !items.length) throw new Error('it must be layer indices or names such as conv1,pool1');
  return items;
}
function focusTarget(text) {
  if (text === 'training') return { kind: 'training' };
  const m = /^test:(\d{1,5})$/.exec(text);
  if (!m) throw new Error('it must be "training" or test:N, e.g. test:123');
  return { kind: 'test', index: Number(m[1]) };
}
function refreshRate(text) {
  if (text === 'live' || text === 'hold') return text;
  const s = Number(text);
  if (text.trim() === '' || !Number.isFinite(s) || s < 0.1 || s > 3600) {
    throw new Error('it must be live, hold or a period in seconds between 0.1 and 3600');
  }
  return s;
}
function specText(text) {
  if (text.length > MAX_SPEC_CHARS) throw new Error(`it is longer than ${MAX_SPEC_CHARS} characters`);
  return text;   // pycore parses and validates it exactly as it does the editor's text
}
function name(text) {
  if (!/^[a-z0-9-]{1,40}$/.test(text)) throw new Error('it is not a name');
  return text;
}

const listText = (v) => v.join(',');
const focusText = (f) => (f.kind === 'test' ? `test:${f.index}` : f.kind);

/** The number of workers when the URL sets none: one per core, less two for the page itself (its
 * drawing and the browser's own threads), at most 4 (a batch of 32 in pieces of 8). Measured on 2
 * cores: a second worker gave 0.90x the examples/s of one (BENCHMARKS.md), so there it is 1. A
 * phone or a tablet (a touch screen and no mouse) or a browser that reports 4 GB of memory or less
 * gets 1 whatever its cores: each helper is a whole Pyodide of its own, and a phone's tab
 * that asks for too much is killed. */
export const MAX_WORKERS = 16;          // as many as session.py's MAX_WORKERS
export function defaultWorkers(cores = navigator.hardwareConcurrency || 1, small = smallDevice()) {
  return small ? 1 : Math.max(1, Math.min(4, cores - 2));
}
export function smallDevice() {
  const memory = navigator.deviceMemory;        // Chromium only: GB, rounded down to a power of 2
  return (memory !== undefined && memory <= 4) || window.matchMedia('(pointer: coarse) and (hover: none)').matches;
}

/** key -> {parse(text, note), format(value), default, run (true: it defines the run, so embeds with
 * different values never share one), doc}. `default: null` means "not set". */
export const KEYS = {
  preset: { parse: name, default: null, run: true, doc: "a preset network's name" },
  spec: { parse: specText, default: null, run: true, doc: 'a JSON layer list, validated by pycore' },
  dataset: { parse: name, default: null, run: true, doc: 'mnist or fashion-mnist' },
  seed: { parse: number({ min: 0, max: 2 ** 32 - 1, integer: true }), default: null, run: true, doc: 'a whole number' },
  workers: { parse: number({ min: 1, max: MAX_WORKERS, integer: true }), default: null, doc: `workers that train the run together (data-parallel), 1 to ${MAX_WORKERS}` },
  trainer: { parse: name, default: null, run: true, doc: "a named trainer: fast (the default) or convnetjs; the keys below change it" },
  method: { parse: oneOf(METHODS), default: null, run: true, doc: 'the update rule' },
  learning_rate: { parse: number({ min: 0 }), default: null, run: true, doc: 'a number' },
  momentum: { parse: number({ min: 0, max: 0.999 }), default: null, run: true, doc: 'a number below 1' },
  batch_size: { parse: number({ min: 1, max: 1000, integer: true }), default: null, run: true, doc: '1 to 1000' },
  l1_decay: { parse: number({ min: 0 }), default: null, run: true, doc: 'a number' },
  l2_decay: { parse: number({ min: 0 }), default: null, run: true, doc: 'a number' },
  schedule: { parse: oneOf(SCHEDULES), default: null, run: true, doc: 'the learning-rate schedule' },
  step_size: { parse: number({ min: 1, integer: true }), default: null, run: true, doc: 'a whole number of updates' },
  gamma: { parse: number({ min: 0, max: 1 }), default: null, run: true, doc: 'a number in (0, 1]' },
  total_steps: { parse: number({ min: 1, integer: true }), default: null, run: true, doc: 'a whole number of updates' },
  min_rate: { parse: number({ min: 0 }), default: null, run: true, doc: 'a number' },
  warmup_steps: { parse: number({ min: 0, integer: true }), default: null, run: true, doc: 'a whole number of updates' },
  start: { parse: oneOf(['scratch', 'pretrained']), default: 'scratch', run: true, doc: 'scratch or pretrained' },
  embed: { parse: flag, format: (v) => (v ? '1' : '0'), default: false, doc: '1 for embed mode' },
  panels: { parse: listOf(PANELS), format: listText, default: null, doc: 'which panels' },
  layers: { parse: layerList, format: listText, default: null, doc: 'which layer boxes' },
  show: { parse: listOf(ROWS), format: listText, default: null, doc: 'which rows of each layer box' },
  focus: { parse: focusTarget, format: focusText, default: null, doc: 'training or test:N' },
  autoplay: { parse: flag, format: (v) => (v ? '1' : '0'), default: null, doc: '1 trains at once, 0 waits for Play; unset: at once, except in a frame of another origin (its slide or Play)' },
  logloss: { parse: flag, format: (v) => (v ? '1' : '0'), default: false, doc: '1 draws the loss on a log scale' },
  refresh: { parse: refreshRate, format: String, default: 'live', doc: 'live, seconds, or hold' },
  lesson: { parse: name, default: null, doc: 'the lesson to open' },
  theme: { parse: oneOf(['light', 'dark']), default: null, doc: "light or dark; unset, the system's choice" },
};
// Keys the page itself uses that are not state (they are kept in links, never reported).
const PASSTHROUGH = new Set(['stall']);

/** Parse a URL's query string and hash (the hash wins where both set a key).
 * -> {values: key -> value for every key, notes: [{key, value, why}]}. */
export function readState(url) {
  const u = new URL(url);
  const values = Object.fromEntries(Object.entries(KEYS).map(([k, d]) => [k, d.default]));
  const notes = [];
  const sources = [u.searchParams, new URLSearchParams(u.hash.replace(/^#/, ''))];
  for (const params of sources) {
    for (const [key, raw] of params) {
      if (PASSTHROUGH.has(key)) continue;
      const shown = raw.length > 80 ? `${raw.slice(0, 77)}…` : raw;
      const def = KEYS[key];
      if (!def) { notes.push({ key, value: shown, why: 'this page has no such setting' }); continue; }
      if (key !== 'spec' && raw.length > MAX_TEXT) { notes.push({ key, value: shown, why: 'it is too long' }); continue; }
      try {
        values[key] = def.parse(raw, (why) => notes.push({ key, value: shown, why }));
      } catch (err) {
        notes.push({ key, value: shown, why: err.message });
      }
    }
  }
  return { values, notes };
}

/** The keys that define the run, as a stable string: embeds with the same one share one run. */
export function runKey(values) {
  return JSON.stringify(Object.keys(KEYS).filter((k) => KEYS[k].run).map((k) => [k, values[k]]));
}

/** The query string of `values`: only keys that differ from their defaults, in table order. */
export function queryOf(values) {
  const params = new URLSearchParams();
  for (const [key, def] of Object.entries(KEYS)) {
    const v = values[key];
    if (v === null || v === undefined || v === def.default) continue;
    params.set(key, def.format ? def.format(v) : String(v));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Write `values` into the address bar without a new history entry (other parameters kept). */
export function writeState(values) {
  const u = new URL(location.href);
  const kept = [...u.searchParams].filter(([k]) => PASSTHROUGH.has(k));
  let query = queryOf(values);
  if (kept.length) query += (query ? '&' : '?') + new URLSearchParams(kept).toString();
  const next = `${u.pathname}${query}`;
  if (next !== `${u.pathname}${u.search}` || u.hash) history.replaceState(history.state, '', next);
}

/** A link to `values` on this page, an <iframe> snippet embedding it, and a reveal.js slide of it
 * with the lines that add the deck plugin (deck/reveal-live-cnn.js). */
export function shareLinks(values, { width = 960, height = 700 } = {}) {
  const base = new URL(location.pathname, location.href).href;
  const link = base + queryOf(values);
  const embedded = base + queryOf({ ...values, embed: true });
  const attr = embedded.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  const iframe = `<iframe src="${attr}" width="${width}" height="${height}" style="border:0" `
    + 'title="Live CNN" allow="clipboard-write"></iframe>';
  const plugin = new URL('deck/reveal-live-cnn.js', base).href;
  const slides = `<section>\n  <iframe data-src="${attr}" data-preload width="100%" height="600" style="border:0"\n`
    + '    title="Live CNN" allow="clipboard-write"></iframe>\n</section>\n\n'
    + '<!-- Once per deck, after reveal.js: tells each embed whether its slide is shown. -->\n'
    + `<script src="${plugin}"></script>\n`
    + '<script>Reveal.initialize({ plugins: [RevealLiveCnn] });</script>';
  return { link, iframe, slides };
}
