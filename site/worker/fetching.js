// The worker's downloads: every fetch (Pyodide's own included) counted for the progress line and
// checked, so that the two silent failure modes (HTTP errors, wasm served with the wrong MIME type)
// become errors; and the bytes of a file of the site.
let bytesLoaded = 0;
export const loaded = () => bytesLoaded;

/** Route every fetch of this worker through a check: onFail(message, url) hears a failure (which
 * also rejects), onBytes() each arrival of body bytes; loaded() is the count so far. */
export function watchFetches(root, { onFail, onBytes }) {
  const realFetch = self.fetch.bind(self);
  self.fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);   // Pyodide passes URL objects
    const name = decodeURIComponent(new URL(url, root).pathname.split('/').pop());
    let resp;
    try {
      resp = await realFetch(input, init);
    } catch (e) {
      const err = new Error(`could not download ${name}: ${e.message}`);
      onFail(err.message, url);
      throw err;
    }
    if (!resp.ok) {
      const err = new Error(`could not download ${name}: the server answered HTTP ${resp.status}`);
      onFail(err.message, url);
      throw err;
    }
    const type = resp.headers.get('content-type') || '';
    if (name.endsWith('.wasm') && !type.startsWith('application/wasm')) {
      const err = new Error(`${name} was served as "${type || 'no type'}" but browsers only run it when ` +
        'served as "application/wasm". Serve the folder with `python build.py serve` or set that MIME type on your host.');
      onFail(err.message, url);
      throw err;
    }
    // The wasm response is handed over untouched: a re-wrapped Response has no URL, and Chromium
    // only caches compiled WebAssembly for responses it can tie to a URL.
    if (!resp.body || name.endsWith('.wasm')) {
      bytesLoaded += Number(resp.headers.get('content-length')) || 0;
      return resp;
    }
    const reader = resp.body.getReader();
    const counted = new ReadableStream({
      async pull(ctrl) {
        const { done, value } = await reader.read();
        if (done) { ctrl.close(); return; }
        bytesLoaded += value.byteLength;
        onBytes();
        ctrl.enqueue(value);
      },
      cancel(reason) { return reader.cancel(reason); },
    });
    return new Response(counted, { status: resp.status, statusText: resp.statusText, headers: resp.headers });
  };
}

/** The bytes of `path` (relative to root), as served. (The data chunks are gzip files: Python
 *  gunzips them, straight into its heap; see session.add_chunk.) */
export async function fetchBytes(root, path) {
  const resp = await self.fetch(new URL(path, root).href);
  return new Uint8Array(await resp.arrayBuffer());
}
