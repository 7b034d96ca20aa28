// Pyodide takes seconds to boot, so a page of its own starts its training worker here, before the
// page's modules have loaded; what the worker says before main.js takes over waits in `early`.
// An embed (embed=1) connects to a shared run from main.js instead.
(function () {
  var url = document.querySelector('meta[name="live-cnn-worker"]').content;
  var params = new URLSearchParams(location.search + '&' + location.hash.replace(/^#/, ''));
  if (params.get('embed') === '1') return;
  var started = { worker: new Worker(url, { type: 'module' }), early: [] };
  started.worker.onmessage = started.worker.onerror = started.worker.onmessageerror = function (e) {
    if (e.type === 'error') e.preventDefault();
    started.early.push(e);
  };
  window.liveCnnWorker = started;
}());
