// Lesson: how big is a layer's output? (N - F + 2P)/S + 1, on the seeds' 7x7 example, with sliders,
// and on any conv or pool layer of the live network, where "Apply" trains the changed network.
import { el } from '../views/viewstate.js';
import { colour } from '../theme.js';
import { message } from '../panels/message.js';
import { numberInput, para, scrolling } from './util.js';

export const id = 'output-size';
export const title = 'Output size: (N − F + 2P)/S + 1';
export const question = 'How big is the output of a conv or pool layer, and when does a filter not fit?';

const CELL = 18;              // CSS px per input cell in the grid

/** -> {size, exact}: how many positions an F-wide window takes on an N-wide input. */
export function outputSize(N, F, S, P) {
  const size = (N - F + 2 * P) / S + 1;
  return { size, exact: Number.isInteger(size) && size >= 1 };
}
const shown = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(2));
const formula = (N, F, S, P) => `(${N} − ${F}${P ? ` + 2·${P}` : ''})/${S} + 1 = ${shown(outputSize(N, F, S, P).size)}`;

// One row of the padded input with the window's positions along it: the input's cells, the zero
// padding marked 0, and the cells no window reaches (when it does not fit) marked × in the theme's
// colour for a mistake; below, each position of the window, numbered.
function drawGrid(canvas, N, F, S, P) {
  const W = N + 2 * P, { size } = outputSize(N, F, S, P);
  const positions = Math.max(0, Math.floor(size));
  const rows = Math.min(positions, 6);
  canvas.width = W * CELL; canvas.height = (rows + 1) * (CELL + 4);
  const g = canvas.getContext('2d');
  g.font = '11px system-ui, sans-serif';
  g.textAlign = 'center';
  let covered = 0;
  for (let k = 0; k < positions; k++) covered = Math.max(covered, k * S + F);
  const cell = (x, fill, mark, ink) => {
    g.fillStyle = fill; g.fillRect(x * CELL + 1, 1, CELL - 2, CELL - 2);
    if (mark) { g.fillStyle = ink; g.fillText(mark, x * CELL + CELL / 2, CELL - 5); }
  };
  for (let x = 0; x < W; x++) {
    if (x >= covered) cell(x, colour('bad-bg'), '×', colour('bad'));
    else if (x < P || x >= P + N) cell(x, colour('line'), '0', colour('fg'));
    else cell(x, colour('bar'));
  }
  for (let k = 0; k < rows; k++) {
    const y = (k + 1) * (CELL + 4);
    g.fillStyle = colour('accent');
    g.fillRect(k * S * CELL + 1, y, F * CELL - 2, CELL - 4);
    g.fillStyle = colour('panel');
    g.fillText(`${k + 1}`, k * S * CELL + 9, y + CELL - 8);
  }
  return { leftover: W - covered };
}

