// Colour maps for the layer views: lookup tables, the value range a map spans, and the legend.
import { colour, isDark, palette } from '../theme.js';

const rgbOf = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
const pack = ([r, g, b]) => ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;      // RGBA bytes, little-endian

/** A '#rrggbb' colour (a theme's: colour('highlight')) as one pixel of an ImageData's Uint32Array. */
export const pixel = (hex) => pack(rgbOf(hex));

function lut(stops) {
  const rgb = stops.map(rgbOf);
  const out = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (rgb.length - 1), k = Math.min(rgb.length - 2, Math.floor(t)), f = t - k;
    out[i] = pack([0, 1, 2].map((j) => Math.round(rgb[k][j] + f * (rgb[k + 1][j] - rgb[k][j]))));
  }
  return out;
}
// Signed values: negative blue, positive red, and zero the page's own colour, so that in either theme
// a value stands out from the page the more the farther it is from zero. Light: ColorBrewer RdBu
// (zero near-white); dark: the same hues with their lightness mirrored (zero near-black), both ends
// light. Either map's legend is drawn from the map itself (makeLegend).
const DIVERGING_LIGHT = lut(['#053061', '#2166ac', '#4393c3', '#92c5de', '#d1e5f0', '#f7f7f7',
  '#fddbc7', '#f4a582', '#d6604d', '#b2182b', '#67001f']);
const DIVERGING_DARK = lut(['#cfe5ff', '#8cc4f5', '#4f97d9', '#2d6aa6', '#1d3f62', '#1e1e1e',
  '#5e2620', '#9c3b30', '#d75a45', '#f58f74', '#ffd2c2']);
/** The diverging map of the theme in use. */
export const diverging = () => (isDark() ? DIVERGING_DARK : DIVERGING_LIGHT);
// Values from 0 up: black to white in both themes, as the input's digits are.
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
const legendBars = new Map();   // 'gray' or 'light' or 'dark' -> 64 x 1 canvas of the colour map

function legendBar(gray) {
  const key = gray ? 'gray' : isDark() ? 'dark' : 'light';
  if (!legendBars.has(key)) {
    const bar = Object.assign(document.createElement('canvas'), { width: 64, height: 1 });
    const ctx = bar.getContext('2d');
    const img = ctx.createImageData(64, 1);
    const colours = gray ? GRAY : diverging();
    new Uint32Array(img.data.buffer).forEach((_, i, a) => { a[i] = colours[Math.round((i * 255) / 63)]; });
    ctx.putImageData(img, 0, 0);
    legendBars.set(key, bar);
  }
  return legendBars.get(key);
}

export function makeLegend(gray) {
  const dpr = Math.max(1, Math.ceil(window.devicePixelRatio || 1));
  const canvas = Object.assign(document.createElement('canvas'), { className: 'legend-scale', width: LEGEND.w * dpr, height: LEGEND.h * dpr });
  canvas.setAttribute('role', 'img');
  canvas.style.width = `${LEGEND.w}px`;
  canvas.style.height = `${LEGEND.h}px`;
  const ctx = canvas.getContext('2d');
  ctx.scale(dpr, dpr);
  ctx.textBaseline = 'middle';
  ctx.imageSmoothingEnabled = true;
  const scale = { canvas, ctx, gray, text: null, version: -1 };
  drawLegend(scale, '', '');
  return scale;
}

/** Draw the scale's ends, lo and hi (text), beside the map of the theme in use. */
export function drawLegend(scale, lo, hi) {
  const text = `${lo} ${hi}`;
  if (scale.text === text && scale.version === palette.version) return;
  const { ctx } = scale, [x0, x1] = LEGEND.bar, mid = LEGEND.h / 2;
  if (scale.version !== palette.version) {
    // Set once a theme: parsing a font or colour string on every redraw costs more than the drawing.
    scale.version = palette.version;
    scale.bar = legendBar(scale.gray);
    ctx.font = LEGEND.font;
    ctx.fillStyle = colour('fg');
    ctx.strokeStyle = colour('map-line');
  }
  scale.text = text;
  scale.canvas.setAttribute('aria-label', lo ? `colour scale from ${lo} to ${hi}` : 'colour scale');
  ctx.clearRect(0, 0, LEGEND.w, LEGEND.h);
  ctx.drawImage(scale.bar, x0, 3, x1 - x0, LEGEND.h - 6);
  ctx.strokeRect(x0 - 0.5, 2.5, x1 - x0 + 1, LEGEND.h - 5);
  ctx.textAlign = 'right';
  ctx.fillText(lo, x0 - 4, mid, x0 - 4);
  ctx.textAlign = 'left';
  ctx.fillText(hi, x1 + 4, mid, LEGEND.w - x1 - 4);
}
