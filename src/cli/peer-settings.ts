/**
 * Every setting of `peer`, one entry each (config.ts, Setting): the flag, the
 * variable, the default, the parser and the --help line. cli/settings.ts makes
 * the yargs options and the values from these; .env.template documents each
 * variable (test/unit/config.test.ts checks both ways).
 */
import type { Setting } from '../config.js';
import {
  DEFAULTS,
  flagOff,
  JSON_SETTING,
  optionalNumber,
  optionalString,
  PEER_CODE_SETTING,
  parseMtu,
  parsePort,
  parseReconnectFor,
  parseReconnects,
  parseSeconds,
  parseSwitch,
  parseTransport,
  requiredString,
  SIGNAL_ADDR_SETTING,
  SIGNAL_PORT_SETTING,
} from '../config.js';
import { DEFAULT_CODE_WORDS, DEFAULT_NAMED_CODE_WORDS } from '../core/secure/code.js';
import { selectIceServers } from '../rtc/ice-servers.js';
import {
  PEER_DAEMON_DIR_SETTINGS,
  PEER_DAEMON_ROUTE_SETTINGS,
  PEER_DAEMON_SETTINGS,
  PEER_STATUS_SETTINGS,
} from './daemon-settings.js';
import { FREEZE_LIMIT_MS } from './freeze-guard.js';
import { PEER_GET_SETTINGS, PEER_SHARE_SETTINGS, SEED_FOR_SETTING } from './swarm-settings.js';

export { PEER_GET_SETTINGS, PEER_SHARE_SETTINGS } from './swarm-settings.js';

/** What every command takes. */
export const PEER_GLOBAL_SETTINGS = [
  { ...SIGNAL_ADDR_SETTING, describe: "The signal server's host, when --signal is not given" },
  {
    ...SIGNAL_PORT_SETTING,
    describe: "The signal server's port, when --signal is not given or names a host alone",
    parse: (raw) => parsePort(raw, 'SIGNALING_SERVER_PORT'),
  },
  {
    flag: 'signal',
    defaultFrom: (variable) => `${variable(SIGNAL_ADDR_SETTING.env)}:${variable(SIGNAL_PORT_SETTING.env)}`,
    describe: 'Signal server host:port [SIGNALING_SERVER_ADDR, SIGNALING_SERVER_PORT]',
    parse: requiredString,
  },
  JSON_SETTING,
  flagOff('quiet', 'No progress bar or messages, only errors'),
  {
    flag: 'config',
    describe: 'Read settings from this file instead of $XDG_CONFIG_HOME/peerlane/.env (~/.config/…)',
    parse: optionalString,
  },
  PEER_CODE_SETTING,
] as const satisfies readonly Setting[];

/**
 * Flags of the commands that open a data channel (receive, send); `list` only
 * talks to the signal server, so its help does not show them.
 */
export const PEER_CONNECTION_SETTINGS = [
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
  flagOff('progress', 'With --json, draw the progress bars on stderr too (in a terminal)'),
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
  {
    flag: 'debug-ice',
    env: 'PEERLANE_DEBUG_ICE',
    type: 'boolean',
    describe: "Print libdatachannel's ICE log on stderr (TURN errors, mapped addresses)",
    parse: (raw) => parseSwitch(raw, '--debug-ice / PEERLANE_DEBUG_ICE'),
  },
] as const satisfies readonly Setting[];

export const PEER_RECEIVE_SETTINGS = [
  { flag: 'out', default: '.', describe: 'Folder to write received files into', parse: requiredString },
  flagOff('yes', 'Accept the offered files without asking (dotfiles need --allow-dotfiles too)'),
  flagOff(
    'allow-dotfiles',
    'With --yes, also accept dotfiles (.env, .bashrc, .git/…), which configure programs',
  ),
  flagOff('overwrite', 'Replace existing files of the same name'),
  {
    flag: 'code-words',
    type: 'number',
    describe: `Secret words in the code: 2 gives 22 bits, each more adds 11 [default: ${DEFAULT_CODE_WORDS}, ${DEFAULT_NAMED_CODE_WORDS} with --name]`,
    parse: optionalNumber,
  },
  flagOff('stdout', 'Write the one incoming file or stream to stdout; messages go to stderr'),
  {
    flag: 'name',
    describe:
      'Also wait under this name (a-z first, then a-z 0-9 _): senders use --to NAME and still need the words',
    parse: optionalString,
  },
  flagOff('listed', 'Show --name in `peer list` on this signal server'),
] as const satisfies readonly Setting[];

