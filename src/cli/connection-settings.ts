/**
 * The connection settings of `peer` (one table entry each, as in
 * peer-settings.ts, which lists them under their commands): how a link is
 * opened, which every command that opens one takes, and what only a pair's
 * session (send, receive) does with it.
 */
import type { Setting } from '../config.js';
import {
  DEFAULTS,
  flagOff,
  optionalString,
  parseMtu,
  parseReconnectFor,
  parseReconnects,
  parseSeconds,
  parseSwitch,
  parseTransport,
  requiredString,
} from '../config.js';
import { selectIceServers } from '../rtc/ice-servers.js';
import { FREEZE_LIMIT_MS } from './freeze-guard.js';

/**
 * How a link to a peer is opened: what both kinds of command that open data
 * channels take, the pair's (receive, send) and the swarm's (share, get).
 */
const PEER_LINK_SETTINGS = [
  {
    flag: 'ice-servers',
    env: 'ICE_SERVERS',
    describe:
      "Comma-separated stun:/turn:user:pass@ URLs; unset: the signal server's STUN and TURN; '' or none: host candidates only",
    // A variable set empty is unset (auto); only the flag given empty means none.
    parse: (raw) => selectIceServers(optionalString(raw), undefined),
  },
  flagOff('relay', 'Relay through TURN only, never a direct path (hides your address from the peer)'),
  flagOff('direct-only', 'Never relay: use no TURN server, fail with ICE_FAILED if no direct path exists'),
  {
    flag: 'bind-address',
    env: 'PEER_BIND_ADDRESS',
    default: '',
    describe: 'Local address for ICE, e.g. 127.0.0.1',
    parse: requiredString,
  },
  {
    flag: 'timeout',
    env: 'PEER_CONNECT_TIMEOUT',
    type: 'number',
    default: 30,
    describe: 'Seconds to wait for the connection once paired',
    parse: (raw) => parseSeconds(raw, '--timeout'),
  },
  {
    flag: 'mtu',
    env: 'PEER_MTU',
    type: 'number',
    describe:
      'SCTP MTU: 1280 unless bound to loopback (4096; 2048 to a browser); raise only where the path carries it',
    parse: (raw) => (raw === undefined ? undefined : parseMtu(raw)),
  },
  {
    flag: 'transport',
    env: 'PEER_TRANSPORT',
    default: 'auto',
    describe:
      "auto: race a direct TCP connection against the WebRTC data channel, and the signal server's relay if UDP fails; tcp, webrtc or relay: only that",
    parse: parseTransport,
  },
] as const satisfies readonly Setting[];

/** How a pair's session rides out an outage and a stall; a swarm re-dials its members instead. */
const PEER_PAIR_RECOVERY_SETTINGS = [
  {
    flag: 'reconnects',
    env: 'PEER_RECONNECTS',
    type: 'number',
    default: DEFAULTS.PEER_RECONNECTS,
    describe: 'New data channels a session may try per outage when one drops mid-transfer; 0: none',
    parse: parseReconnects,
  },
  {
    flag: 'reconnect-for',
    env: 'PEER_RECONNECT_FOR',
    default: `${DEFAULTS.PEER_RECONNECT_FOR}s`,
    describe: 'How long to keep trying for a new data channel after one drops, e.g. 90s, 5m',
    parse: parseReconnectFor,
  },
  {
    flag: 'stall-timeout',
    env: 'PEER_STALL_TIMEOUT',
    type: 'number',
    // Generous: re-hashing a large .part before a resume moves nothing meanwhile.
    default: 300,
    describe: 'Seconds a connected peer may keep the transfer from moving before STALLED',
    parse: (raw) => parseSeconds(raw, '--stall-timeout'),
  },
] as const satisfies readonly Setting[];

const PROGRESS_SETTING = flagOff(
  'progress',
  'With --json, draw the progress bars on stderr too (in a terminal)',
);

/**
 * The pair's words to compare, and its attempts in child processes: a swarm
 * has no words (its ticket is the secret) and opens its links in process.
 */
const PEER_PAIR_CHECK_SETTINGS = [
  flagOff(
    'verify',
    'Show words derived from the session key and both certificates, to compare with the other side; a sender waits for your yes',
  ),
  flagOff('show-words', 'Show the --verify words, but send without waiting for a yes (for scripts)'),
  {
    flag: 'isolate',
    env: 'PEERLANE_ISOLATE',
    type: 'boolean',
    // Off: CPU per GiB moved by up to 9% either way with it (npm run bench --
    // --isolate; README, Performance), more than the 3% a default may cost.
    default: false,
    describe:
      'Run each connection attempt and its transfer in a child process: one frozen inside the WebRTC library is replaced, not fatal',
    parse: (raw) => parseSwitch(raw, '--isolate / PEERLANE_ISOLATE'),
  },
  {
    flag: 'freeze-limit',
    env: 'PEER_FREEZE_LIMIT',
    type: 'number',
    default: FREEZE_LIMIT_MS / 1000,
    describe:
      'With --isolate: seconds an attempt process may stop responding before it is killed and replaced',
    parse: (raw) => parseSeconds(raw, '--freeze-limit'),
  },
] as const satisfies readonly Setting[];

const DEBUG_ICE_SETTING = {
  flag: 'debug-ice',
  env: 'PEERLANE_DEBUG_ICE',
  type: 'boolean',
  describe: "Print libdatachannel's ICE log on stderr (TURN errors, mapped addresses)",
  parse: (raw) => parseSwitch(raw, '--debug-ice / PEERLANE_DEBUG_ICE'),
} as const satisfies Setting;

/**
 * Flags of the commands that open a data channel to one peer (receive, send);
 * `list` only talks to the signal server, so its help does not show them.
 */
export const PEER_CONNECTION_SETTINGS = [
  ...PEER_LINK_SETTINGS,
  ...PEER_PAIR_RECOVERY_SETTINGS,
  PROGRESS_SETTING,
  ...PEER_PAIR_CHECK_SETTINGS,
  DEBUG_ICE_SETTING,
] as const satisfies readonly Setting[];

/**
 * The connection flags of share and get: the pair's others would mean nothing
 * to them, so they are not accepted (a usage error, not silently ignored).
 */
export const PEER_SWARM_CONNECTION_SETTINGS = [
  ...PEER_LINK_SETTINGS,
  PROGRESS_SETTING,
  DEBUG_ICE_SETTING,
] as const satisfies readonly Setting[];

/** The flags of send and receive that share and get refuse, for the usage error that says so. */
export const PEER_PAIR_ONLY_FLAGS: readonly string[] = [
  ...PEER_PAIR_RECOVERY_SETTINGS,
  ...PEER_PAIR_CHECK_SETTINGS,
].map((s) => s.flag);
