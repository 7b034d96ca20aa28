// A loss chart on one canvas: axes with ticks, one line, bounded memory.

const MAX_POINTS = 800;       // past this, neighbouring points are merged (averaged) in pairs

export class LossChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.points = [];         // [examples, loss]
    this.dirty = true;
  }

  add(x, y) {
    if (!Number.isFinite(y)) return;
    this.points.push([x, y]);
    if (this.points.length > MAX_POINTS) {
      const merged = [];
      for (let i = 0; i + 1 < this.points.length; i += 2) {
        const [a, b] = [this.points[i], this.points[i + 1]];
        merged.push([b[0], (a[1] + b[1]) / 2]);
      }
      if (this.points.length % 2) merged.push(this.points[this.points.length - 1]);
      this.points = merged;
    }
    this.dirty = true;
  }

  draw() {
    if (!this.dirty) return;
    this.dirty = false;
    const { canvas, points } = this;
    const ctx = canvas.getContext('2d');
    const W = canvas.width, H = canvas.height;
    const L = 48, R = 28, T = 10, B = 34;
    ctx.clearRect(0, 0, W, H);
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#5b6570';
    ctx.strokeStyle = '#d6dbe0';
    if (!points.length) {
      ctx.textAlign = 'center';
      ctx.fillText('The loss appears here once training starts.', W / 2, H / 2);
      return;
    }
    const xmax = Math.max(points.length ? points[points.length - 1][0] : 0, 1);
    const ymax = Math.max(0.1, ...points.map((p) => p[1])) * 1.05;
    const px = (x) => L + (x / xmax) * (W - L - R);
    const py = (y) => T + (1 - y / ymax) * (H - T - B);
    ctx.beginPath();
    for (let i = 0; i <= 4; i++) {
      const y = (ymax * i) / 4;
      ctx.moveTo(L, py(y)); ctx.lineTo(W - R, py(y));
      ctx.textAlign = 'right'; ctx.fillText(y.toFixed(2), L - 6, py(y) + 4);
      const x = (xmax * i) / 4;
      ctx.textAlign = 'center'; ctx.fillText(Math.round(x).toLocaleString('en-US'), px(x), H - B + 14);
    }
    ctx.stroke();
    ctx.textAlign = 'center';
    ctx.fillText('examples seen', L + (W - L - R) / 2, H - 4);
    ctx.save(); ctx.translate(11, T + (H - T - B) / 2); ctx.rotate(-Math.PI / 2);
    ctx.fillText('loss', 0, 0); ctx.restore();
    ctx.beginPath();
    ctx.strokeStyle = '#1f6feb';
    ctx.lineWidth = 1.5;
    points.forEach(([x, y], i) => (i ? ctx.lineTo(px(x), py(y)) : ctx.moveTo(px(x), py(y))));
    ctx.stroke();
    ctx.lineWidth = 1;
  }
}
