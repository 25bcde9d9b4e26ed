/**
 * Every setting of `peer`, one entry each (config.ts, Setting): the flag, the
 * variable, the default, the parser and the --help line. cli/settings.ts makes
 * the yargs options and the values from these; .env.template documents each
 * variable (test/unit/config.test.ts checks both ways).
 */
import type { Setting } from '../config.js';
import {
  flagOff,
  JSON_SETTING,
  optionalNumber,
  optionalString,
  PEER_CODE_SETTING,
  parsePort,
  requiredString,
  SIGNAL_ADDR_SETTING,
  SIGNAL_PORT_SETTING,
} from '../config.js';
import { DEFAULT_CODE_WORDS, DEFAULT_NAMED_CODE_WORDS } from '../core/secure/code.js';
import { PEER_CONNECTION_SETTINGS, PEER_SWARM_CONNECTION_SETTINGS } from './connection-settings.js';
import {
  PEER_DAEMON_DIR_SETTINGS,
  PEER_DAEMON_ROUTE_SETTINGS,
  PEER_DAEMON_SETTINGS,
  PEER_STATUS_SETTINGS,
} from './daemon-settings.js';
import { PEER_GET_SETTINGS, PEER_SHARE_SETTINGS, SEED_FOR_SETTING } from './swarm-settings.js';

export {
  PEER_CONNECTION_SETTINGS,
  PEER_PAIR_ONLY_FLAGS,
  PEER_SWARM_CONNECTION_SETTINGS,
} from './connection-settings.js';
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
    ...PEER_SWARM_CONNECTION_SETTINGS,
    ...PEER_SHARE_SETTINGS,
    ...PEER_DAEMON_ROUTE_SETTINGS,
  ],
  get: [
    ...PEER_GLOBAL_SETTINGS,
    ...PEER_SWARM_CONNECTION_SETTINGS,
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
