// Lesson: how one unit was computed. Pick a unit (or click one in the network view): its forward
// arithmetic from the layer below (a conv's receptive field times its filter, a pool's window, an fc
// neuron's largest contributions, an activation's formula) and its gradient, built the same way from
// the layer above. Every number is recomputed here from what pycore holds, and compared with it.
import { GRAY, diverging } from '../views/colormap.js';
import { colour } from '../theme.js';
import { el, scrollSteady } from '../views/viewstate.js';
import { ELEMENTWISE, numberInput, para, scrolling } from './util.js';

export const id = 'unit-math';
export const title = 'Unit math: how one value was computed';
export const question = 'What does a single unit compute? Click any unit in the network view: a dot product at every location, forward and backward.';

const REFRESH_MS = 3000;      // while training, recompute with the newest weights this often
const TOP = 8;                // fc: the largest contributions listed one by one
const f5 = (v) => (Number.isFinite(v) ? v.toFixed(5) : String(v));

// (C, H, W) and a flat index -> [c, y, x]; and back.
const unravel = ([, H, W], i) => [Math.floor(i / (H * W)), Math.floor(i / W) % H, i % W];
const ravel = ([, H, W], c, y, x) => (c * H + y) * W + x;

function tile(values, n, signed) {
  const m = Math.max(...values.map((v) => Math.abs(v)).filter(Number.isFinite), 1e-12);
  const c = el('canvas', { width: n, height: Math.ceil(values.length / n), class: 'lesson-tile' });
  const g = c.getContext('2d'), img = g.createImageData(c.width, c.height), u32 = new Uint32Array(img.data.buffer);
  values.forEach((v, i) => {
    const t = !Number.isFinite(v) ? 0 : signed ? (v / m + 1) / 2 : Math.max(0, v) / m;
    u32[i] = (signed ? diverging() : GRAY)[Math.max(0, Math.min(255, Math.round(255 * t)))];
  });
  g.putImageData(img, 0, 0);
  return c;
}

function box(attrs, ...children) { const d = el('div', attrs); d.append(...children); return d; }

// A KH x KW grid of numbers, one cell marked.
function numberGrid(values, KW, mark = -1, caption = '') {
  const t = el('table', { class: 'lesson-table lesson-matrix' });
  if (caption) t.append(el('caption', {}, caption));
  for (let r = 0; r * KW < values.length; r++) {
    const tr = el('tr');
    for (let q = 0; q < KW; q++) {
      const i = r * KW + q, v = values[i];
      tr.append(el('td', i === mark ? { class: 'good' } : {}, typeof v === 'number' ? (Number.isFinite(v) ? v.toFixed(3) : 'pad') : v));
    }
    t.append(tr);
  }
  return t;
}

