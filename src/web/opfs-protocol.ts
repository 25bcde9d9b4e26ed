/**
 * The page and its OPFS writer worker (opfs-writer.ts), one message kind per
 * step of a file, all in this one place:
 *
 *   page                                      worker
 *    | -- probe ---------------------------->  |  can it write in place here?
 *    | <------------------------ probed {ok} - |
 *    | -- open {file handle, keep} --------->  |  createSyncAccessHandle, truncate(keep)
 *    | -- write {at, buffer} (transferred) ->  |  write(at), the buffer handed back
 *    | <--------------- done {seq, buffer} --- |
 *    | -- close {seq} ----------------------->  |  flush, close: the bytes are in the file
 *    | <---------------------- done {seq} ---- |
 *
 * Every request carries a seq; the worker answers each one, in order, with
 * `done` or `failed` (a DOMException's name and message, such as
 * QuotaExceededError). A write's buffer goes back with its answer, so the page
 * reuses a few buffers rather than allocating one per batch.
 *
 * Both ends are this page's own code, but what crosses postMessage is still
 * checked on arrival (parseReply / parseRequest): a wrong shape is a bug to
 * surface, not to guess around.
 */

/** Where the worker script is, next to app.js (scripts/build-web.ts builds both). */
export const OPFS_WRITER_URL = './opfs-writer.js';

export type WriterRequest =
  | { kind: 'probe'; seq: number }
  | { kind: 'open'; seq: number; handle: FileSystemFileHandle; keep: number }
  | { kind: 'write'; seq: number; at: number; buffer: ArrayBuffer; length: number }
  | { kind: 'close'; seq: number };

export type WriterReply =
  | { kind: 'probed'; seq: number; ok: boolean }
  | { kind: 'done'; seq: number; buffer?: ArrayBuffer }
  | { kind: 'failed'; seq: number; name: string; message: string };

function record(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null)
    throw new Error('OPFS writer: a message that is not an object');
  return raw as Record<string, unknown>;
}

function count(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error(`OPFS writer: bad ${key}`);
  return v;
}

export function parseRequest(raw: unknown): WriterRequest {
  const o = record(raw);
  const seq = count(o, 'seq');
  switch (o.kind) {
    case 'probe':
    case 'close':
      return { kind: o.kind, seq };
    case 'open':
      if (!(o.handle instanceof FileSystemFileHandle))
        throw new Error('OPFS writer: open without a file handle');
      return { kind: 'open', seq, handle: o.handle, keep: count(o, 'keep') };
    case 'write': {
      if (!(o.buffer instanceof ArrayBuffer)) throw new Error('OPFS writer: write without a buffer');
      const length = count(o, 'length');
      if (length > o.buffer.byteLength) throw new Error('OPFS writer: write longer than its buffer');
      return { kind: 'write', seq, at: count(o, 'at'), buffer: o.buffer, length };
    }
    default:
      throw new Error(`OPFS writer: unknown request ${String(o.kind)}`);
  }
}

export function parseReply(raw: unknown): WriterReply {
  const o = record(raw);
  const seq = count(o, 'seq');
  switch (o.kind) {
    case 'probed':
      return { kind: 'probed', seq, ok: o.ok === true };
    case 'done':
      return o.buffer instanceof ArrayBuffer
        ? { kind: 'done', seq, buffer: o.buffer }
        : { kind: 'done', seq };
    case 'failed':
      return { kind: 'failed', seq, name: String(o.name), message: String(o.message) };
    default:
      throw new Error(`OPFS writer: unknown reply ${String(o.kind)}`);
  }
}
