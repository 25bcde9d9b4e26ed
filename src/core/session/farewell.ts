/**
 * A transfer that failed without losing its link: perhaps an ERROR frame one
 * side sent. Closing at once can drop ours before it leaves, so the session
 * (peer-session.ts), or an attempt's child process in Node, waits briefly for
 * the peer to close first.
 */
import { unrefTimer } from '../timers.js';
import type { SessionLink } from './ports.js';

/** Long enough for a queued ERROR frame to cross, short enough not to hold up an exit. */
const FAREWELL_MS = 1_000;

/** Resolves when the peer closes the channel, or after FAREWELL_MS (also run by an attempt's child process). */
export function farewell(framed: SessionLink): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, FAREWELL_MS);
    unrefTimer(timer);
    framed.link.onClose(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
