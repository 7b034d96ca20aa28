// Lesson: pooling. The live net's first pool layer with its input and output maps side by side and
// one window highlighted; how much it shrinks them; max against average pooling (a switch that
// trains either); and a preset that downsamples with stride-2 convolutions instead.
import { el } from '../views/viewstate.js';
import { colour } from '../theme.js';
import { message } from '../panels/message.js';
import { num, para } from './util.js';

export const id = 'pooling';
export const title = 'Pooling: shrinking the maps';
export const question = 'What does a pooling layer do to its maps, and is max better than average?';

const SNAPSHOT_MS = 1000;     // while training, look at new maps this often
const PX = 192;               // CSS px of a drawn map

// A map (H x W values) drawn at PX px, gray from its min to its max, with one window outlined.
function drawMap(canvas, data, H, W, box) {
  const s = Math.max(1, Math.floor(PX / Math.max(H, W)));
  canvas.width = W * s; canvas.height = H * s;
  const g = canvas.getContext('2d');
  let lo = Infinity, hi = -Infinity;
  for (const v of data) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const t = hi > lo ? (data[y * W + x] - lo) / (hi - lo) : 0;
    const c = Math.round(255 * t);
    g.fillStyle = `rgb(${c},${c},${c})`;
    g.fillRect(x * s, y * s, s, s);
  }
  g.strokeStyle = colour('highlight'); g.lineWidth = 2;
  g.strokeRect(box.x * s + 1, box.y * s + 1, box.w * s - 2, box.h * s - 2);
  return s;
}

