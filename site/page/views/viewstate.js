// What the layer-view modules share: the view state, the canvas -> map lookup the tooltip uses,
// the names of the quantities, and small DOM and number helpers.

export const QUANTITIES = {   // row key -> data-map attribute, tooltip word, bias word
  act: { map: 'activations', word: 'activation' },
  grad: { map: 'gradients', word: 'gradient' },
  w: { map: 'weights', word: 'weight', bias: 'bias' },
  dw: { map: 'weight-gradients', word: 'weight gradient', bias: 'bias gradient' },
};
export const LOSSES = new Set(['softmax', 'svm', 'regression']);

export const state = { views: [], snapshot: null, mode: 'map', classNames: null, hover: null, tooltip: null };
export const hits = new WeakMap();   // canvas -> { view, row, part } for the tooltip

export function el(tag, attrs = {}, text = '') {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

// A whole number with thousands separators, as toLocaleString('en-US') writes it, from one
// formatter made once: toLocaleString makes a new one at each call, which was the largest share of
// the stats panel's time on a slow device.
const GROUPED = new Intl.NumberFormat('en-US');
export const grouped = (n) => GROUPED.format(n);

export function setText(node, text) { if (node.textContent !== text) node.textContent = text; }

// Compact numbers: 0.234, -1.57e-3, 1.2e+4 (digits: significant digits).
export function fmt(v, digits = 3) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return '0';
  return a >= 1e4 || a < 1e-2 ? v.toExponential(digits - 1) : v.toPrecision(digits);
}

export const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

export function unitName(type, k) {
  if (!LOSSES.has(type)) return `${type === 'fc' ? 'neuron' : 'unit'} ${k}`;
  const name = state.classNames && state.classNames[k];
  return name !== undefined && String(name) !== String(k) ? `class ${k} (${name})` : `class ${k}`;
}

/** Whether the visitor asked for less motion (prefers-reduced-motion): no smooth scrolling, and the
 * layer views repaint once a second instead of about ten times. */
export const reducedMotion = () => window.matchMedia('(prefers-reduced-motion: reduce)').matches;

/** How to scroll to something: smoothly, unless less motion was asked for. */
export const scrollBehavior = () => (reducedMotion() ? 'auto' : 'smooth');

const SETTLE_MS = 3000;    // how long a jump keeps its target in place while rows are built around it

/** Scroll `target` into view (block: as scrollIntoView's) and keep it there while the page settles:
 * layer boxes build their rows as they come near sight, which changes their height and would leave
 * the jump hundreds of pixels off. Each time the scroll comes to rest within SETTLE_MS, the jump is
 * made again (at once); the visitor's own wheel, touch, key or click ends it. */
export function scrollSteady(target, block = 'start') {
  const go = (behavior) => target.scrollIntoView({ behavior, block });
  go(scrollBehavior());
  const end = performance.now() + SETTLE_MS;
  const inputs = ['wheel', 'touchstart', 'keydown', 'pointerdown'];
  let stop = false, last = null, still = 0;
  const quit = () => { stop = true; };
  for (const t of inputs) window.addEventListener(t, quit, { capture: true, passive: true });
  (function check() {
    if (stop || performance.now() > end) {
      for (const t of inputs) window.removeEventListener(t, quit, { capture: true });
      return;
    }
    const top = target.getBoundingClientRect().top;
    still = last !== null && Math.abs(top - last) < 0.5 ? still + 1 : 0;
    last = top;
    if (still === 6) go('auto');          // at rest for 6 frames: where the jump asked, again
    requestAnimationFrame(check);
  }());
}
