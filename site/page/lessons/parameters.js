// Lesson: how many parameters does a layer have? F·F·C_in weights and one bias per filter, on the
// seeds' example (ten 5x5 filters on a 32x32x3 image), on every layer of the live network, and
// the CNN preset against the MLP preset: weight sharing.
import { el } from '../views/viewstate.js';
import { num, numberInput, para, scrolling } from './util.js';

export const id = 'parameters';
export const title = 'Parameters: F·F·C_in + 1 per filter';
export const question = 'How many weights does a conv layer have, and why so few?';

export function mount(root, ctx) {
  root.append(para('Each filter of a conv layer looks at an F×F patch through ', 'all', ' C_in channels of its input, '
    + 'so it holds F·F·C_in weights, plus one bias. A layer of K filters has K·(F·F·C_in + 1) parameters, '
    + 'whatever the size of the image: the same filter is used at every position.'));
  const result = el('p', { class: 'lesson-result', 'data-stat': 'parameters' });
  const inputs = {};
  const update = () => {
    const { F, C, K } = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.value]));
    const each = F * F * C + 1;
    result.textContent = `${F}·${F}·${C} + 1 = ${num(each)} per filter; ${K} filters: ${num(K * each)} parameters`;
  };
  const row = el('div', { class: 'lesson-row' });
  for (const [key, label, min, max, value] of [['F', 'filter F', 1, 11, 5], ['C', 'input channels C_in', 1, 64, 3],
    ['K', 'filters K', 1, 64, 10]]) {
    inputs[key] = numberInput(label, { min, max, value, name: `lesson-${key}` }, update);
    row.append(inputs[key].box);
  }
  root.append(el('p', { class: 'note' }, 'It opens on a 32×32×3 colour image and ten 5×5 filters:'), row, result);
  update();

  root.append(el('h4', {}, 'On the network being trained'));
  const table = el('table', { class: 'lesson-table', 'data-role': 'layer-parameters' });
  const compare = el('div', { 'data-role': 'compare' });
  root.append(scrolling(table), el('h4', {}, 'A CNN against an MLP'), compare);

  async function comparePresets(presets) {
    if (!presets || !presets.convnetjs || !presets.mlp) return;
    try {
      const [cnn, mlp] = await Promise.all([ctx.request('plan', { spec: presets.convnetjs.spec }),
        ctx.request('plan', { spec: presets.mlp.spec })]);
      const first = mlp.layers.find((L) => L.type === 'fc');
      compare.replaceChildren(
        el('p', { 'data-result': 'cnn' }, `${presets.convnetjs.title}: ${num(cnn.param_count)} parameters`),
        el('p', { 'data-result': 'mlp' }, `${presets.mlp.title}: ${num(mlp.param_count)} parameters`),
        para(`The MLP's first layer alone has ${num(first.params)}: every one of its neurons has its own weight for each of `
          + `the ${num(first.in_shape.reduce((a, b) => a * b))} input pixels. A 5×5 filter on the image has 25 weights and uses them `
          + 'at every position. That is ', 'weight sharing', `: the CNN has ${(mlp.param_count / cnn.param_count).toFixed(1)}× `
          + 'fewer parameters, and what it learns about an edge in one place it knows everywhere.'));
    } catch (err) {
      compare.textContent = err.message;
    }
  }
  return {
    onNet(net, charts, datasets, presets) {
      const head = el('tr');
      head.append(el('th', {}, 'layer'), el('th', {}, 'output'), el('th', {}, 'parameters'));
      const rows = net.layers.filter((L) => L.params > 0).map((L, i) => {
        const tr = el('tr', { 'data-layer': i });
        tr.append(el('td', {}, L.type), el('td', {}, L.shape.join('×')), el('td', {}, L.params_formula));
        return tr;
      });
      const total = el('tr', { 'data-result': 'live-total' });
      total.append(el('th', {}, 'total'), el('td'), el('th', {}, num(net.param_count)));
      table.replaceChildren(head, ...rows, total);
      comparePresets(presets);
    },
  };
}
