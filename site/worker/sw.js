// The offline copy of the site, a service worker (the build puts this file at the site's root, so
// that its scope is the whole site). Registered as sw.js?v=BUILD by page/offline.js.
// - install: caches every file of the build that manifest.json lists, except Fashion-MNIST's
//   chunks (30 MB), which are kept when first used, in a cache named by the build; then records
//   that build as the latest complete one and deletes the caches of other builds;
// - fetch: the network first, so that a rebuilt site shows at once when online; when the network
//   fails (no connection, the server stopped), the latest complete build's cache.
// The offline copy so never waits for this worker to take over from an older one: Chromium lets
// an older worker that it counts as busy (seen after a reload that cut a download short) go on
// answering for up to five minutes, and until then that worker answers from the latest cache too.
const VERSION = new URL(self.location.href).searchParams.get('v') || 'unversioned';
const PREFIX = 'live-cnn-build-';
const CACHE = PREFIX + VERSION;
const ON_USE = /^data\/fashion-mnist\//;   // site-relative paths cached when first fetched
const SCOPE = new URL('./', self.location.href).href;
const LATEST = 'live-cnn-latest';                       // one entry: the latest complete build
const LATEST_KEY = new URL('latest-build', SCOPE).href;

async function latestCache() {
  const hit = await caches.match(LATEST_KEY, { cacheName: LATEST });
  return hit ? PREFIX + (await hit.text()) : CACHE;
}

async function deleteOtherBuilds() {
  for (const name of await caches.keys()) if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const response = await fetch(new URL('manifest.json', SCOPE), { cache: 'no-cache' });
    const manifest = await response.json();
    if (manifest.version !== VERSION) throw new Error(`the site is build ${manifest.version}, not ${VERSION}`);
    const paths = manifest.files.map((f) => f.path).filter((p) => !ON_USE.test(p) && p !== 'sw.js');
    const cache = await caches.open(CACHE);
    // One file at a time: addAll's hundred downloads at once competed with the page's start (its
    // first training steps and paints, on a 2-core machine) and made its longest main-thread tasks.
    for (const p of paths) await cache.add(new URL(p, SCOPE).href);
    await (await caches.open(LATEST)).put(LATEST_KEY, new Response(VERSION));
    await deleteOtherBuilds();
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    await deleteOtherBuilds();           // again: a build installed in another tab meanwhile
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || !request.url.startsWith(SCOPE)) return;
  event.respondWith(fromNetworkElseCache(event));
});

// A fetch only reads and adds to the latest build's cache, never opens it: caches.open would create
// it again after a newer build's worker deleted it while this one still answered a request.
async function fromNetworkElseCache(event) {
  const request = event.request;
  try {
    const response = await fetch(request);
    const path = new URL(request.url).pathname.slice(new URL(SCOPE).pathname.length);
    const name = response.ok && ON_USE.test(path) && await latestCache();
    if (name && (await caches.has(name)) && !(await caches.match(request, { cacheName: name, ignoreSearch: true }))) {
      // kept while the page reads its own copy, which so arrives as it downloads
      event.waitUntil(keep(name, request, response.clone()));
    }
    return response;
  } catch (err) {
    // Offline. A page address may carry settings (index.html?preset=mlp) or name the folder only.
    const url = new URL(request.url);
    if (url.pathname.endsWith('/')) url.pathname += 'index.html';
    const hit = await caches.match(url.href, { cacheName: await latestCache(), ignoreSearch: true });
    if (!hit) throw err;
    // A new response has no URL of its own, so the request's stays: a worker reads its settings
    // from its address's query (worker/worker.js?v=...&pyodide=...), which the cached file lacks.
    return new Response(hit.body, { status: hit.status, statusText: hit.statusText, headers: hit.headers });
  }
}

async function keep(name, request, response) {
  if (await caches.has(name)) await (await caches.open(name)).put(request, response);
}