export function mount(root, ctx) {
  root.append(para('A filter of F×F values slides over an N×N input in steps of S (the stride), after P rows and '
    + 'columns of zeros are added on every side (the padding). Along each side it takes ', '(N − F + 2P)/S + 1',
  ' positions, and each position gives one output value. When that is not a whole number the filter does not '
    + 'fit: its last steps would run off the edge, and a layer with those settings cannot be built.'));

  // The seed's worked example: a 7x7 input and a 3x3 filter, at strides 1, 2 and 3.
  const table = el('table', { class: 'lesson-table' });
  table.append(el('caption', {}, 'A 7×7 input, a 3×3 filter, no padding'));
  for (const S of [1, 2, 3]) {
    const { exact } = outputSize(7, 3, S, 0);
    const tr = el('tr', { 'data-result': `stride-${S}` });
    tr.append(el('th', {}, `stride ${S}`), el('td', {}, formula(7, 3, S, 0)),
      el('td', { class: exact ? 'good' : 'bad' }, exact ? `${shown(outputSize(7, 3, S, 0).size)}×${shown(outputSize(7, 3, S, 0).size)} output` : "doesn't fit"));
    table.append(tr);
  }
  root.append(scrolling(table));

  // Sliders, a live formula and the window's positions along one row.
  const controls = el('div', { class: 'lesson-row' });
  const result = el('p', { class: 'lesson-result', 'data-stat': 'output-size' });
  const grid = el('canvas', { class: 'lesson-grid', 'aria-label': "the filter's positions along one row" });
  const padRule = el('p', { class: 'note', 'data-stat': 'same-padding' });
  const inputs = {};
  const update = () => {
    const { N, F, S, P } = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.value]));
    const { exact } = outputSize(N, F, S, P);
    const { leftover } = drawGrid(grid, N, F, S, P);
    result.textContent = `${formula(N, F, S, P)}: ${exact ? `a ${shown(outputSize(N, F, S, P).size)}-wide output`
      : `doesn't fit (${leftover} column${leftover === 1 ? '' : 's'} left over)`}`;
    result.classList.toggle('bad', !exact);
    padRule.textContent = F % 2 ? `With stride 1, padding (F − 1)/2 = ${(F - 1) / 2} keeps the output as large as the input.`
      : `With stride 1, padding (F − 1)/2 keeps the size, which needs an odd F: with F = ${F} no padding does.`;
  };
  for (const [key, label, min, max, value] of [['N', 'input N', 1, 32, 7], ['F', 'filter F', 1, 11, 3],
    ['S', 'stride S', 1, 5, 3], ['P', 'padding P', 0, 5, 0]]) {
    inputs[key] = numberInput(label, { min, max, value, name: `lesson-${key}`, range: true }, update);
    controls.append(inputs[key].box);
  }
  root.append(el('h4', {}, 'Try it'), controls, result, grid, padRule);
  update();

  // The live network: any conv or pool layer, changed and trained.
  root.append(el('h4', {}, 'On the network being trained'));
  const pick = el('select', { 'data-control': 'lesson-layer' });
  const fields = el('div', { class: 'lesson-row' });
  const preview = el('p', { class: 'lesson-result', 'data-stat': 'live-output-size' });
  const apply = el('button', { type: 'button', 'data-control': 'lesson-apply' }, 'Apply and train');
  const note = el('p', { class: 'message', 'data-message': 'lesson' });
  const which = el('label', { class: 'lesson-input' }, 'layer ');
  which.append(pick);
  root.append(which, fields, preview, apply, note);
  let net = null, layerInputs = {}, candidate = null;

  async function check() {
    const L = net.layers[Number(pick.value)];
    const spec = JSON.parse(net.spec);
    const changes = Object.fromEntries(Object.entries(layerInputs).map(([k, v]) => [k, v.value]));
    Object.assign(spec[L.src], changes);
    candidate = null;
    apply.disabled = true;
    try {
      const plan = await ctx.request('plan', { spec: JSON.stringify(spec) });
      const d = plan.layers.find((x) => x.src === L.src && x.type === L.type);
      preview.textContent = `${d.formula}: ${d.out_shape.slice(1).join('×')} per map; the network would have `
        + `${plan.param_count.toLocaleString('en-US')} parameters.`;
      preview.classList.remove('bad');
      candidate = spec;
      apply.disabled = false;
    } catch (err) {
      preview.textContent = err.message;          // pycore's own words, with the arithmetic
      preview.classList.add('bad');
    }
  }
  function showLayer() {
    const L = net.layers[Number(pick.value)];
    const g = L.geometry;
    layerInputs = {
      sx: numberInput('size F', { min: 1, max: 11, value: g.sx, name: 'lesson-sx' }, check),
      stride: numberInput('stride S', { min: 1, max: 5, value: g.stride, name: 'lesson-stride' }, check),
      pad: numberInput('padding P', { min: 0, max: 5, value: g.pad ?? 0, name: 'lesson-pad' }, check),
    };
    fields.replaceChildren(...Object.values(layerInputs).map((x) => x.box));
    check();
  }
  pick.addEventListener('change', showLayer);
  apply.addEventListener('click', async () => {
    if (!candidate) return;
    const text = JSON.stringify(candidate);
    const changed = await ctx.changeNetwork('spec', { text }, note);
    if (changed) {
      ctx.setUrl({ preset: null, spec: text });
      message(note, `Now training the changed network (${changed.param_count.toLocaleString('en-US')} parameters).`, false);
    }
  });
  return {
    onTheme: update,
    onNet(n) {
      net = n;
      const previous = pick.value;
      const names = {};
      pick.replaceChildren(...n.layers.map((L, i) => [L, i]).filter(([L]) => L.type === 'conv' || L.type === 'pool' || L.type === 'avgpool')
        .map(([L, i]) => new Option(`${L.type}${(names[L.type] = (names[L.type] || 0) + 1)} (${L.shape[1]}×${L.shape[2]} out)`, i)));
      if ([...pick.options].some((o) => o.value === previous)) pick.value = previous;
      if (pick.options.length) showLayer();
      else { fields.replaceChildren(); preview.textContent = 'This network has no conv or pool layer.'; apply.disabled = true; }
    },
  };
}
