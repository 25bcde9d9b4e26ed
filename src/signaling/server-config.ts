/**
 * The signal server's limits: their defaults, and turning env values or flags
 * into a validated `SignalLimits`. Like config.ts, this reads nothing by
 * itself; `npm run serve:signal` lays flags over variables and passes them in.
 */
import { parseSeconds } from '../config.js';
import { PeerlaneError } from '../errors.js';

export interface SignalLimits {
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
}

/** Nameplates have at most six digits, and the server keeps their space at most half full. */
export const MAX_NAMEPLATES_CEILING = 500_000;
/** The longest a timer can wait (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_COUNT = 1_000_000_000;

interface Setting {
  readonly env: string;
  /** The `serve:signal` flag, without its dashes. */
  readonly flag: string;
  readonly key: keyof SignalLimits;
  /** Seconds in env and flags, milliseconds in SignalLimits; counts are whole numbers. */
  readonly kind: 'seconds' | 'count' | 'rate';
  readonly default: number;
  readonly describe: string;
}

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
] as const satisfies readonly Setting[];

type LimitSetting = (typeof SIGNAL_LIMIT_SETTINGS)[number];
export type SignalLimitVariable = LimitSetting['env'];

function build(value: (s: LimitSetting) => number): SignalLimits {
  const limits: Partial<Record<keyof SignalLimits, number>> = {};
  for (const s of SIGNAL_LIMIT_SETTINGS) limits[s.key] = value(s);
  return limits as SignalLimits;
}

function maxOf(s: Setting): number {
  if (s.kind === 'seconds') return MAX_TIMER_MS;
  return s.key === 'maxNameplates' ? MAX_NAMEPLATES_CEILING : MAX_COUNT;
}

function inRange(s: Setting, value: number): boolean {
  const whole = s.kind !== 'count' || Number.isInteger(value);
  return whole && Number.isFinite(value) && value > 0 && value <= maxOf(s);
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
    if (!inRange(s, n)) {
      const what = s.kind === 'count' ? 'a whole number' : 'a number';
      fail(name, `${what} above 0 and at most ${maxOf(s)}`, raw);
    }
    return n;
  });
}

/** Defaults overlaid with `overrides`, checked; throws PeerlaneError('BAD_CONFIG') naming the field. */
export function resolveSignalLimits(overrides: Partial<SignalLimits> = {}): SignalLimits {
  return build((s) => {
    const value = overrides[s.key] ?? DEFAULT_SIGNAL_LIMITS[s.key];
    if (!inRange(s, value)) {
      const what = s.kind === 'count' ? 'a whole number' : 'a number';
      fail(`limits.${s.key}`, `${what} above 0 and at most ${maxOf(s)}`, value);
    }
    return value;
  });
}