// Forward: how layer k's unit i follows from layer k - 1. -> {nodes, computed, data, text}.
function forward(net, snap, k, i) {
  const L = net.layers[k], S = snap.layers[k], g = L.geometry || {};
  const held = S.act.data[i];
  if (k === 0) return { nodes: [para('The input holds the pixel itself: its gray level divided by 255, on the centre 24×24 crop.')], computed: held, data: {} };
  const X = snap.layers[k - 1].act, [C, H, W] = X.shape, [, OH, OW] = S.shape;
  if (L.type === 'conv') {
    const [F, , KH, KW] = S.weights.w.shape, w = S.weights.w.data, [f, y, x] = unravel(S.shape, i);
    const patch = [], weights = [], dots = [];
    for (let c = 0; c < C; c++) {
      let dot = 0;
      for (let a = 0; a < KH; a++) for (let b = 0; b < KW; b++) {
        const yy = y * g.stride - g.pad + a, xx = x * g.stride - g.pad + b;
        const v = yy >= 0 && yy < H && xx >= 0 && xx < W ? X.data[ravel(X.shape, c, yy, xx)] : 0;
        const wt = w[((f * C + c) * KH + a) * KW + b];
        patch.push(v); weights.push(wt); dot += v * wt;
      }
      dots.push(dot);
    }
    const bias = S.weights.b.data[f], sum = dots.reduce((s, d) => s + d, 0);
    const top = y * g.stride - g.pad, left = x * g.stride - g.pad;
    const nodes = [para(`Filter ${f} of ${F} is ${KW}×${KH}×${C}: it covers the input from (x ${left}, y ${top}) to (x ${left + KW - 1}, y ${top + KH - 1})`
      + `${top < 0 || left < 0 || top + KH > H || left + KW > W ? ' (outside the input counts as 0: padding)' : ''} across `, C > 1 ? `all ${C} input maps` : 'its one input map',
    '. Multiply each value by the weight over it, add all the products, add the bias.')];
    const table = el('table', { class: 'lesson-table', 'data-role': 'unit-channels' });
    const rows = ['input map', 'receptive field', 'filter', 'products', 'sum'].map((t) => { const tr = el('tr'); tr.append(el('th', {}, t)); return tr; });
    const n = KH * KW;
    for (let c = 0; c < C; c++) {
      const p = patch.slice(c * n, (c + 1) * n), q = weights.slice(c * n, (c + 1) * n);
      const cells = [tile(p, KW, X.min < 0), tile(q, KW, true), tile(p.map((v, j) => v * q[j]), KW, true)];
      rows[0].append(el('td', {}, String(c)));
      cells.forEach((cv, r) => { const td = el('td'); td.append(cv); rows[r + 1].append(td); });
      rows[4].append(el('td', { 'data-channel': c }, dots[c].toFixed(4)));
    }
    table.replaceChildren(...rows);
    nodes.push(box({ class: 'lesson-scroll' }, table));
    const c0 = dots.reduce((best, d, c) => (Math.abs(d) > Math.abs(dots[best]) ? c : best), 0);
    const p0 = patch.slice(c0 * n, (c0 + 1) * n), q0 = weights.slice(c0 * n, (c0 + 1) * n);
    nodes.push(box({ class: 'lesson-row' },
      numberGrid(p0, KW, -1, `map ${c0}: the receptive field`), numberGrid(q0, KW, -1, '× the filter'),
      numberGrid(p0.map((v, j) => v * q0[j]), KW, -1, `= products, sum ${dots[c0].toFixed(4)}`)));
    return { nodes, computed: sum + bias, data: { patch, weights, bias },
             text: `${C > 1 ? `sum over the ${C} maps ` : 'sum of the products '}${f5(sum)} + bias ${f5(bias)} = ${f5(sum + bias)}` };
  }
  if (L.type === 'pool' || L.type === 'avgpool') {
    const [c, y, x] = unravel(S.shape, i), KH = g.sy ?? g.sx, KW = g.sx, max = L.type === 'pool';
    const values = [];
    for (let a = 0; a < KH; a++) for (let b = 0; b < KW; b++) {
      const yy = y * g.stride - g.pad + a, xx = x * g.stride - g.pad + b;
      const inside = yy >= 0 && yy < H && xx >= 0 && xx < W;
      values.push(inside ? X.data[ravel(X.shape, c, yy, xx)] : max ? -Infinity : 0);
    }
    let arg = 0;
    values.forEach((v, j) => { if (v > values[arg]) arg = j; });      // the first largest, as pycore picks it
    const computed = max ? values[arg] : values.reduce((s, v) => s + v, 0) / values.length;
    return { nodes: [para(`The ${KW}×${KH} window of map ${c} at (x ${x * g.stride - g.pad}, y ${y * g.stride - g.pad}); the unit keeps its `,
      max ? 'largest value' : 'mean', max ? ' (marked). No weights: pooling only picks.' : '.'), numberGrid(values, KW, max ? arg : -1)],
    computed, data: { values: values.map((v) => (Number.isFinite(v) ? v : null)), kind: max ? 'max' : 'mean' },
    text: `${max ? 'max' : 'mean'} of the window = ${f5(computed)}` };
  }
  if (L.type === 'fc') {
    const D = X.data.length, w = S.weights.w.data, bias = S.weights.b.data[i];
    const terms = Array.from({ length: D }, (_, j) => [j, X.data[j] * w[i * D + j]]);
    const sum = terms.reduce((s, [, t]) => s + t, 0);
    const big = [...terms].sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).slice(0, TOP);
    const rest = sum - big.reduce((s, [, t]) => s + t, 0);
    const t = el('table', { class: 'lesson-table', 'data-role': 'unit-contributions' });
    t.append(el('caption', {}, `the ${TOP} largest of its ${D} contributions`));
    const head = el('tr');
    for (const h of ['input', 'where', 'value', 'weight', 'product']) head.append(el('th', {}, h));
    t.append(head);
    for (const [j, v] of big) {
      const tr = el('tr', { 'data-input': j });
      const where = C * H * W === D && H * W > 1 ? `map ${unravel(X.shape, j)[0]} (x ${unravel(X.shape, j)[2]}, y ${unravel(X.shape, j)[1]})` : `unit ${j}`;
      for (const cellText of [String(j), where, X.data[j].toFixed(4), w[i * D + j].toFixed(4), v.toFixed(4)]) tr.append(el('td', {}, cellText));
      t.append(tr);
    }
    return { nodes: [para(`Neuron ${i} has one weight for each of the ${D} values below it${H * W > 1 ? ' (the volume read in the order map, row, column)' : ''}: `,
      'a dot product', ' of them all, plus its bias.'), scrolling(t)],
    computed: sum + bias, data: { inputs: Array.from(X.data), weights: Array.from(w.subarray(i * D, (i + 1) * D)), bias, top: big.map(([j]) => j) },
    text: `the ${TOP} largest ${f5(big.reduce((s, [, t]) => s + t, 0))} + the other ${D - big.length} ${f5(rest)} + bias ${f5(bias)} = ${f5(sum + bias)}` };
  }
  if (L.type === 'softmax') {
    const z = Array.from(X.data), m = Math.max(...z), e = z.map((v) => Math.exp(v - m)), total = e.reduce((s, v) => s + v, 0);
    return { nodes: [para(`Softmax turns the ${z.length} scores into probabilities: e to the power of score ${i} (${f5(z[i])}), `,
      'divided by the sum', ' of e to the power of every score.')], computed: e[i] / total, data: { scores: z },
    text: `e^${f5(z[i])} / Σ e^z = ${f5(e[i] / total)}` };
  }
  const E = ELEMENTWISE[L.type];
  if (E) {
    const v = X.data[i], out = E.f(v, g.alpha);
    return { nodes: [para(`${L.type} works on each value alone: it maps v to `, E.text, `, here with v = ${f5(v)}, the same unit of the layer below.`)],
      computed: out, data: { input: v }, text: `${L.type}(${f5(v)}) = ${f5(out)}` };
  }
  return { nodes: [para(`A ${L.type} layer is not worked out here.`)], computed: NaN, data: {} };
}