export const PEER_SEND_SETTINGS = [
  {
    flag: 'to',
    describe:
      "The receiver's code, or NAME-words for a receiver with --name; NAME alone or - asks; none: print a code and wait [PEER_CODE]",
    parse: optionalString,
  },
  {
    flag: 'text',
    describe: 'Send this text instead of files (at most 64 KiB)',
    parse: optionalString,
  },
  {
    flag: 'name-as',
    describe: 'The file name the stream from - gets on the receiving side (default: stdin)',
    parse: optionalString,
  },
  {
    flag: 'code-words',
    type: 'number',
    default: DEFAULT_CODE_WORDS,
    describe: 'Secret words in a code this side prints',
    parse: optionalNumber,
  },
] as const satisfies readonly Setting[];

/** Flags of the commands that may print a code: its link to the browser page. */
export const PEER_PAGE_SETTINGS = [
  flagOff(
    'qr',
    'Also show the code as a QR code of the browser page with the code in it (--json: a url field)',
  ),
  {
    flag: 'page-url',
    env: 'PEERLANE_PAGE_URL',
    describe: 'The browser page for --qr; unset: http://<signal host>:<port>/ (set it behind TLS or a proxy)',
    parse: optionalString,
  },
] as const satisfies readonly Setting[];

/** The settings each command accepts (`list` accepts, and ignores, the connection flags). */
export const PEER_COMMAND_SETTINGS = {
  receive: [
    ...PEER_GLOBAL_SETTINGS,
    ...PEER_CONNECTION_SETTINGS,
    ...PEER_RECEIVE_SETTINGS,
    ...PEER_PAGE_SETTINGS,
  ],
  send: [...PEER_GLOBAL_SETTINGS, ...PEER_CONNECTION_SETTINGS, ...PEER_SEND_SETTINGS, ...PEER_PAGE_SETTINGS],
  list: [...PEER_GLOBAL_SETTINGS, ...PEER_CONNECTION_SETTINGS],
  share: [
    ...PEER_GLOBAL_SETTINGS,
    ...PEER_CONNECTION_SETTINGS,
    ...PEER_SHARE_SETTINGS,
    ...PEER_DAEMON_ROUTE_SETTINGS,
  ],
  get: [
    ...PEER_GLOBAL_SETTINGS,
    ...PEER_CONNECTION_SETTINGS,
    ...PEER_GET_SETTINGS,
    ...PEER_DAEMON_ROUTE_SETTINGS,
  ],
  daemon: [...PEER_GLOBAL_SETTINGS, ...PEER_DAEMON_DIR_SETTINGS, ...PEER_DAEMON_SETTINGS],
  status: [...PEER_GLOBAL_SETTINGS, ...PEER_DAEMON_DIR_SETTINGS, ...PEER_STATUS_SETTINGS],
  stop: [...PEER_GLOBAL_SETTINGS, ...PEER_DAEMON_DIR_SETTINGS],
} as const;

/** The whole table, for the checks against .env.template and the README. */
export const PEER_SETTINGS: readonly Setting[] = [
  ...PEER_GLOBAL_SETTINGS,
  ...PEER_CONNECTION_SETTINGS,
  ...PEER_RECEIVE_SETTINGS,
  ...PEER_SEND_SETTINGS,
  ...PEER_PAGE_SETTINGS,
  ...PEER_SHARE_SETTINGS,
  // share and get have --seed-for alike: one entry.
  ...PEER_GET_SETTINGS.filter((s) => s !== SEED_FOR_SETTING),
  ...PEER_DAEMON_ROUTE_SETTINGS,
  ...PEER_DAEMON_SETTINGS,
  ...PEER_STATUS_SETTINGS,
];
