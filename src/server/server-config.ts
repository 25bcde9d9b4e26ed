/**
 * The signal server's limits: their entries in its settings table
 * (cli/signal-settings.ts), and turning env values or flags into a validated
 * `SignalLimits`. Like config.ts, this reads nothing by itself;
 * `npm run serve:signal` lays flags over variables and passes them in.
 */
import type { Setting } from '../config.js';
import { parseSeconds } from '../config.js';
import { PeerlaneError } from '../core/errors.js';
import type { SwarmLimits } from './swarm-settings.js';
import { SWARM_LIMIT_SETTINGS } from './swarm-settings.js';

export interface SignalLimits extends SwarmLimits {
  /** A connection that neither registers nor joins within this is dropped. */
  handshakeTimeoutMs: number;
  /** A paired connection that sends no message for this long is dropped. */
  idleTimeoutMs: number;
  /** A receiver still waiting after this gets NAMEPLATE_EXPIRED, and its nameplate is freed. */
  nameplateTtlMs: number;
  /** Receivers waiting at once; a register beyond it gets SERVER_BUSY. */
  maxNameplates: number;
  /** Sockets one remote address may hold open; one more gets RATE_LIMITED. */
  maxConnectionsPerIp: number;
  /** Registers and joins one address may make per minute, once its burst is spent. */
  joinRatePerMinute: number;
  /** Registers and joins one address may make in a row. */
  joinBurst: number;
  /** Sockets open at once, from everyone; one more gets SERVER_BUSY. */
  maxConnections: number;
  /** IPv6 clients count as one address per prefix of this many bits (one /64 is one subscriber). */
  ipv6PrefixBits: number;
  /** Bytes of unfinished lines held for all connections together; past it, the one adding gets SERVER_BUSY. */
  maxPendingBytes: number;
  /** Bytes queued toward one client: its partner is paused from half of it, and past all of it it is dropped. */
  clientQueueBytes: number;
  /** Bytes queued toward all clients together; past it, a client that does not keep up is dropped. */
  maxQueuedBytes: number;
  /** Relayed messages per minute each peer of a pairing may send, once its burst is spent. */
  relayRatePerMinute: number;
  /** Relayed messages each peer of a pairing may send in a row. */
  relayBurst: number;
  /** TURN credentials one address may be given per hour; past it, pairings go on without TURN. */
  turnGrantsPerHour: number;
  /** STUN Binding requests per minute answered for one address, once its burst is spent. */
  stunRatePerMinute: number;
  /** STUN Binding requests answered for one address in a row. */
  stunBurst: number;
  /** Connections the /healthz and /metrics port holds at once; more are closed at once. */
  httpMaxConnections: number;
}

/** Nameplates have at most six digits, and the server keeps their space at most half full. */
export const MAX_NAMEPLATES_CEILING = 500_000;
/** The longest a timer can wait (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_COUNT = 1_000_000_000;

/** A limit is a setting of the signal server's table (cli/signal-settings.ts), parsed by its kind. */
interface LimitSetting extends Setting {
  readonly env: string;
  /** The `serve:signal` flag, without its dashes. */
  readonly flag: string;
  readonly key: keyof SignalLimits;
  /** Seconds in env and flags, milliseconds in SignalLimits; counts are whole numbers. */
  readonly kind: 'seconds' | 'count' | 'rate';
  readonly default: number;
  /** Bounds other than the kind's (see minOf, maxOf). */
  readonly min?: number;
  readonly max?: number;
  readonly describe: string;
}

/**
 * A client's queue must hold a few of the largest frames (a 64 KiB relay, with
 * its envelope), or one honest burst of candidates would get it dropped.
 */
const MIN_CLIENT_QUEUE_BYTES = 256 * 1024;

