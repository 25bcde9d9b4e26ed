/**
 * What a SignalServer is given: where to listen, its limits, and its optional
 * parts (STUN, TURN, Redis, the operator's HTTP port, the relay). The
 * settings table (cli/signal-settings.ts) fills it from flags and variables.
 */
import type { RelayLimits } from './relay/hub.js';
import type { SignalLimits } from './server-config.js';
import type { TlsPem } from './tls.js';
import type { TurnConfig } from './turn.js';

export interface SignalServerOptions {
  host: string;
  /** 0 picks a free port; read it back from `address()`. */
  port: number;
  /** Receives one line per notable event; defaults to silence. */
  log?: (message: string) => void;
  /** Any limit left out takes its default (DEFAULT_SIGNAL_LIMITS). Throws BAD_CONFIG if one is invalid. */
  limits?: Partial<SignalLimits>;
  /** Answer STUN Binding requests on UDP, on the TCP port's number (default true). */
  stun?: boolean;
  /** Issue coturn REST credentials to paired peers; see resolveTurnConfig(). */
  turn?: TurnConfig | undefined;
  /** Share nameplates, pairings and rate limits with other instances through this Redis. */
  redisUrl?: string | undefined;
  /** Serve /healthz and /metrics over HTTP on this port (0 picks one; see httpAddress()). */
  httpPort?: number | undefined;
  /** Where that port listens: loopback unless asked otherwise, since it is for the operator only. */
  httpHost?: string | undefined;
  /**
   * Milliseconds, what the rate buckets refill by and in-process nameplates
   * expire by (not the timers, nor Redis's TTLs); defaults to a monotonic
   * clock, and to Redis's own for the buckets kept there. For tests, which move
   * it instead of sleeping; instances sharing a Redis must share it too.
   */
  now?: () => number;
  /** The relay on this port (off unless `enabled`); see server/relay/hub.ts. */
  relay?: Partial<RelayLimits> | undefined;
  /**
   * `host:port` where peers meet for the relay, named in `paired`: this
   * instance (with the relay enabled) or a relay-only process elsewhere; see
   * HandlerOptions. Port 0 stands for the port this instance bound.
   */
  relayAddress?: string | undefined;
  /**
   * Serve the relay (and its WebSocket path) alone: no signaling, no STUN. An
   * operator runs it on another host, and the signal servers name it with
   * RELAY_ADDRESS.
   */
  relayOnly?: boolean | undefined;
  /**
   * Reverse proxies (IP addresses) whose X-Forwarded-For names the client of
   * a WebSocket (the page's): see web/forwarded.ts. Their own connections are
   * not held to the per-address cap; each client they forward is.
   */
  trustProxy?: readonly string[] | undefined;
  /** The folder of the browser page's built files, served at `/` (default: dist/web/ of this package). */
  webRoot?: string | undefined;
  /** Terminate TLS on this port with this certificate (TLS_CERT, TLS_KEY); see tls.ts. */
  tls?: TlsPem | undefined;
}

/** Where /healthz and /metrics listen by default (SIGNAL_HTTP_HOST). */
export const DEFAULT_HTTP_HOST = '127.0.0.1';
