/**
 * The page's OPFS writer: a dedicated worker that writes a received file in
 * place through a FileSystemSyncAccessHandle (OPFS only, workers only).
 *
 * Why a worker: on the main thread a file is written through createWritable,
 * whose bytes go to a swap file that appears only on close() (so the page
 * kept 16 MiB segments and copied them into the file at the end: seconds per
 * GiB after the last byte). A sync access handle writes into the file itself,
 * at once, from this thread: what was written survives a closed tab, and the
 * finished file is moved to its name rather than copied.
 *
 * The protocol (kinds, order, checks) is opfs-protocol.ts. One file is open
 * at a time: the receive engine takes files in order.
 */
import type { WriterReply } from './opfs-protocol.js';
import { parseRequest } from './opfs-protocol.js';

/** What this worker uses of a sync access handle (in lib.webworker, not the page's DOM lib). */
interface SyncHandle {
  write(data: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
}

type SyncCapable = FileSystemFileHandle & { createSyncAccessHandle(): Promise<SyncHandle> };

const scope = self as unknown as {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: WriterReply, transfer?: Transferable[]): void;
};

let open: SyncHandle | undefined;
/** Requests run one after another, in the order they came: each write lands where it was asked. */
let queue: Promise<void> = Promise.resolve();

async function handle(raw: unknown): Promise<void> {
  const request = parseRequest(raw);
  const { seq } = request;
  try {
    switch (request.kind) {
      case 'probe':
        scope.postMessage({
          kind: 'probed',
          seq,
          ok: 'createSyncAccessHandle' in FileSystemFileHandle.prototype,
        });
        return;
      case 'open':
        open?.close();
        open = await (request.handle as SyncCapable).createSyncAccessHandle();
        // Whatever lies past the part being continued is a torn tail: never data.
        open.truncate(request.keep);
        scope.postMessage({ kind: 'done', seq });
        return;
      case 'write': {
        if (open === undefined) throw new Error('write with no file open');
        const data = new Uint8Array(request.buffer, 0, request.length);
        for (let done = 0; done < data.length; ) {
          done += open.write(data.subarray(done), { at: request.at + done });
        }
        scope.postMessage({ kind: 'done', seq, buffer: request.buffer }, [request.buffer]);
        return;
      }
      case 'close':
        open?.flush();
        open?.close();
        open = undefined;
        scope.postMessage({ kind: 'done', seq });
        return;
    }
  } catch (err) {
    const { name, message } = err instanceof Error ? err : new Error(String(err));
    scope.postMessage({ kind: 'failed', seq, name, message });
  }
}

scope.onmessage = (e) => {
  queue = queue.then(() => handle(e.data));
};