// Backward: the loss's gradient at layer k's unit i, from the layer above, as the chain rule builds it.
function backward(net, snap, k, i) {
  const S = snap.layers[k];
  if (!S.grad) return { nodes: [para('Nobody needs the gradient with respect to the input image, so pycore never computes it.')], computed: NaN };
  const held = S.grad.data[i], A = net.layers[k + 1];
  if (!A || A.type === 'softmax') {      // the loss: its gradient with respect to the scores
    const p = snap.probs[i], hot = i === snap.label ? 1 : 0;
    return { nodes: [para(`${A ? 'Above is the softmax loss: the' : 'The backward pass starts here. The'} loss's gradient with respect to score ${i} is its probability minus `,
      '1 for the true class', ` (class ${snap.label}), minus 0 for the others.${A ? '' : ' pycore shows it on the softmax layer and passes it down unchanged.'}`)],
    computed: p - hot, text: `${f5(p)} − ${hot} = ${f5(p - hot)}`, data: { terms: [[p, 1], [-hot, 1]] } };
  }
  if (net.layers[k + 1].type === 'svm') return { nodes: [para('The gradient of the SVM loss is not worked out here.')], computed: NaN };
  const U = snap.layers[k + 1], G = U.grad, g = A.geometry || {};
  const [C, H, W] = S.shape;
  const E = ELEMENTWISE[A.type];
  if (E) {
    const d = E.d(S.act.data[i], U.act.data[i], g.alpha);
    return { nodes: [para(`Above is ${A.type}: its gradient times the slope of ${A.type} at this unit's value ${f5(S.act.data[i])}.`)],
      computed: G.data[i] * d, text: `${f5(G.data[i])} × ${f5(d)} = ${f5(G.data[i] * d)}`, data: { terms: [[G.data[i], d]] } };
  }
  const terms = [];       // [gradient above, weight (or share)] per unit above that reads this one
  let how = '';
  if (A.type === 'fc') {
    const D = S.act.data.length, w = U.weights.w.data, M = G.data.length;
    for (let j = 0; j < M; j++) terms.push([G.data[j], w[j * D + i], `neuron ${j}`]);
    how = `Every one of the ${M} neurons above reads this unit: the sum of each one's gradient times the weight it gives this unit.`;
  } else if (A.type === 'conv') {
    const [F, , KH, KW] = U.weights.w.shape, w = U.weights.w.data, [, OH, OW] = A.shape, [c, y, x] = unravel(S.shape, i);
    for (let f = 0; f < F; f++) for (let a = 0; a < KH; a++) for (let b = 0; b < KW; b++) {
      const oy = (y + g.pad - a) / g.stride, ox = (x + g.pad - b) / g.stride;
      if (Number.isInteger(oy) && Number.isInteger(ox) && oy >= 0 && oy < OH && ox >= 0 && ox < OW) {
        terms.push([G.data[ravel(A.shape, f, oy, ox)], w[((f * C + c) * KH + a) * KW + b], `filter ${f} at (x ${ox}, y ${oy})`]);
      }
    }
    how = `The conv above reads this unit wherever one of its filters covers it: ${terms.length} places. Its gradient is the sum of the gradient there times the filter weight that lay over this unit: the forward dot products, run backwards.`;
  } else if (A.type === 'pool' || A.type === 'avgpool') {
    const KH = g.sy ?? g.sx, KW = g.sx, [, OH, OW] = A.shape, [c, y, x] = unravel(S.shape, i), max = A.type === 'pool';
    for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
      const a = y - (oy * g.stride - g.pad), b = x - (ox * g.stride - g.pad);
      if (a < 0 || a >= KH || b < 0 || b >= KW) continue;
      let share = 1 / (KH * KW);
      if (max) {   // the window's first largest value gets all of its gradient
        let best = -Infinity, arg = -1;
        for (let u = 0; u < KH; u++) for (let v = 0; v < KW; v++) {
          const yy = oy * g.stride - g.pad + u, xx = ox * g.stride - g.pad + v;
          const val = yy >= 0 && yy < H && xx >= 0 && xx < W ? S.act.data[ravel(S.shape, c, yy, xx)] : -Infinity;
          if (val > best) { best = val; arg = u * KW + v; }
        }
        share = arg === a * KW + b ? 1 : 0;
      }
      terms.push([G.data[ravel(A.shape, c, oy, ox)], share, `window (x ${ox}, y ${oy})`]);
    }
    how = max ? 'Max pooling passes each window\'s gradient to its largest value only: this unit gets the gradient of each window it won, else 0.'
      : 'Average pooling shares each window\'s gradient equally among its values.';
  } else {
    return { nodes: [para(`The gradient through a ${A.type} layer is not worked out here.`)], computed: NaN };
  }
  const computed = terms.reduce((s, [gr, wt]) => s + gr * wt, 0);
  const big = [...terms].sort((p, q) => Math.abs(q[0] * q[1]) - Math.abs(p[0] * p[1])).slice(0, TOP);
  const t = el('table', { class: 'lesson-table', 'data-role': 'unit-backward-terms' });
  t.append(el('caption', {}, `the ${Math.min(TOP, terms.length)} largest of ${terms.length} terms`));
  const head = el('tr');
  for (const h of ['from', 'gradient there', A.type.includes('pool') ? 'share' : 'weight', 'product']) head.append(el('th', {}, h));
  t.append(head);
  for (const [gr, wt, from] of big) {
    const tr = el('tr');
    for (const x of [from, gr.toExponential(3), wt.toFixed(4), (gr * wt).toExponential(3)]) tr.append(el('td', {}, x));
    t.append(tr);
  }
  return { nodes: [para(how), scrolling(t)], computed, data: { terms: terms.map(([gr, wt]) => [gr, wt]) },
           text: `sum of ${terms.length} terms = ${computed.toExponential(5)}`, held };
}

