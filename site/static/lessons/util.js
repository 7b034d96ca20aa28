// Small helpers the lessons share: labelled number inputs and formatted numbers.
import { el } from '../viewstate.js';

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

/** Text with a few words in <strong>: parts alternate plain, strong, plain... */
export function para(...parts) {
  const p = el('p');
  parts.forEach((t, i) => p.append(i % 2 ? el('strong', {}, t) : document.createTextNode(t)));
  return p;
}
