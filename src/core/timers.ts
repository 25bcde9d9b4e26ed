/**
 * Timers that run in Node and in a browser alike. Node's timers keep the
 * process alive unless unref'd; a browser's are plain numbers and keep
 * nothing alive, so there is nothing to do there.
 */

/** Let `timer` not hold a Node process open; a no-op in a browser. */
export function unrefTimer(timer: unknown): void {
  if (typeof timer === 'object' && timer !== null && 'unref' in timer && typeof timer.unref === 'function')
    timer.unref();
}
