// Injected into the real page before its own scripts (page.add_init_script) by bench/run.py.
// Records: when html[data-state] changes, the loading stages shown before training, long tasks,
// animation-frame times, complete repaints of the layer views (the page's 'views-painted' event)
// and canvas paints inside #layers (putImageData/drawImage), all in performance.now() ms.
(() => {
  const B = window.__bench = { states: [], stages: [], longtasks: [], frames: [], refreshes: [], paints: 0 };
  document.addEventListener('views-painted', () => B.refreshes.push(performance.now()));
  new MutationObserver(() => {
    const s = document.documentElement && document.documentElement.dataset.state;
    if (s && (B.states.length === 0 || B.states[B.states.length - 1][0] !== s)) B.states.push([s, performance.now()]);
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
  try {
    new PerformanceObserver((list) => {
      for (const t of list.getEntries()) B.longtasks.push([t.startTime, t.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch (err) {
    B.longtaskError = String(err);
  }
  let last = null;
  const frame = (t) => {
    if (last !== null) B.frames.push([t, t - last]);
    last = t;
    if (B.states.every(([s]) => s !== 'training')) {
      const stage = document.getElementById('loading-stage');
      const text = stage && stage.textContent;
      if (text && (B.stages.length === 0 || B.stages[B.stages.length - 1][0] !== text)) B.stages.push([text, t]);
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  for (const name of ['putImageData', 'drawImage']) {
    const original = CanvasRenderingContext2D.prototype[name];
    CanvasRenderingContext2D.prototype[name] = function (...args) {
      if (this.canvas.closest && this.canvas.closest('#layers')) B.paints += 1;
      return original.apply(this, args);
    };
  }
})();
