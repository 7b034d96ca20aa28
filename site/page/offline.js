// Keeps an offline copy of this build (sw.js at the site's root) once the page has started, so
// that its downloads come from the browser's HTTP cache rather than the network a second time.
// A browser without service workers, or a frame that may not have one, just goes without.
// version: the build's, which names its cache (the pages load their script as ...js?v=VERSION).
export function keepOffline(version, onNote = () => {}) {
  if (!('serviceWorker' in navigator) || !window.isSecureContext || !version) return;
  const script = new URL(`../sw.js?v=${version}`, import.meta.url);
  navigator.serviceWorker.register(script, { scope: new URL('../', import.meta.url).pathname })
    .then((registration) => installed(registration, version))
    .then(() => onNote(`this build (${version}) now also opens with no network`))
    .catch((err) => console.warn(`no offline copy: ${err.message}`));
}

// Resolves once this build's worker has cached the build (installed, whether or not it has taken
// over from an older build's worker yet: both answer from the latest complete copy).
function installed(registration, version) {
  const ours = (w) => w && new URL(w.scriptURL).searchParams.get('v') === version;
  const done = (w) => ['installed', 'activating', 'activated'].includes(w.state);
  return new Promise((resolve, reject) => {
    const watch = (w) => {
      if (done(w)) resolve();
      else if (w.state === 'redundant') reject(new Error('the service worker failed to install'));
      else w.addEventListener('statechange', () => watch(w), { once: true });
    };
    const w = [registration.installing, registration.waiting, registration.active].find(ours);
    if (w) watch(w);
    else registration.addEventListener('updatefound', () => { if (ours(registration.installing)) watch(registration.installing); }, { once: true });
  });
}
