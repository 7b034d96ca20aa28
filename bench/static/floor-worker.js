// The memory floor: a module worker that starts Pyodide and imports NumPy from the site's own files,
// as the page's worker does, and then does nothing else (no pycore, no data). Posts the size of its
// WebAssembly heap.
(async () => {
  try {
    const { pyodide_version: version } = await (await fetch('/manifest.json')).json();
    const { loadPyodide } = await import(`/pyodide/${version}/pyodide.mjs`);
    const pyodide = await loadPyodide({ indexURL: new URL(`/pyodide/${version}/`, self.location.href).href,
                                        stdLibURL: new URL('/py/python-stdlib.zip', self.location.href).href });
    await pyodide.loadPackage('numpy', { messageCallback: () => {} });
    pyodide.runPython('import numpy');
    self.postMessage({ wasm_heap: pyodide._module.HEAP8.length });
  } catch (err) {
    self.postMessage({ error: `floor worker: ${String(err && err.message || err).trim().split('\n').pop()}` });
  }
})();
