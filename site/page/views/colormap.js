// Colour maps for the layer views: lookup tables, the value range a map spans, and the legend.

function lut(stops) {
  const rgb = stops.map((s) => [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16)));
  const out = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (rgb.length - 1), k = Math.min(rgb.length - 2, Math.floor(t)), f = t - k;
    const [r, g, b] = [0, 1, 2].map((j) => Math.round(rgb[k][j] + f * (rgb[k + 1][j] - rgb[k][j])));
    out[i] = ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;      // RGBA bytes, little-endian
  }
  return out;
}
// ColorBrewer RdBu, negative blue, zero near-white, positive red.
export const DIVERGING = lut(['#053061', '#2166ac', '#4393c3', '#92c5de', '#d1e5f0', '#f7f7f7',
  '#fddbc7', '#f4a582', '#d6604d', '#b2182b', '#67001f']);
export const GRAY = lut(['#000000', '#ffffff']);
export const NAN_COLOR = 0xffff00ff;   // magenta: not a number

// Colour range [lo, hi]: grayscale 0 -> max, or symmetric +-max|v| around zero.
export function toRange(mn, mx, gray) {
  if (gray) {
    const lo = Math.min(0, mn);
    return Number.isFinite(lo) && Number.isFinite(mx) && mx > lo ? [lo, mx] : [0, 1];
  }
  const m = Math.max(Math.abs(mn), Math.abs(mx));
  return Number.isFinite(m) && m > 0 ? [-m, m] : [-1, 1];
}

// The colour scale with its numeric ends, drawn on one canvas: numbers that change ten times a
// second as DOM text would cost a page layout each time.
const LEGEND = { w: 176, h: 14, bar: [58, 118], font: '11px ui-monospace, SFMono-Regular, Menlo, monospace' };
const legendBars = new Map();   // gray -> 64 x 1 canvas of the colour map

export function makeLegend(gray) {
  if (!legendBars.has(gray)) {
    const bar = Object.assign(document.createElement('canvas'), { width: 64, height: 1 });
    const ctx = bar.getContext('2d');
    const img = ctx.createImageData(64, 1);
    const colours = gray ? GRAY : DIVERGING;
    new Uint32Array(img.data.buffer).forEach((_, i, a) => { a[i] = colours[Math.round((i * 255) / 63)]; });
    ctx.putImageData(img, 0, 0);
    legendBars.set(gray, bar);
  }
  const dpr = Math.max(1, Math.ceil(window.devicePixelRatio || 1));
  const canvas = Object.assign(document.createElement('canvas'), { className: 'legend-scale', width: LEGEND.w * dpr, height: LEGEND.h * dpr });
  canvas.setAttribute('role', 'img');
  canvas.style.width = `${LEGEND.w}px`;
  canvas.style.height = `${LEGEND.h}px`;
  const ctx = canvas.getContext('2d');
  ctx.scale(dpr, dpr);
  // Set once: parsing a font or colour string on every redraw costs more than the drawing.
  ctx.font = LEGEND.font;
  ctx.fillStyle = '#1d2228';
  ctx.strokeStyle = '#c9ced4';
  ctx.textBaseline = 'middle';
  ctx.imageSmoothingEnabled = true;
  const scale = { canvas, ctx, bar: legendBars.get(gray), text: null };
  drawLegend(scale, '', '');
  return scale;
}

export function drawLegend(scale, lo, hi) {
  const text = `${lo} ${hi}`;
  if (scale.text === text) return;
  scale.text = text;
  scale.canvas.setAttribute('aria-label', lo ? `colour scale from ${lo} to ${hi}` : 'colour scale');
  const { ctx, bar } = scale, [x0, x1] = LEGEND.bar, mid = LEGEND.h / 2;
  ctx.clearRect(0, 0, LEGEND.w, LEGEND.h);
  ctx.drawImage(bar, x0, 3, x1 - x0, LEGEND.h - 6);
  ctx.strokeRect(x0 - 0.5, 2.5, x1 - x0 + 1, LEGEND.h - 5);
  ctx.textAlign = 'right';
  ctx.fillText(lo, x0 - 4, mid, x0 - 4);
  ctx.textAlign = 'left';
  ctx.fillText(hi, x1 + 4, mid, LEGEND.w - x1 - 4);
}

