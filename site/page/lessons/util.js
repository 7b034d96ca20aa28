// Small helpers the lessons share: labelled number inputs and formatted numbers.
import { el } from '../views/viewstate.js';

/** A labelled number input (or range slider) that calls onInput(value) as it changes. */
export function numberInput(label, { min, max, value, step = 1, name, range = false }, onInput) {
  const input = el('input', { type: range ? 'range' : 'number', min, max, step, value, 'data-control': name, name });
  const shown = el('output', {}, String(value));
  input.addEventListener('input', () => {
    const v = Number(input.value);
    if (!Number.isFinite(v) || v < min || v > max) return;
    shown.textContent = String(v);
    onInput(v);
  });
  const box = el('label', { class: 'lesson-input' }, `${label} `);
  box.append(input);
  if (range) box.append(shown);
  return { box, input, get value() { return Number(input.value); } };
}

export const num = (v) => v.toLocaleString('en-US');

/** A box that scrolls sideways when what it holds (a wide table) is wider than the screen. */
export function scrolling(node) {
  const box = el('div', { class: 'lesson-scroll' });
  box.append(node);
  return box;
}

/** Text with a few words in <strong>: parts alternate plain, strong, plain... */
export function para(...parts) {
  const p = el('p');
  parts.forEach((t, i) => p.append(i % 2 ? el('strong', {}, t) : document.createTextNode(t)));
  return p;
}

// Elementwise layers as pycore computes them: f(v, alpha), and the derivative d(v, f(v), alpha).
const SELU_ALPHA = 1.6732632423543772, SELU_SCALE = 1.0507009873554805;
const sigm = (v) => 1 / (1 + Math.exp(-v));
export const ELEMENTWISE = {
  relu: { text: 'max(0, v)', f: (v) => Math.max(0, v), d: (v, o) => (o > 0 ? 1 : 0) },
  lrelu: { text: 'v if v > 0, else α·v', f: (v, a) => (v > 0 ? v : a * v), d: (v, o, a) => (v > 0 ? 1 : a) },
  elu: { text: 'v if v > 0, else α·(eᵛ − 1)', f: (v, a) => (v > 0 ? v : a * Math.expm1(v)), d: (v, o, a) => (v > 0 ? 1 : a * Math.exp(v)) },
  selu: { text: 'λ·v if v > 0, else λ·α·(eᵛ − 1)', f: (v) => SELU_SCALE * (v > 0 ? v : SELU_ALPHA * Math.expm1(v)),
          d: (v) => SELU_SCALE * (v > 0 ? 1 : SELU_ALPHA * Math.exp(v)) },
  sigmoid: { text: '1 / (1 + e⁻ᵛ)', f: sigm, d: (v, o) => o * (1 - o) },
  tanh: { text: 'tanh(v)', f: Math.tanh, d: (v, o) => 1 - o * o },
  softplus: { text: 'log(1 + eᵛ)', f: (v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))), d: sigm },
  dropout: { text: 'v (dropout keeps every value when the net is tested)', f: (v) => v, d: () => 1 },
};
