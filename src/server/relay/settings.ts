/**
 * The relay's entries in the signal server's settings table
 * (cli/signal-settings.ts), and the RelayLimits they make. Rates and quotas
 * are in decimal megabytes, as bandwidth bills are; 0 means no cap.
 */
import type { Setting } from '../../config.js';
import { parseSeconds, parseSwitch } from '../../config.js';
import { PeerlaneError } from '../../core/errors.js';
import { isRelayAddress } from '../../core/signaling/protocol.js';
import type { RelayLimits } from './hub.js';
import { DEFAULT_RELAY_LIMITS } from './hub.js';

const MB = 1_000_000;
/** A petabyte: any larger figure is a typo, not a plan. */
const MAX_MB = 1e9;

function megabytes(name: string) {
  return (raw: unknown): number => {
    const text = String(raw ?? '').trim();
    const n = /^(\d+\.?\d*|\.\d+)$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isFinite(n) || n > MAX_MB) {
      throw new PeerlaneError(
        'BAD_CONFIG',
        `${name} must be a number of megabytes, 0 for none, not ${JSON.stringify(raw)}`,
      );
    }
    return n;
  };
}

function count(name: string) {
  return (raw: unknown): number => {
    const text = String(raw ?? '').trim();
    const n = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isInteger(n) || n < 1) {
      throw new PeerlaneError(
        'BAD_CONFIG',
        `${name} must be a whole number above 0, not ${JSON.stringify(raw)}`,
      );
    }
    return n;
  };
}

export const RELAY_SETTINGS = [
  {
    flag: 'relay-enabled',
    env: 'RELAY_ENABLED',
    type: 'boolean',
    default: false,
    describe: "Relay peers' sealed TCP streams on this port when UDP fails (costs this server's bandwidth)",
    parse: (raw) => parseSwitch(raw, '--relay-enabled / RELAY_ENABLED'),
  },
  {
    flag: 'relay-max-sessions',
    env: 'RELAY_MAX_SESSIONS',
    default: DEFAULT_RELAY_LIMITS.maxSessions,
    describe: 'Relayed sessions at once; more get RELAY_BUSY',
    parse: count('--relay-max-sessions (RELAY_MAX_SESSIONS)'),
  },
  {
    flag: 'relay-session-rate',
    env: 'RELAY_SESSION_RATE',
    default: 0,
    describe: 'MB/s one relayed session may move, both ways together; 0: no cap',
    parse: megabytes('--relay-session-rate (RELAY_SESSION_RATE)'),
  },
  {
    flag: 'relay-total-rate',
    env: 'RELAY_TOTAL_RATE',
    default: 0,
    describe: 'MB/s all relayed sessions together may move; 0: no cap',
    parse: megabytes('--relay-total-rate (RELAY_TOTAL_RATE)'),
  },
  {
    flag: 'relay-address-quota',
    env: 'RELAY_ADDRESS_QUOTA',
    default: 0,
    describe: 'MB one address may send through the relay per quota window; 0: no quota',
    parse: megabytes('--relay-address-quota (RELAY_ADDRESS_QUOTA)'),
  },
  {
    flag: 'relay-quota-window',
    env: 'RELAY_QUOTA_WINDOW',
    default: DEFAULT_RELAY_LIMITS.quotaWindowMs / 1000,
    describe: 'Seconds of the per-address quota window',
    parse: (raw) => parseSeconds(raw, '--relay-quota-window (RELAY_QUOTA_WINDOW)'),
  },
  {
    flag: 'relay-address',
    env: 'RELAY_ADDRESS',
    default: '',
    describe:
      "host:port where peers reach this instance's relay directly; with REDIS_URL give each instance its own, so both peers meet on one. Empty: the address they signal through",
    parse: (raw) => {
      const text = String(raw ?? '').trim();
      if (text === '') return undefined;
      if (!isRelayAddress(text)) {
        throw new PeerlaneError(
          'BAD_CONFIG',
          `--relay-address (RELAY_ADDRESS) must be host:port, not ${JSON.stringify(raw)}`,
        );
      }
      return text;
    },
  },
  {
    flag: 'relay-idle-timeout',
    env: 'RELAY_IDLE_TIMEOUT',
    default: DEFAULT_RELAY_LIMITS.idleTimeoutMs / 1000,
    describe: 'Seconds a relayed session may move nothing before it is closed',
    parse: (raw) => parseSeconds(raw, '--relay-idle-timeout (RELAY_IDLE_TIMEOUT)'),
  },
] as const satisfies readonly Setting[];

/** The values of RELAY_SETTINGS, parsed, into the hub's limits. */
export function relayLimitsFrom(values: {
  'relay-enabled': boolean;
  'relay-max-sessions': number;
  'relay-session-rate': number;
  'relay-total-rate': number;
  'relay-address-quota': number;
  'relay-quota-window': number;
  'relay-idle-timeout': number;
}): Partial<RelayLimits> {
  return {
    enabled: values['relay-enabled'],
    maxSessions: values['relay-max-sessions'],
    sessionBytesPerSecond: values['relay-session-rate'] * MB,
    totalBytesPerSecond: values['relay-total-rate'] * MB,
    addressQuotaBytes: values['relay-address-quota'] * MB,
    quotaWindowMs: values['relay-quota-window'] * 1000,
    idleTimeoutMs: values['relay-idle-timeout'] * 1000,
  };
}
