// Runs kept in the browser (IndexedDB), so that an embed whose frame a slide deck destroys
// continues where it was when the frame comes back. One record per key: {text, savedAt, examples}.
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

/** Save run text under key; rejects with the browser's reason (a full quota, private mode). */
export function saveRun(key, text, meta = {}) {
  return transact('readwrite', (s) => s.put({ text, savedAt: Date.now(), ...meta }, key));
}

/** -> {text, savedAt, examples} or undefined. */
export function loadRun(key) {
  return transact('readonly', (s) => s.get(key));
}

export function forgetRun(key) {
  return transact('readwrite', (s) => s.delete(key));
}
