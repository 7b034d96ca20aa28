// Runs kept in the browser (IndexedDB): each tab's run, so that a reload or a crash continues it, and
// each embed's, so that an embed whose frame a slide deck destroys continues where it was when the
// frame comes back. One record per key ('tab ID', 'embed RUNKEY', 'kept TIME'):
// {text (the run file), savedAt, examples, runKey (the URL keys that made the run), paused, summary}.
const DB = 'live-cnn';
const STORE = 'runs';

function open() {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') { reject(new Error('this browser has no IndexedDB')); return; }
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error || new Error('IndexedDB could not be opened'));
  });
}

async function transact(mode, work) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = tx.onabort = () => reject(tx.error || new Error('the browser refused to store the run'));
    });
  } finally {
    db.close();
  }
}

/** Save run text under key, with meta (savedAt defaults to now); rejects with the browser's reason
 * (a full quota, private mode). */
export function saveRun(key, text, meta = {}) {
  return transact('readwrite', (s) => s.put({ savedAt: Date.now(), ...meta, text }, key));
}

/** -> the record, or undefined. */
export function loadRun(key) {
  return transact('readonly', (s) => s.get(key));
}

export function forgetRun(key) {
  return transact('readwrite', (s) => s.delete(key));
}

/** Every saved run without its text: [{key, savedAt, examples, summary, size}], newest first. */
export async function listRuns() {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const out = [];
      const req = db.transaction(STORE, 'readonly').objectStore(STORE).openCursor();
      req.onsuccess = () => {
        const c = req.result;
        if (!c) { resolve(out.sort((a, b) => b.savedAt - a.savedAt)); return; }
        const { text, ...meta } = c.value;
        out.push({ key: c.key, size: text.length, ...meta });
        c.continue();
      };
      req.onerror = () => reject(req.error || new Error('the saved runs could not be read'));
    });
  } finally {
    db.close();
  }
}
