// Pyodide takes seconds to boot, so a page of its own starts its training worker here, before the
// page's modules have loaded; what the worker says before main.js takes over waits in `early`.
// An embed (embed=1) connects to a shared run from main.js instead.
(function () {
  var meta = document.querySelector('meta[name="live-cnn-worker"]');
  // iOS and iPadOS, known as Pyodide 0.28.0 knows them (pyodide#5695): iPadOS's Safari calls itself
  // "MacIntel", and only its touch points, which a worker cannot see, tell it from a Mac. Every worker
  // of this page is told (worker/pyboot.js, markIOS); main.js reads the same address.
  var nav = navigator;
  var ios = /iPad|iPhone|iPod/.test(nav.userAgent) || /iPad|iPhone|iPod/.test(nav.platform) ||
    (nav.platform === 'MacIntel' && nav.maxTouchPoints > 1);
  meta.content += '&ios=' + (ios ? 1 : 0);
  var url = meta.content;
  var params = new URLSearchParams(location.search + '&' + location.hash.replace(/^#/, ''));
  // The theme a URL forces, before the page is first painted (main.js applies state.js's reading of
  // it with theme.js): a dark embed never flashes white on a black slide.
  var theme = params.getAll('theme').pop();
  if (theme === 'light' || theme === 'dark') {
    document.documentElement.dataset.theme = theme;
    document.querySelector('link[data-role="dark-theme"]').media = theme === 'dark' ? 'all' : 'not all';
  }
  if (params.get('embed') === '1') return;
  var started = { worker: new Worker(url, { type: 'module' }), early: [] };
  started.worker.onmessage = started.worker.onerror = started.worker.onmessageerror = function (e) {
    if (e.type === 'error') e.preventDefault();
    started.early.push(e);
  };
  window.liveCnnWorker = started;
}());
