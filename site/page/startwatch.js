// Watches the page's start. A module that cannot be loaded (missing, served as something other than
// JavaScript, a syntax error) or that throws while the page starts would leave it at "Starting…"
// with no word; until main.js says it has started (liveCnnStart.done()), any error shows the page's
// error box with the module's path and the message. A classic script, so it runs when no module can.
// diagnose(url) is also how run.js names the worker's module that failed to load; log(text) keeps
// every error the page shows where tests in any engine can read it.
(function () {
  var siteRoot = new URL('./', location.href).href;
  var started = false, shown = false, diagnosing = false;

  // A URL of this site as the site's own path (page/views/chart.js), without its query.
  function sitePath(url) {
    if (!url) return 'a script';
    var u = new URL(url, location.href);
    var href = u.origin + u.pathname;
    return href.indexOf(siteRoot) === 0 ? href.slice(siteRoot.length) : href;
  }

  // The static imports of a module's text (import ... from '...', import '...', export ... from '...').
  var IMPORT = /(?:^|[;\s])(?:import|export)\s*(?:[\w*{}\s,$]+?\s*from\s*)?['"]([^'"\n]+)['"]/g;

  // -> Promise of {module, message} for the first module of url's static import graph that the
  // browser could not have loaded, or null if every one downloads as JavaScript and parses.
  function diagnose(url) {
    var seen = {};
    function visit(href) {
      if (seen[href]) return Promise.resolve(null);
      seen[href] = true;
      return fetch(href, { cache: 'no-store' }).then(function (r) {
        if (!r.ok) return { module: sitePath(href), message: 'could not be downloaded: HTTP ' + r.status };
        var type = (r.headers.get('content-type') || 'no type').split(';')[0];
        if (!/javascript|ecmascript/.test(type)) return { module: sitePath(href), message: 'was served as ' + type + ', not JavaScript' };
        return r.text().then(function (text) {
          var children = [], m;
          IMPORT.lastIndex = 0;
          while ((m = IMPORT.exec(text))) if (/^\.{0,2}\//.test(m[1])) children.push(new URL(m[1], href).href);
          return children.reduce(function (p, child) {
            return p.then(function (found) { return found || visit(child); });
          }, Promise.resolve(null));
        });
      }, function (err) {
        return { module: sitePath(href), message: 'could not be downloaded (' + err.message + ')' };
      });
    }
    return visit(new URL(url, location.href).href);
  }

  // Every error the page shows, kept in #error-log (hidden): the box shows the first, and a test in
  // any engine reads them all there (no engine's driver but Chromium's hears a worker's console).
  function log(text) {
    var put = function () {
      var list = document.getElementById('error-log');
      if (!list) return;
      var item = document.createElement('li');
      item.textContent = text;
      list.append(item);
    };
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', put);
    else put();
  }

  function show(module, message) {
    if (started || shown) return;
    shown = true;
    log('The page could not start: ' + module + ' ' + message);
    if (window.liveCnnWorker) window.liveCnnWorker.worker.terminate();   // no page will read it
    var put = function () {
      var root = document.documentElement;
      root.dataset.state = 'error';
      var stage = document.getElementById('loading-stage');
      if (stage) stage.textContent = 'The page could not start.';
      var box = document.getElementById('error');
      if (!box) return;
      document.getElementById('error-message').textContent = 'The page could not start: ' + module + ' ' + message;
      document.getElementById('error-detail').textContent =
        'Reloading may help if the site was being updated; otherwise the site is broken (tell whoever hosts it).';
      box.hidden = false;
    };
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', put);
    else put();
  }

  function mainScript() {
    return document.querySelector('script[type="module"]');
  }

  function explainLoadFailure(src) {
    if (diagnosing) return;
    diagnosing = true;
    diagnose(src).then(function (found) {
      if (found) show(found.module, found.message);
      else show(sitePath(src), 'or one of the modules it imports failed to load (the browser gave no reason)');
    });
  }

  // Errors thrown while a module runs, syntax errors (both ErrorEvents with the module's URL), and
  // a <script type="module"> whose graph could not be fetched (a plain Event on the element, which
  // does not bubble: hence the capture).
  window.addEventListener('error', function (e) {
    if (started) return;
    if (typeof ErrorEvent === 'function' && e instanceof ErrorEvent) {
      show(sitePath(e.filename), 'failed: ' + (e.message || 'an error without a message'));
    } else if (e.target && e.target.tagName === 'SCRIPT') {
      explainLoadFailure(e.target.src);
    }
  }, true);
  window.addEventListener('unhandledrejection', function (e) {
    if (started) return;
    var reason = e.reason && e.reason.message ? e.reason.message : String(e.reason);
    show('a module', 'failed while the page started: ' + reason);
  });
  // Module scripts run before DOMContentLoaded: if main.js has not said it started by then, and no
  // error said why, find out.
  document.addEventListener('DOMContentLoaded', function () {
    setTimeout(function () {
      if (!started && !shown && !diagnosing && mainScript()) explainLoadFailure(mainScript().src);
    }, 0);
  });

  window.liveCnnStart = {
    done: function () { started = true; },
    diagnose: diagnose,
    sitePath: sitePath,
    log: log,
  };
}());
