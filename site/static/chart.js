// Line charts on a canvas against examples seen: axes with ticks, a legend, bounded memory.

const MAX_POINTS = 600;       // past this, neighbouring points are merged (averaged) in pairs

export class Chart {
  /** series: [{key, label, color, right}] (right: drawn against a scale of its own on the right,
   * from 0, with rightFormat); yLabel: axis title; yRange: [lo, hi] fixed, or null to fit. */
  constructor(canvas, { series, yLabel, yRange = null, format = (v) => v.toFixed(2), rightFormat = (v) => v.toPrecision(2) }) {
    Object.assign(this, { canvas, series, yLabel, yRange, format, rightFormat });
    this.points = [];         // [examples, {key: value}]
    this.marks = [];          // [examples, text]
    this.dirty = true;
  }

  add(x, values) {
    this.points.push([x, values]);
    if (this.points.length > MAX_POINTS) {
      const merged = [];
      for (let i = 0; i + 1 < this.points.length; i += 2) merged.push(mean(this.points[i], this.points[i + 1]));
      if (this.points.length % 2) merged.push(this.points[this.points.length - 1]);
      this.points = merged;
    }
    this.dirty = true;
  }

  clear() { this.points = []; this.marks = []; this.dirty = true; }
  /** points: [[x, {key: value}]]; marks: [[x, text]], drawn as labelled vertical lines. */
  load(points, marks = []) {
    this.points = Array.isArray(points) ? points : [];
    this.marks = Array.isArray(marks) ? marks : [];
    this.dirty = true;
  }

  draw() {
    if (!this.dirty) return;
    this.dirty = false;
    const { canvas, points, series } = this;
    // What the chart holds, for tests and tools: its number of points and the last one's x.
    canvas.dataset.points = points.length;
    canvas.dataset.lastX = points.length ? points[points.length - 1][0] : '';
    canvas.dataset.marks = JSON.stringify(this.marks);
    const ctx = canvas.getContext('2d');
    const W = canvas.width, H = canvas.height;
    // A right-hand series (the learning rate) shows only once it has a value.
    let rhi = 0;
    for (const [, v] of points) for (const s of series) if (s.right && Number.isFinite(v[s.key])) rhi = Math.max(rhi, v[s.key]);
    const shown = series.filter((s) => !s.right || rhi > 0);
    canvas.dataset.rightAxis = rhi > 0 ? shown.filter((s) => s.right).map((s) => s.label).join(', ') : '';
    const L = 50, R = rhi > 0 ? 50 : 30, T = 26, B = 34;
    ctx.clearRect(0, 0, W, H);
    ctx.font = '11px system-ui, sans-serif';
    // Legend along the top.
    let lx = L;
    for (const s of shown) {
      ctx.fillStyle = s.color; ctx.fillRect(lx, 8, 14, 3);
      ctx.fillStyle = '#1d2228'; ctx.textAlign = 'left'; ctx.fillText(s.label, lx + 18, 13);
      lx += 26 + ctx.measureText(s.label).width;
    }
    ctx.fillStyle = '#5b6570';
    ctx.strokeStyle = '#d6dbe0';
    if (!points.length) {
      ctx.textAlign = 'center';
      ctx.fillText('Appears here once training starts.', W / 2, H / 2);
      return;
    }
    const x0 = points[0][0], x1 = Math.max(points[points.length - 1][0], x0 + 1, ...this.marks.map(([x]) => x));
    let [ylo, yhi] = this.yRange || [0, 0];
    if (!this.yRange) {
      for (const [, v] of points) for (const s of series) if (!s.right && Number.isFinite(v[s.key])) yhi = Math.max(yhi, v[s.key]);
      yhi = Math.max(yhi * 1.05, 0.1);
    }
    const px = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
    const py = (y) => T + (1 - (y - ylo) / (yhi - ylo)) * (H - T - B);
    ctx.beginPath();
    for (let i = 0; i <= 4; i++) {
      const y = ylo + ((yhi - ylo) * i) / 4;
      ctx.moveTo(L, py(y)); ctx.lineTo(W - R, py(y));
      ctx.textAlign = 'right'; ctx.fillText(this.format(y), L - 6, py(y) + 4);
      if (rhi > 0) { ctx.textAlign = 'left'; ctx.fillText(this.rightFormat((rhi * 1.05 * i) / 4), W - R + 6, py(y) + 4); }
      const x = x0 + ((x1 - x0) * i) / 4;
      ctx.textAlign = 'center'; ctx.fillText(Math.round(x).toLocaleString('en-US'), px(x), H - B + 14);
    }
    ctx.stroke();
    ctx.textAlign = 'center';
    ctx.fillText('examples seen', L + (W - L - R) / 2, H - 4);
    ctx.save(); ctx.translate(11, T + (H - T - B) / 2); ctx.rotate(-Math.PI / 2);
    ctx.fillText(this.yLabel, 0, 0); ctx.restore();
    ctx.save();
    ctx.strokeStyle = '#cf222e'; ctx.fillStyle = '#cf222e'; ctx.setLineDash([4, 3]); ctx.textAlign = 'left';
    this.marks.forEach(([x, text], i) => {      // labels on staggered lines, so that close marks stay legible
      if (x < x0) return;
      ctx.beginPath(); ctx.moveTo(px(x), T); ctx.lineTo(px(x), H - B); ctx.stroke();
      ctx.fillText(text, Math.min(px(x) + 3, W - R - ctx.measureText(text).width), T + 10 + 12 * (i % 3));
    });
    ctx.restore();
    ctx.lineWidth = 1.5;
    for (const s of shown) {
      // a right-hand series maps 0..rhi*1.05 onto the same height as the left scale
      const to = s.right ? (y) => py(ylo + ((yhi - ylo) * y) / (rhi * 1.05)) : py;
      ctx.beginPath();
      ctx.strokeStyle = s.color;
      ctx.setLineDash(s.right ? [6, 3] : []);
      let started = false;
      for (const [x, v] of points) {
        const y = v[s.key];
        if (!Number.isFinite(y)) { started = false; continue; }
        if (started) ctx.lineTo(px(x), to(y)); else { ctx.moveTo(px(x), to(y)); started = true; }
      }
      ctx.stroke();
    }
    ctx.setLineDash([]);
    ctx.lineWidth = 1;
  }
}

function mean([xa, a], [xb, b]) {
  const out = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const va = a[k], vb = b[k];
    out[k] = Number.isFinite(va) && Number.isFinite(vb) ? (va + vb) / 2 : (Number.isFinite(vb) ? vb : va);
  }
  return [xb, out];
}
