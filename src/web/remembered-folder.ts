/**
 * The folder a person last picked to receive into, kept in the page's
 * IndexedDB (a FileSystemDirectoryHandle survives there across visits; a
 * path never reaches the page). The next folder picker opens in it, so
 * receiving the same files again, to resume what a closed tab cut short
 * (part-store.ts), is one click on the same folder. Nothing is written there
 * without the picker: the person still confirms it each time.
 *
 * Best effort: where IndexedDB is unavailable (a private window, a policy),
 * the picker just opens where the browser likes.
 */
const DATABASE = 'peerlane';
const STORE = 'folders';
const KEY = 'receive';

function database(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DATABASE, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

function request<T>(run: (store: IDBObjectStore) => IDBRequest<T>, mode: IDBTransactionMode): Promise<T> {
  return database().then((db) =>
    new Promise<T>((resolve, reject) => {
      const req = run(db.transaction(STORE, mode).objectStore(STORE));
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    }).finally(() => db.close()),
  );
}

/** The folder picked last time, if the browser kept it. */
export async function rememberedFolder(): Promise<FileSystemDirectoryHandle | undefined> {
  try {
    const value: unknown = await request((s) => s.get(KEY), 'readonly');
    return value instanceof FileSystemDirectoryHandle ? value : undefined;
  } catch {
    return undefined;
  }
}

export async function rememberFolder(handle: FileSystemDirectoryHandle): Promise<void> {
  await request((s) => s.put(handle, KEY), 'readwrite').catch(() => {});
}
