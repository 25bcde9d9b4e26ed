/**
 * The settings rows of `peer daemon`, `peer status` and `peer stop`, and of
 * the routing that hands `peer share` and `peer get` to a daemon; the peer's
 * table (peer-settings.ts) takes them into its commands and its whole list.
 */
import type { Setting } from '../config.js';
import { flagOff, optionalString } from '../config.js';

/** Where the daemon's socket is: the daemon, and every command that may talk to it. */
export const PEER_DAEMON_DIR_SETTINGS = [
  {
    flag: 'daemon-dir',
    env: 'PEERLANE_DAEMON_DIR',
    describe:
      "The daemon's folder, for its socket (its jobs go in state/ inside): default $XDG_RUNTIME_DIR/peerlane, else ~/.peerlane/run",
    parse: optionalString,
  },
] as const satisfies readonly Setting[];

/** `peer share` and `peer get`: here, or through the daemon. */
export const PEER_DAEMON_ROUTE_SETTINGS = [
  ...PEER_DAEMON_DIR_SETTINGS,
  {
    flag: 'daemon',
    type: 'boolean',
    describe:
      'Hand the job to the running daemon (DAEMON_NOT_RUNNING if none); --no-daemon runs it here; unset: the daemon if one runs',
    // Three ways: given, given as --no-daemon, or not given at all.
    parse: (raw) => (raw === undefined ? undefined : raw === true),
  },
] as const satisfies readonly Setting[];

export const PEER_DAEMON_SETTINGS = [
  flagOff('stop', 'Ask the running daemon to stop; its jobs stay saved, and the next daemon resumes them'),
] as const satisfies readonly Setting[];

export const PEER_STATUS_SETTINGS = [
  flagOff('follow', "Then stream the job's events (every job's, without an id) until it ends"),
] as const satisfies readonly Setting[];
