/**
 * What the library falls back on when a caller passes nothing
 * (core/session/peer-session.ts, for the CLI and the page alike); the peer's
 * settings table takes its defaults for these from here.
 */
export const DEFAULTS = {
  /**
   * Reconnections allowed per outage; the time budget below is what usually
   * ends them. 20 attempts, backing off to 15 s apart, last past 5 minutes.
   */
  PEER_RECONNECTS: 20,
  /**
   * Seconds a session keeps trying for a new data channel after one drops:
   * rides out a router reboot or a Wi-Fi handover, not a lost peer.
   */
  PEER_RECONNECT_FOR: 120,
} as const;