export function mount(root, ctx) {
  root.append(para('A pooling layer slides a small window over each map and keeps one number per position: the ',
    'largest', ' value (max pooling) or their mean (average pooling). It has no weights. With a 2×2 window and '
    + 'stride 2 the windows do not overlap, so each side halves and every map keeps a quarter of its values.'));
  const shrink = el('p', { class: 'lesson-result', 'data-stat': 'pool-shrink' });
  const formula = el('p', { class: 'note', 'data-stat': 'pool-formula' });
  const pick = el('select', { 'data-control': 'lesson-map' });
  const pickLabel = el('label', { class: 'lesson-input' }, 'map ');
  pickLabel.append(pick);
  const maps = el('div', { class: 'lesson-row lesson-maps' });
  const before = el('canvas', { 'data-role': 'pool-input', title: 'click a window' });
  const after = el('canvas', { 'data-role': 'pool-output', title: 'click an output' });
  const figure = (c, caption) => { const f = el('figure'); f.append(c, el('figcaption', {}, caption)); return f; };
  const captions = [el('span'), el('span')];
  const fa = figure(before, ''), fb = figure(after, '');
  fa.querySelector('figcaption').append(captions[0]); fb.querySelector('figcaption').append(captions[1]);
  maps.append(fa, fb);
  const windowText = el('p', { class: 'lesson-result', 'data-stat': 'pool-window' });
  const kind = el('div', { class: 'lesson-row' });
  const note = el('p', { class: 'message', 'data-message': 'lesson' });
  const strided = el('button', { type: 'button', 'data-control': 'lesson-strided' }, 'Train the stride-2 conv preset');
  root.append(shrink, formula, pickLabel, maps, windowText, el('h4', {}, 'Max or average?'), kind,
    para('Pooling is not the only way to shrink maps: a conv layer with stride 2 also halves them, and it learns ',
      'how', ' to. The preset below has no pool layer at all.'), strided, note);
  for (const t of ['pool', 'avgpool']) {
    const r = el('input', { type: 'radio', name: 'lesson-pool-kind', value: t, 'data-control': `lesson-${t}` });
    const l = el('label', { class: 'lesson-input' });
    l.append(r, t === 'pool' ? 'max pooling' : 'average pooling');
    kind.append(l);
    r.addEventListener('change', () => switchKind(t));
  }
  let net = null, layer = -1, snap = null, at = { y: 0, x: 0 }, lastAsk = -Infinity, presets = null;

  async function switchKind(type) {
    const spec = JSON.parse(net.spec);
    spec[net.layers[layer].src].type = type;
    const text = JSON.stringify(spec);
    const changed = await ctx.changeNetwork('spec', { text }, note);
    if (changed) {
      ctx.setUrl({ preset: null, spec: text });
      message(note, `Now training with ${type === 'pool' ? 'max' : 'average'} pooling, from fresh weights: watch the accuracy.`, false);
    }
  }
  strided.addEventListener('click', async () => {
    if (!presets || !presets.strided) return;
    const changed = await ctx.changeNetwork('spec', { text: JSON.stringify(presets.strided.spec) }, note);
    if (changed) { ctx.setUrl({ preset: 'strided', spec: null }); message(note, 'Now training the stride-2 conv preset.', false); }
  });

  function draw() {
    if (!snap || layer < 0 || !snap.layers[layer] || !snap.layers[layer - 1]) return;
    const L = net.layers[layer], g = L.geometry;
    const inp = snap.layers[layer - 1].act, out = snap.layers[layer].act;
    const [C, H, W] = inp.shape, [, OH, OW] = out.shape;
    const c = Number(pick.value) || 0;
    const y0 = at.y * g.stride - (g.pad || 0), x0 = at.x * g.stride - (g.pad || 0);
    const F = g.sx;
    const sIn = drawMap(before, inp.data.subarray(c * H * W, (c + 1) * H * W), H, W, { x: x0, y: y0, w: F, h: F });
    drawMap(after, out.data.subarray(c * OH * OW, (c + 1) * OH * OW), OH, OW, { x: at.x, y: at.y, w: 1, h: 1 });
    before.style.width = `${W * sIn}px`;
    const values = [];
    for (let y = y0; y < y0 + F; y++) for (let x = x0; x < x0 + F; x++) {
      if (y >= 0 && y < H && x >= 0 && x < W) values.push(inp.data[c * H * W + y * W + x]);
    }
    const v = out.data[c * OH * OW + at.y * OW + at.x];
    const word = L.type === 'pool' ? 'max' : 'mean';
    windowText.textContent = `window at (x ${x0}, y ${y0}): ${values.map((u) => u.toFixed(4)).join(', ')} → ${word} = ${v.toFixed(4)}`;
    windowText.dataset.values = JSON.stringify(values);
    windowText.dataset.output = String(v);
    windowText.dataset.kind = word;
    captions[0].textContent = `input of ${L.type}: ${H}×${W}`;
    captions[1].textContent = `output: ${OH}×${OW}`;
  }
  const clickAt = (canvas, scale) => (e) => {
    const r = canvas.getBoundingClientRect();
    const L = net.layers[layer], [,, OW] = L.shape, OH = L.shape[1];
    let x = Math.floor(((e.clientX - r.left) / r.width) * canvas.width / scale.s);
    let y = Math.floor(((e.clientY - r.top) / r.height) * canvas.height / scale.s);
    if (scale.input) { x = Math.floor(x / L.geometry.stride); y = Math.floor(y / L.geometry.stride); }
    at = { x: Math.min(Math.max(x, 0), OW - 1), y: Math.min(Math.max(y, 0), OH - 1) };
    draw();
  };
  before.addEventListener('click', (e) => clickAt(before, { s: before.width / net.layers[layer - 1].shape[2], input: true })(e));
  after.addEventListener('click', (e) => clickAt(after, { s: after.width / net.layers[layer].shape[2], input: false })(e));
  pick.addEventListener('change', draw);

  return {
    onNet(n, charts, datasets, p) {
      net = n; snap = null; presets = p || presets;
      layer = n.layers.findIndex((L) => L.type === 'pool' || L.type === 'avgpool');
      strided.disabled = !(presets && presets.strided);
      if (layer < 1) {
        shrink.textContent = 'This network has no pool layer: choose the ConvNetJS preset to see one.';
        formula.textContent = ''; windowText.textContent = '';
        for (const r of kind.querySelectorAll('input')) r.disabled = true;
        return;
      }
      const L = n.layers[layer], [C, OH, OW] = L.shape, [, H, W] = n.layers[layer - 1].shape;
      shrink.textContent = `${H}×${W} → ${OH}×${OW}: ${num(H * W)} → ${num(OH * OW)} values per map, `
        + `${(H * W / (OH * OW)).toFixed(2).replace(/\.00$/, '')} times fewer (for all ${C} maps: ${num(C * H * W)} → ${num(C * OH * OW)}).`;
      formula.textContent = `(N − F)/S + 1 with N = ${H}, F = ${L.geometry.sx}, S = ${L.geometry.stride}: ${L.formula}`;
      pick.replaceChildren(...Array.from({ length: C }, (_, c) => new Option(`map ${c}`, c)));
      for (const r of kind.querySelectorAll('input')) { r.disabled = false; r.checked = r.value === L.type; }
      at = { x: Math.floor(OW / 2), y: Math.floor(OH / 2) };
      ctx.request('snapshot').catch(() => {});
    },
    onSnapshot(s) { snap = s; draw(); },
    frame(now, state) {
      if (layer > 0 && state === 'training' && now - lastAsk >= SNAPSHOT_MS) { lastAsk = now; ctx.request('snapshot').catch(() => {}); }
    },
  };
}
