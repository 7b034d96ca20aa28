// Lesson: a filter spans the full depth of its input. A conv2 filter is 5x5x8 because conv1 made 8
// maps: all its slices, and at one output position the 8 dot products, their sum and the bias,
// which is exactly the value conv2 holds there.
import { GRAY, diverging } from '../views/colormap.js';
import { el } from '../views/viewstate.js';
import { para, scrolling } from './util.js';

export const id = 'depth';
export const title = 'Depth: a filter spans every input map';
export const question = 'Why is a filter of the second conv layer 5×5×8, and how is one output computed?';

const TEST_IMAGE = 0;         // the test image the arithmetic is shown on
const REFRESH_MS = 3000;      // while training, recompute with the newest weights this often

// A slice or a map: signed values in the layer views' diverging colours (of the theme), others gray.
function tile(values, n, lo, hi, signed) {
  const c = el('canvas', { width: n, height: n, class: 'lesson-tile' });
  const g = c.getContext('2d');
  const img = g.createImageData(n, n), u32 = new Uint32Array(img.data.buffer);
  const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1, colours = signed ? diverging() : GRAY;
  values.forEach((v, i) => {
    const t = signed ? (v / m + 1) / 2 : hi > lo ? (v - lo) / (hi - lo) : 0;
    u32[i] = colours[Math.max(0, Math.min(255, Math.round(255 * t)))];
  });
  g.putImageData(img, 0, 0);
  return c;
}

export function mount(root, ctx) {
  root.append(para('The first conv layer makes one map per filter: 8 of them. The next conv layer looks at all 8 '
    + 'at once, so each of its filters is a 5×5 patch ', 'for every map', ': 5×5×8 = 200 weights. At each position it '
    + 'takes the dot product of each 5×5 slice with the 5×5 patch of its map under it, adds the 8 results and its '
    + 'bias, and that sum is the output. On a colour photo the first layer works the same way over the red, green and '
    + 'blue channels, with filters of 5×5×3.'));
  const controls = el('div', { class: 'lesson-row' });
  const pick = el('select', { 'data-control': 'lesson-filter' });
  const lab = el('label', { class: 'lesson-input' }, 'filter ');
  lab.append(pick);
  controls.append(lab);
  const where = el('p', { class: 'note', 'data-stat': 'depth-where' });
  const table = el('table', { class: 'lesson-table', 'data-role': 'depth-channels' });
  const total = el('p', { class: 'lesson-result', 'data-stat': 'depth-sum' });
  root.append(controls, where, scrolling(table), total);
  let net = null, k = -1, snap = null, lastAsk = -Infinity, asking = false;

  async function ask(now = performance.now()) {
    if (asking || k < 0) return;
    asking = true; lastAsk = now;
    try { snap = await ctx.request('inspect', { index: TEST_IMAGE }); draw(); } catch (err) { where.textContent = err.message; }
    asking = false;
  }

  function draw() {
    if (!snap || k < 0) return;
    const L = net.layers[k], g = L.geometry, S = snap.layers[k], inp = snap.layers[k - 1].act;
    const [Cin, H, W] = inp.shape, [F, OH, OW] = S.act.shape, KH = S.weights.w.shape[2], KW = S.weights.w.shape[3];
    const f = Number(pick.value) || 0, y = Math.floor(OH / 2), x = Math.floor(OW / 2);
    const w = S.weights.w.data, b = S.weights.b.data[f];
    // One column per input map: its filter slice, its patch, and their dot product.
    const rows = ['map', 'filter slice', 'patch', 'dot product'].map((t) => { const tr = el('tr'); tr.append(el('th', {}, t)); return tr; });
    let sum = 0;
    for (let c = 0; c < Cin; c++) {
      const ws = [], ps = [];
      for (let a = 0; a < KH; a++) for (let bb = 0; bb < KW; bb++) {
        ws.push(w[((f * Cin + c) * KH + a) * KW + bb]);
        const yy = y * g.stride - g.pad + a, xx = x * g.stride - g.pad + bb;
        ps.push(yy >= 0 && yy < H && xx >= 0 && xx < W ? inp.data[(c * H + yy) * W + xx] : 0);
      }
      const dot = ws.reduce((s, v, i) => s + v * ps[i], 0);
      sum += dot;
      const slice = el('td'), patch = el('td');
      slice.append(tile(ws, KW, S.weights.w.min, S.weights.w.max, true));
      patch.append(tile(ps, KW, inp.min, inp.max, false));
      rows[0].append(el('td', {}, String(c)));
      rows[1].append(slice);
      rows[2].append(patch);
      rows[3].append(el('td', { 'data-channel': c, 'data-weights': JSON.stringify(ws), 'data-patch': JSON.stringify(ps),
                                'data-dot': String(dot) }, dot.toFixed(4)));
    }
    table.replaceChildren(...rows);
    const held = S.act.data[(f * OH + y) * OW + x];
    where.textContent = `Filter ${f} of conv2 (${KW}×${KH}×${Cin}) `
      + `at output (x ${x}, y ${y}), on ${snap.source}.`;
    total.textContent = `sum of the ${Cin} dot products ${sum.toFixed(5)} + bias ${b.toFixed(5)} = ${(sum + b).toFixed(5)}; `
      + `the layer holds ${held.toFixed(5)} there (before its ReLU, which makes it ${Math.max(0, held).toFixed(5)}).`;
    Object.assign(total.dataset, { sum: String(sum), bias: String(b), held: String(held) });
  }
  pick.addEventListener('change', draw);
  return {
    onTheme: draw,
    onNet(n) {
      net = n;
      const convs = n.layers.map((L, i) => [L, i]).filter(([L]) => L.type === 'conv');
      k = convs.length > 1 ? convs[1][1] : -1;      // the second conv layer: its input has several maps
      if (k < 0) { where.textContent = 'This network has no second conv layer: choose the ConvNetJS preset.'; table.replaceChildren(); total.textContent = ''; return; }
      pick.replaceChildren(...Array.from({ length: n.layers[k].shape[0] }, (_, f) => new Option(`filter ${f}`, f)));
      snap = null;
      ask();
    },
    onStats(s) { if (!snap && s.test_loaded > TEST_IMAGE) ask(); },
    frame(now, state) { if (state === 'training' && now - lastAsk >= REFRESH_MS) ask(now); },
  };
}
