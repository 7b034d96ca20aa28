// The training worker's data: which dataset of the build's manifest a run starts with, what the
// session is told about each, and their chunks downloaded (as served: gzip, which Python gunzips
// straight into its heap) and handed to the session, one chunk of each split first.

/** The dataset the page asked for, if the build has it, else the manifest's first. */
export function firstDataset(manifest, asked) {
  return asked in manifest.datasets ? asked : Object.keys(manifest.datasets)[0];
}

/** What the session knows of every dataset: name -> {title, classes, train_count, test_count}. */
export function datasetMeta(manifest) {
  const meta = {};
  for (const [name, d] of Object.entries(manifest.datasets)) {
    meta[name] = { title: d.title, classes: d.classes, train_count: d.train_count, test_count: d.test_count };
  }
  return meta;
}

// A dataset's chunks in the order they are loaded: [kind, chunk]. First one chunk of each split,
// so that training (and testing) can start, then the rest.
function order(data) {
  return [['train', data.train[0]], ['test', data.test[0]],
    ...data.train.slice(1).map((c) => ['train', c]), ...data.test.slice(1).map((c) => ['test', c])];
}

export class DataLoader {
  /** fetchChunk(path) -> Promise<Uint8Array> (a chunk as served); add(name, kind, bytes, count) ->
   *  {ok} or {error} (the session's add_chunk); onAdded() after each chunk; onFail(message, detail). */
  constructor(fetchChunk, { add, onAdded, onFail }) {
    this.fetchChunk = fetchChunk;
    this.add = add;
    this.onAdded = onAdded;
    this.onFail = onFail;
    this.loading = new Set();     // datasets whose chunks were asked for
    this.early = new Map();       // file -> its bytes' promise, fetched before Python was up
  }

  /** Start downloading the first chunk of each split of `name` now (while Python boots). */
  prefetch(manifest, name) {
    for (const [, chunk] of order(manifest.datasets[name]).slice(0, 2)) {
      const bytes = this.fetchChunk(chunk.file);
      bytes.catch(() => {});      // reported by load(), which awaits it
      this.early.set(chunk.file, bytes);
    }
  }

  /** Download every chunk of dataset `name` (once) and hand each to the session in order. */
  async load(manifest, name) {
    if (this.loading.has(name)) return;
    this.loading.add(name);
    const data = manifest.datasets[name];
    try {
      for (const [kind, chunk] of order(data)) {
        const early = this.early.get(chunk.file);
        this.early.delete(chunk.file);
        const r = this.add(name, kind, await (early || this.fetchChunk(chunk.file)), chunk.count);
        if (r.error) throw new Error(r.error);
        this.onAdded();
      }
    } catch (e) {
      this.onFail(`the ${data.title} data could not be loaded`, e.stack || e);
    }
  }

  /** Every dataset is to be downloaded again (a new session that could not keep the old one's). */
  forget() { this.loading.clear(); }
}
