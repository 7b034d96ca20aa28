// Keeps an offline copy of this build (sw.js at the site's root) once the page has started, so
// that its downloads come from the browser's HTTP cache rather than the network a second time.
// A browser without service workers, or a frame that may not have one, just goes without.
// version: the build's, which names its cache (the pages load their script as ...js?v=VERSION).
export function keepOffline(version, onNote = () => {}) {
  if (!('serviceWorker' in navigator) || !window.isSecureContext || !version) return;
  const script = new URL(`../sw.js?v=${version}`, import.meta.url);
  navigator.serviceWorker.register(script, { scope: new URL('../', import.meta.url).pathname })
    .then(() => navigator.serviceWorker.ready)
    .then(() => onNote(`this build (${version}) now also opens with no network`))
    .catch((err) => console.warn(`no offline copy: ${err.message}`));
}