export function mount(root, ctx) {
  root.append(para('Every value in the network view was computed by a small sum. Pick a layer and a unit here, or ',
    'click a unit in the network view', ' (an activation, a gradient or a class bar). Below is its forward arithmetic, '
    + 'from the layer under it, and its gradient, from the layer above: the chain rule is the same dot products read backwards. '
    + 'Each result is checked against the value pycore holds.'));
  const controls = el('div', { class: 'lesson-row' });
  const layerPick = el('select', { 'data-control': 'lesson-unit-layer' });
  const lab = el('label', { class: 'lesson-input' }, 'layer ');
  lab.append(layerPick);
  const image = numberInput('test image #', { min: 0, max: 9999, value: 0, name: 'lesson-unit-image' }, () => ask());
  const inputs = { c: null, y: null, x: null };
  const unitBox = el('span', { class: 'lesson-row' });
  controls.append(lab, unitBox, image.box);
  const mapBox = el('div', { class: 'lesson-maps' });
  const where = el('p', { class: 'note', 'data-stat': 'unit-where' });
  const fwdBox = el('section', { 'data-role': 'unit-forward' }), fwdResult = el('p', { class: 'lesson-result', 'data-stat': 'unit-forward' });
  const bwdBox = el('section', { 'data-role': 'unit-backward' }), bwdResult = el('p', { class: 'lesson-result', 'data-stat': 'unit-backward' });
  root.append(controls, mapBox, where, el('h4', {}, 'Forward'), fwdBox, fwdResult, el('h4', {}, 'Backward'), bwdBox, bwdResult);
  let net = null, k = 1, unit = 0, snap = null, lastAsk = -Infinity, asking = false, again = false;

  function unitInputs() {
    const [C, H, W] = net.layers[k].shape;
    const [c, y, x] = unravel(net.layers[k].shape, unit);
    const vector = H === 1 && W === 1;
    const set = () => { unit = ravel(net.layers[k].shape, inputs.c.value, inputs.y?.value ?? 0, inputs.x?.value ?? 0); draw(); };
    inputs.c = numberInput(vector ? (net.layers[k].type === 'softmax' ? 'class' : 'unit') : 'map', { min: 0, max: C - 1, value: c, name: 'lesson-unit-c' }, set);
    inputs.y = vector ? null : numberInput('y', { min: 0, max: H - 1, value: y, name: 'lesson-unit-y' }, set);
    inputs.x = vector ? null : numberInput('x', { min: 0, max: W - 1, value: x, name: 'lesson-unit-x' }, set);
    unitBox.replaceChildren(...[inputs.c, inputs.y, inputs.x].filter(Boolean).map((n) => n.box));
  }

  function choose(layer, index) {
    k = layer; unit = index;
    layerPick.value = String(k);
    unitInputs();
    draw();
  }

  async function ask(now = performance.now()) {
    if (asking) { again = true; return; }
    asking = true; lastAsk = now;
    try { snap = await ctx.request('inspect', { index: image.value }); draw(); } catch (err) { where.textContent = err.message; }
    asking = false;
    if (again) { again = false; ask(); }
  }

  // The chosen layer's map (or vector) with the unit marked; a click on it picks another unit.
  function drawMap() {
    const S = snap.layers[k], [C, H, W] = S.shape, [c, y, x] = unravel(S.shape, unit);
    const vector = H === 1 && W === 1;
    const values = vector ? Array.from(S.act.data) : Array.from(S.act.data.subarray(c * H * W, (c + 1) * H * W));
    const cv = tile(values, vector ? C : W, S.act.min < 0);
    cv.dataset.role = 'unit-map';
    const scale = Math.max(4, Math.floor(144 / Math.max(vector ? C : W, 1)));
    cv.style.width = `${(vector ? C : W) * scale}px`; cv.style.height = `${(vector ? 1 : H) * scale}px`;
    const g = cv.getContext('2d');
    g.fillStyle = colour('highlight');
    g.fillRect(vector ? c : x, vector ? 0 : y, 1, 1);
    cv.addEventListener('click', (e) => {
      const r = cv.getBoundingClientRect();
      const px = Math.min(cv.width - 1, Math.floor((e.clientX - r.left) / r.width * cv.width));
      const py = Math.min(cv.height - 1, Math.floor((e.clientY - r.top) / r.height * cv.height));
      choose(k, vector ? px : ravel(S.shape, c, py, px));
    });
    mapBox.replaceChildren(cv);
  }

  function draw() {
    if (!snap || !net || snap.layers.length !== net.layers.length) return;
    const L = net.layers[k], S = snap.layers[k];
    if (!S.act || unit >= S.act.data.length) return;
    const [c, y, x] = unravel(S.shape, unit), vector = S.shape[1] === 1 && S.shape[2] === 1;
    drawMap();
    const name = layerPick.selectedOptions[0]?.textContent || L.type;
    where.textContent = `${name}, ${vector ? `${L.type === 'softmax' ? 'class' : 'unit'} ${c}` : `map ${c} · (x ${x}, y ${y})`}, on ${snap.source} (class ${snap.label}).`;
    Object.assign(where.dataset, { layer: k, unit, c, y, x });
    const held = S.act.data[unit], fw = forward(net, snap, k, unit);
    fwdBox.replaceChildren(...fw.nodes);
    const ok = Math.abs(fw.computed - held) <= 1e-4 * Math.max(1, Math.abs(held));
    fwdResult.textContent = Number.isFinite(fw.computed) ? `${fw.text}; pycore holds ${f5(held)} ${ok ? '✓' : '✗'}` : '';
    fwdResult.classList.toggle('bad', Number.isFinite(fw.computed) && !ok);
    fwdResult.dataset.computed = String(fw.computed); fwdResult.dataset.held = String(held);
    fwdResult.dataset.parts = JSON.stringify(fw.data);
    const next = net.layers[k + 1];
    if (next && ELEMENTWISE[next.type] && next.type !== 'dropout') {
      const o = ELEMENTWISE[next.type].f(held, next.geometry?.alpha), kept = snap.layers[k + 1].act.data[unit];
      fwdResult.append(el('br'), `then ${next.type}: ${f5(o)} (the ${next.type} layer holds ${f5(kept)})`);
    }
    const bw = backward(net, snap, k, unit);
    bwdBox.replaceChildren(...bw.nodes);
    if (Number.isFinite(bw.computed)) {
      const gh = S.grad.data[unit], good = Math.abs(bw.computed - gh) <= 1e-4 * Math.max(Math.abs(gh), 1e-6) + 1e-9;
      bwdResult.textContent = `${bw.text}; pycore holds ${gh.toExponential(5)} ${good ? '✓' : '✗'}`;
      bwdResult.classList.toggle('bad', !good);
      Object.assign(bwdResult.dataset, { computed: String(bw.computed), held: String(gh), terms: JSON.stringify(bw.data.terms) });
    } else {
      bwdResult.textContent = '';
      for (const key of ['computed', 'held', 'terms']) delete bwdResult.dataset[key];
    }
  }

  // A layer's middle unit of its first map: away from the padded border, so the arithmetic is typical.
  const middle = (i) => { const [, H, W] = net.layers[i].shape; return ravel(net.layers[i].shape, 0, H >> 1, W >> 1); };
  layerPick.addEventListener('change', () => choose(Number(layerPick.value), middle(Number(layerPick.value))));
  return {
    onTheme: draw,
    /** A unit clicked in the network view: {layer, index}. */
    onUnit(u) {
      if (!net || u.layer >= net.layers.length) return;
      choose(u.layer, u.index);
      scrollSteady(root, 'nearest');
    },
    onNet(n) {
      net = n;
      const seen = {};
      layerPick.replaceChildren(...n.layers.map((L, i) => new Option(`${L.type}${(seen[L.type] = (seen[L.type] || 0) + 1)} (${L.shape.join('×')})`, i)));
      const first = Math.min(1, n.layers.length - 1);
      choose(first, middle(first));
      snap = null;
      ask();
    },
    onFocus(f) { if (f.kind === 'test') { image.input.value = String(f.index); ask(); } },
    onStats(s) { if (!snap && s.test_loaded > image.value) ask(); },
    frame(now, state) { if (state === 'training' && now - lastAsk >= REFRESH_MS) ask(now); },
  };
}
