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
 *
 * A stopped process is not a frozen one. Ctrl-Z, SIGSTOP or a debugger stop
 * every thread, the worker's included; a laptop suspend stops the clocks too.
 * So the worker counts only time it was itself awake to see: the heartbeat is
 * a counter, not a timestamp, and the worker measures the monotonic time
 * between its own ticks. A gap far longer than its tick means it was stopped
 * with everything else; that gap does not count against the main thread,
 * which after the resume gets its full limit again (the session then
 * reconnects, as after a network cut).
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
  const timer = setInterval(() => Atomics.add(beat, 0, 1), BEAT_MS);
  timer.unref();
  const worker = new Worker(WATCHER, { eval: true, workerData: { beat, lastWords, limitMs } });
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
 *
 * It ticks every second (a quarter of a short test limit); a gap between its
 * ticks over five ticks is a stop of the whole process, not scheduling delay
 * on a busy machine (which makes ticks late by milliseconds, not seconds).
 */
const WATCHER = `
const { workerData } = process.getBuiltinModule('node:worker_threads');
const fs = process.getBuiltinModule('node:fs');
const { beat, lastWords, limitMs } = workerData;
const tickMs = Math.min(1000, limitMs / 4);
const stoppedGapMs = 5 * tickMs;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
let seen = Atomics.load(beat, 0);
let stuckMs = 0;
let last = performance.now();
for (;;) {
  Atomics.wait(sleeper, 0, 0, tickMs);
  const now = performance.now();
  const gap = now - last;
  last = now;
  const current = Atomics.load(beat, 0);
  if (current !== seen) {
    seen = current;
    stuckMs = 0;
  } else if (gap < stoppedGapMs) {
    stuckMs += gap;
  }
  if (stuckMs > limitMs) {
    for (const w of lastWords) {
      try { fs.writeSync(w.fd, w.text); } catch {}
    }
    process.kill(process.pid, 'SIGKILL');
  }
}
`;