export const SIGNAL_LIMIT_SETTINGS = [
  {
    env: 'SIGNAL_HANDSHAKE_TIMEOUT',
    flag: 'handshake-timeout',
    key: 'handshakeTimeoutMs',
    kind: 'seconds',
    default: 10,
    describe: 'Seconds a new connection has to register or join',
  },
  {
    env: 'SIGNAL_IDLE_TIMEOUT',
    flag: 'idle-timeout',
    key: 'idleTimeoutMs',
    kind: 'seconds',
    default: 60,
    describe: 'Seconds a paired connection may send nothing',
  },
  {
    env: 'SIGNAL_NAMEPLATE_TTL',
    flag: 'nameplate-ttl',
    key: 'nameplateTtlMs',
    kind: 'seconds',
    default: 3600,
    describe: 'Seconds a receiver may wait for its sender',
  },
  {
    env: 'SIGNAL_MAX_NAMEPLATES',
    flag: 'max-nameplates',
    key: 'maxNameplates',
    kind: 'count',
    default: 10_000,
    describe: `Receivers waiting at once (at most ${MAX_NAMEPLATES_CEILING})`,
  },
  {
    env: 'SIGNAL_MAX_CONNECTIONS_PER_IP',
    flag: 'max-connections-per-ip',
    key: 'maxConnectionsPerIp',
    kind: 'count',
    default: 32,
    describe: 'Open connections per remote address',
  },
  {
    env: 'SIGNAL_JOIN_RATE',
    flag: 'join-rate',
    key: 'joinRatePerMinute',
    kind: 'rate',
    default: 60,
    describe: 'Registers and joins per minute per address, after the burst',
  },
  {
    env: 'SIGNAL_JOIN_BURST',
    flag: 'join-burst',
    key: 'joinBurst',
    kind: 'count',
    default: 20,
    describe: 'Registers and joins per address in a row',
  },
  {
    env: 'SIGNAL_MAX_CONNECTIONS',
    flag: 'max-connections',
    key: 'maxConnections',
    kind: 'count',
    default: 20_000,
    describe: 'Open connections in all, from every address',
  },
  {
    env: 'SIGNAL_IPV6_PREFIX',
    flag: 'ipv6-prefix',
    key: 'ipv6PrefixBits',
    kind: 'count',
    default: 64,
    max: 128,
    describe: 'IPv6 clients in one prefix of this many bits count as one address',
  },
  {
    env: 'SIGNAL_MAX_PENDING_BYTES',
    flag: 'max-pending-bytes',
    key: 'maxPendingBytes',
    kind: 'count',
    default: 32 * 1024 * 1024,
    describe: 'Bytes of unfinished messages held for all connections together',
  },
  {
    env: 'SIGNAL_CLIENT_QUEUE_BYTES',
    flag: 'client-queue-bytes',
    key: 'clientQueueBytes',
    kind: 'count',
    default: 1024 * 1024,
    min: MIN_CLIENT_QUEUE_BYTES,
    describe: 'Bytes queued toward one client (its partner waits from half of it)',
  },
  {
    env: 'SIGNAL_MAX_QUEUED_BYTES',
    flag: 'max-queued-bytes',
    key: 'maxQueuedBytes',
    kind: 'count',
    default: 64 * 1024 * 1024,
    min: MIN_CLIENT_QUEUE_BYTES,
    describe: 'Bytes queued toward all clients together',
  },
  {
    env: 'SIGNAL_RELAY_RATE',
    flag: 'relay-rate',
    key: 'relayRatePerMinute',
    kind: 'rate',
    default: 300,
    describe: 'Relayed messages per minute per paired client, after the burst',
  },
  {
    env: 'SIGNAL_RELAY_BURST',
    flag: 'relay-burst',
    key: 'relayBurst',
    kind: 'count',
    default: 200,
    describe: 'Relayed messages per paired client in a row',
  },
  {
    env: 'SIGNAL_TURN_GRANTS',
    flag: 'turn-grants',
    key: 'turnGrantsPerHour',
    kind: 'count',
    default: 60,
    describe: 'TURN credentials per address per hour',
  },
  {
    env: 'SIGNAL_STUN_RATE',
    flag: 'stun-rate',
    key: 'stunRatePerMinute',
    kind: 'rate',
    default: 120,
    describe: 'STUN requests answered per minute per address, after the burst',
  },
  {
    env: 'SIGNAL_STUN_BURST',
    flag: 'stun-burst',
    key: 'stunBurst',
    kind: 'count',
    default: 30,
    describe: 'STUN requests answered per address in a row',
  },
  {
    env: 'SIGNAL_HTTP_MAX_CONNECTIONS',
    flag: 'http-max-connections',
    key: 'httpMaxConnections',
    kind: 'count',
    default: 16,
    describe: 'Connections the /healthz and /metrics port holds at once',
  },
  ...SWARM_LIMIT_SETTINGS,
] as const satisfies readonly LimitSetting[];

