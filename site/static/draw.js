// Layer views: one box per layer with canvases that are created once and redrawn in place.

const MAP_PX = 48;            // small maps are scaled up to about this many CSS pixels
const MAX_SCALE = 8;

function el(tag, attrs = {}, text = '') {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

function shapeText([C, H, W]) { return H === 1 && W === 1 ? `${C}` : `${C}×${H}×${W}`; }

// Canvases for C maps of H x W (or one row of C values when H = W = 1).
function makeMaps(container, label, [C, H, W]) {
  container.append(el('div', { class: 'row-label' }, label));
  const vector = H === 1 && W === 1;
  const count = vector ? 1 : C;
  const w = vector ? C : W;
  const h = vector ? 1 : H;
  const scale = Math.max(1, Math.min(MAX_SCALE, Math.floor(MAP_PX / Math.max(w, h))));
  const canvases = [];
  for (let i = 0; i < count; i++) {
    const c = el('canvas', { width: w, height: h, 'data-map': label });
    c.style.width = `${w * (vector ? Math.max(scale, 12) : scale)}px`;
    c.style.height = `${h * (vector ? 12 : scale)}px`;
    container.append(c);
    canvases.push(c);
  }
  return { canvases, w, h, vector };
}

export function buildLayers(root, layers) {
  root.replaceChildren();
  return layers.map((layer, i) => {
    const box = el('div', { class: 'layer', 'data-type': layer.type, 'data-index': i });
    const info = el('div', { class: 'info' });
    info.append(el('h3', {}, `${layer.type} · ${shapeText(layer.shape)}`));
    if (layer.formula) info.append(el('p', {}, layer.formula));
    if (layer.params_formula) info.append(el('p', {}, `parameters: ${layer.params_formula}`));
    const range = el('p', { class: 'range' }, '');
    info.append(range);
    const maps = el('div', { class: 'maps' });
    const act = makeMaps(maps, 'activations', layer.shape);
    // Nobody needs the gradient with respect to the input images, so it is never computed.
    const grad = layer.type === 'input' ? null : makeMaps(maps, 'gradients', layer.shape);
    box.append(info, maps);
    root.append(box);
    return { act, grad, range };
  });
}

// Draw a flat float32 array as gray levels, each map scaled from its own min (black) to max (white).
function paint(view, part) {
  const { canvases, w, h } = view;
  const n = w * h;
  for (let m = 0; m < canvases.length; m++) {
    const ctx = canvases[m].getContext('2d');
    const img = ctx.createImageData(w, h);
    if (part) {
      let lo = Infinity, hi = -Infinity;
      for (let i = m * n; i < (m + 1) * n; i++) { const v = part.data[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
      const k = hi > lo ? 255 / (hi - lo) : 0;
      for (let i = 0; i < n; i++) {
        const g = hi > lo ? (part.data[m * n + i] - lo) * k : 128;
        const j = 4 * i;
        img.data[j] = img.data[j + 1] = img.data[j + 2] = g;
        img.data[j + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
  }
}

const fmt = (v) => (Math.abs(v) >= 100 || v === 0 ? v.toFixed(1) : v.toPrecision(3));

export function drawSnapshot(views, snapshot) {
  snapshot.layers.forEach((layer, i) => {
    const view = views[i];
    if (!view) return;
    paint(view.act, layer.act);
    if (view.grad) paint(view.grad, layer.grad);
    const a = layer.act ? `activations ${fmt(layer.act.min)} … ${fmt(layer.act.max)}` : '';
    const g = layer.grad ? `gradients ${fmt(layer.grad.min)} … ${fmt(layer.grad.max)}` : '';
    view.range.textContent = [a, g].filter(Boolean).join('; ');
  });
}
