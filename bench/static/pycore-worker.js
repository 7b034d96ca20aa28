// pycore in Pyodide in a module worker with no UI: boots like site/worker/worker.js, then runs
// pycore.bench.speed_run on the images it is sent and posts its result.

self.onmessage = async (e) => {
  const { images, labels, seconds } = e.data;
  try {
    const t0 = performance.now();
    const { pyodide_version: version } = await (await fetch('/manifest.json')).json();
    const { loadPyodide } = await import(`/pyodide/${version}/pyodide.mjs`);
    const pyodide = await loadPyodide({ indexURL: new URL(`/pyodide/${version}/`, self.location.href).href,
                                          stdLibURL: new URL('/py/python-stdlib.zip', self.location.href).href });
    await pyodide.loadPackage('numpy', { messageCallback: () => {} });
    const zip = new Uint8Array(await (await fetch('/py/pycore.zip')).arrayBuffer());
    pyodide.unpackArchive(zip, 'zip', { extractDir: '/home/pyodide/live' });
    pyodide.runPython("import sys; sys.path.insert(0, '/home/pyodide/live')");
    const bootS = (performance.now() - t0) / 1000;
    pyodide.globals.set('images_js', images);
    pyodide.globals.set('labels_js', labels);
    pyodide.globals.set('seconds', seconds);
    const text = pyodide.runPython(`
import json
import numpy as np
from pycore.bench import speed_run
images = np.frombuffer(images_js.to_bytes(), np.uint8).reshape(-1, 28, 28)
labels = np.frombuffer(labels_js.to_bytes(), np.uint8)
json.dumps(speed_run(images, labels, seconds=seconds))
`);
    self.postMessage({ ...JSON.parse(text), boot_s: bootS });
  } catch (err) {
    self.postMessage({ error: `pycore worker: ${String(err && err.message || err).trim().split('\n').pop()}` });
  }
};