type Limit = (typeof SIGNAL_LIMIT_SETTINGS)[number];
export type SignalLimitVariable = Limit['env'];

function build(value: (s: Limit) => number): SignalLimits {
  const limits: Partial<Record<keyof SignalLimits, number>> = {};
  for (const s of SIGNAL_LIMIT_SETTINGS) limits[s.key] = value(s);
  return limits as SignalLimits;
}

function maxOf(s: LimitSetting): number {
  if (s.kind === 'seconds') return MAX_TIMER_MS;
  if (s.max !== undefined) return s.max;
  return s.key === 'maxNameplates' ? MAX_NAMEPLATES_CEILING : MAX_COUNT;
}

function inRange(s: LimitSetting, value: number): boolean {
  const whole = s.kind !== 'count' || Number.isInteger(value);
  const min = s.min ?? 0;
  return whole && Number.isFinite(value) && value > 0 && value >= min && value <= maxOf(s);
}

/** The range a count or rate must be in, for messages. */
function rangeOf(s: LimitSetting): string {
  const what = s.kind === 'count' ? 'a whole number' : 'a number';
  const low = s.min === undefined ? 'above 0' : `from ${s.min}`;
  return `${what} ${low} and at most ${maxOf(s)}`;
}

function fail(name: string, what: string, value: unknown): never {
  const shown = typeof value === 'number' ? String(value) : JSON.stringify(value);
  throw new PeerlaneError('BAD_CONFIG', `${name} must be ${what}, not ${shown}`);
}

export const DEFAULT_SIGNAL_LIMITS: Readonly<SignalLimits> = Object.freeze(
  build((s) => (s.kind === 'seconds' ? s.default * 1000 : s.default)),
);

/**
 * Limits from env values or flags, keyed by variable name. A missing or empty
 * value takes the default. Throws PeerlaneError('BAD_CONFIG') naming the flag.
 */
export function parseSignalLimits(values: Partial<Record<SignalLimitVariable, unknown>>): SignalLimits {
  return build((s) => {
    const raw = values[s.env];
    if (raw === undefined || (typeof raw === 'string' && raw.trim() === '')) {
      return s.kind === 'seconds' ? s.default * 1000 : s.default;
    }
    const name = `--${s.flag} (${s.env})`;
    const text = String(raw).trim();
    if (s.kind === 'seconds') {
      const ms = parseSeconds(raw, name) * 1000;
      if (!inRange(s, ms)) fail(name, `at most ${Math.floor(MAX_TIMER_MS / 1000)} seconds`, raw);
      return ms;
    }
    // Decimal digits only, as for ports: Number() would take '' as 0 and '0x10' as 16.
    const pattern = s.kind === 'count' ? /^\d+$/ : /^(\d+\.?\d*|\.\d+)$/;
    const n = pattern.test(text) ? Number(text) : Number.NaN;
    if (!inRange(s, n)) fail(name, rangeOf(s), raw);
    return n;
  });
}

/** Defaults overlaid with `overrides`, checked; throws PeerlaneError('BAD_CONFIG') naming the field. */
export function resolveSignalLimits(overrides: Partial<SignalLimits> = {}): SignalLimits {
  return build((s) => {
    const value = overrides[s.key] ?? DEFAULT_SIGNAL_LIMITS[s.key];
    if (!inRange(s, value)) fail(`limits.${s.key}`, rangeOf(s), value);
    return value;
  });
}
