// IndexedDB persistence: the project (classes, settings, trained head) in "meta", one record per
// sample in "samples" (thumbnail, source image, features). Every write reports its errors, quota
// errors above all: nothing is swallowed.

const DB_NAME = 'finetuner';
const DB_VERSION = 1;

function req(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('IndexedDB transaction aborted'));
  });
}

/** describeStorageError turns an IndexedDB failure into a sentence a person can act on. */
export function describeStorageError(err) {
  const name = err && err.name;
  if (name === 'QuotaExceededError') {
    return 'Browser storage is full: new work is kept in this tab and saved as soon as there is room. Delete samples, or export the project, or free space for this site.';
  }
  return `Saving to browser storage failed: ${err && err.message ? err.message : err}`;
}

export class Store {
  /**
   * open connects to the database name (the app's by default; the kiosk keeps its visits in
   * its own); rejects when IndexedDB is unavailable (private mode, file://).
   */
  static async open(name = DB_NAME) {
    if (!('indexedDB' in globalThis)) throw new Error('IndexedDB is not available: the project will not be saved.');
    const r = indexedDB.open(name, DB_VERSION);
    r.onupgradeneeded = () => {
      const db = r.result;
      if (!db.objectStoreNames.contains('meta')) db.createObjectStore('meta');
      if (!db.objectStoreNames.contains('samples')) db.createObjectStore('samples', { keyPath: 'id' });
    };
    const db = await req(r);
    return new Store(db);
  }

  constructor(db) { this.db = db; }

  async load() {
    const tx = this.db.transaction(['meta', 'samples'], 'readonly');
    const meta = await req(tx.objectStore('meta').get('project'));
    const samples = await req(tx.objectStore('samples').getAll());
    return { meta: meta || null, samples };
  }

  async putMeta(meta) {
    const tx = this.db.transaction('meta', 'readwrite');
    tx.objectStore('meta').put(meta, 'project');
    return done(tx);
  }

  putSamples(records) { return this.eachSample(records, (os, r) => os.put(r)); }

  deleteSamples(ids) { return this.eachSample(ids, (os, id) => os.delete(id)); }

  /** eachSample applies op(store, item) to every item in one transaction on the samples. */
  async eachSample(items, op) {
    if (!items.length) return;
    const tx = this.db.transaction('samples', 'readwrite');
    const os = tx.objectStore('samples');
    for (const x of items) op(os, x);
    return done(tx);
  }

  async clear() {
    const tx = this.db.transaction(['meta', 'samples'], 'readwrite');
    tx.objectStore('meta').clear();
    tx.objectStore('samples').clear();
    return done(tx);
  }
}
