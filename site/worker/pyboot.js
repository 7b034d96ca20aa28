// Starting Python in a worker: Pyodide from the site's runtime folder, NumPy, NumPy's bytecode
// compiled at build time, and pycore with the site's Python modules on sys.path. Shared by the
// training worker and its helpers (helper.js).

/** -> the Pyodide module's URL the worker was started with (?pyodide=...), checked. */
export function pyodideModule(workerUrl, root) {
  const url = new URL(new URL(workerUrl).searchParams.get('pyodide') || 'missing', root);
  if (url.origin !== root.origin || !url.pathname.endsWith('/pyodide.mjs')) {
    throw new Error(`the worker was started without the site's Pyodide module (got ${url.href})`);
  }
  return url;
}

/** Pyodide 0.27.7 turns off a WebAssembly feature that stops Python from starting on iOS and iPadOS
 * only when navigator.platform names an iPhone, iPad or iPod (pyodide#5670); iPadOS's Safari says
 * "MacIntel". The page knows an iPad by its touch points, as Pyodide 0.28.0 does (pyodide#5695; a
 * worker has no maxTouchPoints), and says so in the worker's address (?ios=1, page/boot.js): the
 * worker's navigator then names an iPad before Pyodide loads. -> true when it was changed. */
export function markIOS(nav, workerUrl) {
  if (!nav || new URL(workerUrl).searchParams.get('ios') !== '1' || /iPad|iPhone|iPod/.test(nav.platform)) return false;
  Object.defineProperty(nav, 'platform', { value: 'iPad', configurable: true });
  return true;
}

/** Boot Python; fetchBytes(path) -> Promise<Uint8Array>; stage(text) says what is under way.
 *  The small downloads start at once, so they arrive while Pyodide compiles. -> pyodide. */
export async function bootPython(root, moduleUrl, fetchBytes, { stage = () => {}, onNumpyError = () => {} } = {}) {
  const zipBytes = fetchBytes('py/pycore.zip');
  const bytecode = fetchBytes('py/numpy-bytecode.zip');
  for (const p of [zipBytes, bytecode]) p.catch(() => {});   // reported where awaited
  stage('downloading the Python runtime (Pyodide)');
  markIOS(self.navigator, self.location.href);
  const { loadPyodide } = await import(moduleUrl.href);
  // The standard library with its start-up modules' bytecode added at build time (1.3 s less).
  const pyodide = await loadPyodide({ indexURL: new URL('./', moduleUrl).href,
                                      stdLibURL: new URL('py/python-stdlib.zip', root).href });
  stage('downloading NumPy');
  await pyodide.loadPackage('numpy', { messageCallback: () => {}, errorCallback: onNumpyError });
  // NumPy's modules compiled at build time: importing it then skips compiling ~85 sources.
  const sitePackages = pyodide.runPython('import site; site.getsitepackages()[0]');
  pyodide.unpackArchive(await bytecode, 'zip', { extractDir: sitePackages });
  stage('downloading pycore');
  pyodide.unpackArchive(await zipBytes, 'zip', { extractDir: '/home/pyodide/live' });
  pyodide.runPython("import sys; sys.path.insert(0, '/home/pyodide/live')");
  return pyodide;
}
