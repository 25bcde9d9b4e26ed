/**
 * A guard for the one failure JavaScript cannot handle itself: the main thread
 * stuck inside a native call.
 *
 * node-datachannel 0.33.4 ships a libdatachannel with a lock cycle between
 * libjuice's poll thread and the DTLS transport, hit mostly over TURN (fixed
 * upstream in libdatachannel PR #1630, not yet released here). Once it bites,
 * every ICE call in the process waits on that lock forever:
 * `PeerConnection.close()` and the next connection's candidate gathering
 * included (seen with gdb in the NAT lab soak: about 1 in 150 TURN
 * connections). The connect watchdog notices the stall, but the main thread
 * then blocks in the very call that would recover.
 *
 * So a worker thread watches a heartbeat the main thread keeps. If it stops
 * for FREEZE_LIMIT_MS, the worker writes the command's last words (the error
 * line, and the JSON `error` event) and kills the process: nothing in it can
 * run any more, the peer sees it leave, and a rerun resumes from the `.part`.
 */
import { Worker } from 'node:worker_threads';

/** No healthy step blocks the main thread for more than milliseconds; 20 s is a hang. */
export const FREEZE_LIMIT_MS = 20_000;
/** How often the main thread proves it is alive. */
const BEAT_MS = 500;

/** What to write, and where, when the process is found frozen. */
export interface LastWords {
  fd: number;
  text: string;
}

/** Start watching; returns a function that stops the guard. */
export function startFreezeGuard(lastWords: readonly LastWords[], limitMs = FREEZE_LIMIT_MS): () => void {
  const beat = new Int32Array(new SharedArrayBuffer(4));
  const started = Date.now();
  // Tenths of a second since start: an Int32 holds years of them.
  const tick = (): void => {
    Atomics.store(beat, 0, Math.floor((Date.now() - started) / 100));
  };
  tick();
  const timer = setInterval(tick, BEAT_MS);
  timer.unref();
  const worker = new Worker(WATCHER, { eval: true, workerData: { beat, lastWords, limitMs, started } });
  worker.unref();
  return () => {
    clearInterval(timer);
    void worker.terminate();
  };
}

/**
 * The watcher: plain JavaScript with no imports of ours, and getBuiltinModule
 * rather than require or import, so it runs whichever module type it is
 * evaluated as (workers inherit --input-type).
 */
const WATCHER = `
const { workerData } = process.getBuiltinModule('node:worker_threads');
const fs = process.getBuiltinModule('node:fs');
const { beat, lastWords, limitMs, started } = workerData;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
for (;;) {
  Atomics.wait(sleeper, 0, 0, 1000);
  const alive = started + Atomics.load(beat, 0) * 100;
  if (Date.now() - alive > limitMs) {
    for (const w of lastWords) {
      try { fs.writeSync(w.fd, w.text); } catch {}
    }
    process.kill(process.pid, 'SIGKILL');
  }
}
`;
