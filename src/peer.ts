#!/usr/bin/env node
/**
 * The `peer` CLI: a thin shell. It loads its config file, lays flags over
 * variables, draws output and maps errors to exit statuses; the work is in session/.
 */
import { wordlist } from '@scure/bip39/wordlists/english.js';
import type { Options } from 'yargs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { askYesNo, confirmManifest } from './cli/consent.js';
import { givenFlags, repeatedFlag } from './cli/flags.js';
import { Output } from './cli/output.js';
import { askLine } from './cli/prompt.js';
import { runCommand, usageError } from './cli/run.js';
import type { IceServer } from './config.js';
import {
  configFlag,
  DEFAULTS,
  isTurnServer,
  loadConfigFile,
  parseHostPort,
  parseMtu,
  parsePort,
  parseReconnectFor,
  parseReconnects,
  parseSeconds,
  parseTransport,
  peerConfigPath,
  selectIceServers,
} from './config.js';
import { PeerlaneError } from './core/errors.js';
import { DEFAULT_CODE_WORDS, DEFAULT_NAMED_CODE_WORDS, isBareRoute } from './core/secure/code.js';
import { packageVersion } from './project.js';
import type { SessionOptions } from './session/common.js';
import { listPeers } from './session/list.js';
import { receive } from './session/receive.js';
import { send } from './session/send.js';
import type { SignalAddress } from './signaling/socket.js';
import { checkName } from './transfer/safe-names.js';

const env = process.env;
/** yargs drops a bare `-` (stdin, or `--to -`): it travels under this stand-in instead. */
const DASH = '\u0000-';
/** What a sender that went first prints: `peer 42-orbit-lemon` is short for `peer receive 42-orbit-lemon`. */
const SENDER_CODE = /^[0-9]+(?:-[a-zA-Z]+)+$/;

/** `peer help [command]` is `peer [command] --help`, and croc's `peer <code>` is `peer receive <code>`. */
function expandShorthands(args: string[]): string[] {
  const [first, ...rest] = args;
  if (first === 'help') return [...rest, '--help'];
  if (first !== undefined && SENDER_CODE.test(first)) return ['receive', ...args];
  return args;
}

const rawArgs = expandShorthands(hideBin(process.argv)).map((a) => (a === '-' ? DASH : a));
const undash = (a: string): string => (a === DASH ? '-' : a);
const wantsJson = rawArgs.includes('--json');
const wantsHelp = rawArgs.some((a) => a === '--help' || a === '-h') || rawArgs.length === 0;
/** Flags as typed: yargs fills in defaults, and cannot tell `--out .` from no --out. */
const typedFlags = new Set(givenFlags(rawArgs));

function usageOutput(): Output {
  return new Output({ json: wantsJson, quiet: false, verb: 'sent' });
}
const repeated = repeatedFlag(rawArgs);
if (repeated !== undefined) usageError(usageOutput(), `${repeated} was given twice; give it once`);

// Settings come from the environment, then --config FILE or ~/.config/peerlane/.env;
// never from the current folder, where received files land.
try {
  const file = configFlag(rawArgs);
  loadConfigFile(file ?? peerConfigPath(env), env, file !== undefined);
} catch (err) {
  await runCommand(new Output({ json: wantsJson, quiet: false, verb: 'sent' }), () => Promise.reject(err));
}

/**
 * yargs renders the whole help text each time a command runs, to cache it in
 * case it is asked for; measuring its strings costs 10-20 ms of every start.
 * Unless help was asked for (or `shown` is false), the options are hidden from
 * that render, and the examples are left out.
 */
function forHelp<O extends Record<string, Options>>(specs: O, shown = wantsHelp): O {
  if (shown) return specs;
  const hidden: Record<string, Options> = {};
  for (const [key, spec] of Object.entries(specs)) hidden[key] = { ...spec, hidden: true };
  // The same keys and specs, each with `hidden` set: still an O for yargs' typing.
  return hidden as O;
}
function examples(list: [string, string][]): [string, string][] {
  return wantsHelp ? list : [];
}

interface CommonArgs {
  signal: string;
  'ice-servers': string | undefined;
  relay: boolean;
  'direct-only': boolean;
  'bind-address': string;
  timeout: number;
  json: boolean;
  quiet: boolean;
  verify: boolean;
  'show-words': boolean;
  mtu: number | undefined;
  transport: string;
  reconnects: number;
  'reconnect-for': string;
  'stall-timeout': number;
}

interface CodeSource {
  /** How the code was asked for, for messages: `--to`, `peer receive`. */
  flag: string;
  /** Standard input carries the data (`peer send -`), so it cannot carry the code. */
  stdinIsData: boolean;
  /** PEER_CODE applies: not to a receiver that waits under --name (it prints its own code). */
  fromEnv: boolean;
}

/**
 * The other side's code: `given` (--to, or receive's argument), else
 * PEER_CODE; `-` asks for it in the terminal (Tab completes the words) or,
 * without one, reads it from the first line of stdin. All but the first keep
 * it out of the process list, where any local user could read it. None of
 * them: undefined, and this side goes first, printing a code. A name (or
 * nameplate) alone, `--to laptop`, asks for the words the receiver shows.
 */
async function codeFrom(given: string | undefined, source: CodeSource): Promise<string | undefined> {
  const code =
    given === '-'
      ? await askCode('Code: ', `${source.flag} - asks for the code`, source)
      : given || (source.fromEnv ? env.PEER_CODE : undefined) || undefined;
  if (code === undefined || !isBareRoute(code)) return code;
  const words = await askCode(
    `Words shown by ${code.trim()}: `,
    `${source.flag} ${code.trim()} needs the words it shows`,
    source,
  );
  return `${code.trim()}-${words.trim()}`;
}

async function askCode(prompt: string, what: string, source: CodeSource): Promise<string> {
  const streams = { input: process.stdin, output: process.stderr };
  if (process.stdin.isTTY && process.stderr.isTTY) return askLine(prompt, streams, { completions: wordlist });
  if (source.stdinIsData) throw new PeerlaneError('USAGE', `${what}, and there is no terminal to ask in`);
  const line = await askLine('', streams);
  if (line === '') throw new PeerlaneError('USAGE', `${what}: no terminal to ask in, and stdin held no line`);
  return line;
}

/** --verify on the sender: nothing leaves until the person says the words match. */
async function confirmWords(words: string, signal: AbortSignal): Promise<void> {
  const question = `Does the other side show "${words}"? [y/N] `;
  if (!(await askYesNo(question, { input: process.stdin, output: process.stderr, signal }))) {
    throw new PeerlaneError('NOT_VERIFIED', 'the verification words were not confirmed; nothing was sent');
  }
}

/** `--name-as`: a plain file name, and only for a stream. */
function streamName(name: string | undefined, paths: readonly string[]): string | undefined {
  if (name === undefined) return undefined;
  if (!paths.includes('-'))
    throw new PeerlaneError('USAGE', '--name-as names the stream from -; there is none');
  try {
    return checkName(name);
  } catch (err) {
    throw new PeerlaneError('USAGE', `--name-as: ${(err as Error).message}`);
  }
}

/** --signal, with SIGNALING_SERVER_PORT for a bare host. */
function signalAddress(args: { signal: string }): SignalAddress {
  const port = parsePort(
    env.SIGNALING_SERVER_PORT ?? DEFAULTS.SIGNALING_SERVER_PORT,
    'SIGNALING_SERVER_PORT',
  );
  return parseHostPort(args.signal, port);
}

function sessionOptions(args: CommonArgs, output: Output, abortSignal: AbortSignal): SessionOptions {
  const signal = signalAddress(args);
  if (args.relay && args['direct-only']) {
    throw new PeerlaneError('USAGE', '--relay and --direct-only exclude each other');
  }
  const selection = selectIceServers(args['ice-servers'], env.ICE_SERVERS);
  let iceServers: IceServer[] =
    selection.mode === 'auto'
      ? [{ hostname: signal.host, port: signal.port }] // the signal server answers STUN on its port number
      : selection.mode === 'list'
        ? selection.servers
        : [];
  if (args['direct-only']) iceServers = iceServers.filter((s) => !isTurnServer(s));
  return {
    signal,
    issuedTurn: selection.mode !== 'none' && !args['direct-only'],
    rtc: {
      iceServers,
      ...(args.relay ? { iceTransportPolicy: 'relay' as const } : {}),
      ...(args['direct-only'] ? { directOnly: true } : {}),
      bindAddress: args['bind-address'] || undefined,
      timeoutMs: parseSeconds(args.timeout, '--timeout') * 1000,
      mtu: args.mtu === undefined ? undefined : parseMtu(args.mtu),
      transport: parseTransport(args.transport),
    },
    onEvent: (e) => output.event(e),
    verify: args.verify || args['show-words'],
    heartbeat: { stallTimeoutMs: parseSeconds(args['stall-timeout'], '--stall-timeout') * 1000 },
    reconnects: parseReconnects(args.reconnects),
    reconnectForMs: parseReconnectFor(args['reconnect-for']) * 1000,
    abortSignal,
  };
}

function outputFor(
  args: { json: boolean; quiet: boolean; progress?: boolean; text?: string | undefined },
  verb: 'sent' | 'received',
  dataOnStdout = false,
): Output {
  // With --stdout the data owns stdout: every message, JSON included, goes to stderr.
  return new Output({
    json: args.json,
    quiet: args.quiet,
    progress: args.progress === true,
    verb,
    sendsText: args.text !== undefined,
    ...(dataOnStdout ? { stdout: process.stderr } : {}),
  });
}

/** Commands that open PeerConnections get the guard against a frozen native call. */
const RTC_COMMAND = { freezeGuard: true } as const;

const defaultSignal = `${env.SIGNALING_SERVER_ADDR || DEFAULTS.SIGNALING_SERVER_ADDR}:${
  env.SIGNALING_SERVER_PORT || DEFAULTS.SIGNALING_SERVER_PORT
}`;

/**
 * Flags of the commands that open a data channel (receive, send); `list` only
 * talks to the signal server, so its help does not show them.
 */
const CONNECTION_OPTIONS = {
  'ice-servers': {
    type: 'string',
    describe:
      "Comma-separated stun:/turn:user:pass@ URLs; unset: the signal server's STUN and TURN; '' or none: host candidates only [ICE_SERVERS]",
  },
  relay: {
    type: 'boolean',
    default: false,
    describe: 'Relay through TURN only, never a direct path (hides your address from the peer)',
  },
  'direct-only': {
    type: 'boolean',
    default: false,
    describe: 'Never relay: use no TURN server, fail with ICE_FAILED if no direct path exists',
  },
  'bind-address': {
    type: 'string',
    default: env.PEER_BIND_ADDRESS ?? DEFAULTS.PEER_BIND_ADDRESS,
    describe: 'Local address for ICE, e.g. 127.0.0.1 [PEER_BIND_ADDRESS]',
  },
  timeout: {
    type: 'number',
    default: Number(env.PEER_CONNECT_TIMEOUT || DEFAULTS.PEER_CONNECT_TIMEOUT),
    describe: 'Seconds to wait for the connection once paired [PEER_CONNECT_TIMEOUT]',
  },
  mtu: {
    type: 'number',
    default: env.PEER_MTU ? Number(env.PEER_MTU) : undefined,
    describe:
      'SCTP MTU: 1280 unless bound to loopback (4096); raise only where the path carries it [PEER_MTU]',
  },
  transport: {
    type: 'string',
    default: env.PEER_TRANSPORT || DEFAULTS.PEER_TRANSPORT,
    describe:
      'auto: race a direct TCP connection against the WebRTC data channel; tcp or webrtc: only that [PEER_TRANSPORT]',
  },
  reconnects: {
    type: 'number',
    default: Number(env.PEER_RECONNECTS || DEFAULTS.PEER_RECONNECTS),
    describe:
      'New data channels a session may try per outage when one drops mid-transfer; 0: none [PEER_RECONNECTS]',
  },
  'reconnect-for': {
    type: 'string',
    default: env.PEER_RECONNECT_FOR || `${DEFAULTS.PEER_RECONNECT_FOR}s`,
    describe:
      'How long to keep trying for a new data channel after one drops, e.g. 90s, 5m [PEER_RECONNECT_FOR]',
  },
  'stall-timeout': {
    type: 'number',
    default: Number(env.PEER_STALL_TIMEOUT || DEFAULTS.PEER_STALL_TIMEOUT),
    describe:
      'Seconds a connected peer may keep the transfer from moving before STALLED [PEER_STALL_TIMEOUT]',
  },
  progress: {
    type: 'boolean',
    default: false,
    describe: 'With --json, draw the progress bars on stderr too (in a terminal)',
  },
  verify: {
    type: 'boolean',
    default: false,
    describe:
      'Show words derived from the session key and both certificates, to compare with the other side; a sender waits for your yes',
  },
  'show-words': {
    type: 'boolean',
    default: false,
    describe: 'Show the --verify words, but send without waiting for a yes (for scripts)',
  },
} as const;

await yargs(rawArgs)
  .scriptName('peer')
  .usage('$0 <command> [options]\n\nMove files directly between two machines over WebRTC.')
  .options(
    forHelp({
      signal: {
        type: 'string',
        default: defaultSignal,
        describe: 'Signal server host:port [SIGNALING_SERVER_ADDR, SIGNALING_SERVER_PORT]',
      },
      json: { type: 'boolean', default: false, describe: 'One JSON event per line on stdout' },
      quiet: { type: 'boolean', default: false, describe: 'No progress bar or messages, only errors' },
      config: {
        type: 'string',
        describe: 'Read settings from this file instead of $XDG_CONFIG_HOME/peerlane/.env (~/.config/…)',
      },
    }),
  )
  .command(
    'receive [code]',
    'Wait for a sender (prints a code to give to it), or fetch from a sender that printed <code>',
    (y) =>
      y
        .positional('code', {
          type: 'string',
          describe: "The sender's code, if it went first; - asks for it, or reads it from stdin [PEER_CODE]",
        })
        .options(forHelp(CONNECTION_OPTIONS))
        .options(
          forHelp({
            out: { type: 'string', default: '.', describe: 'Folder to write received files into' },
            yes: {
              type: 'boolean',
              default: false,
              describe: 'Accept the offered files without asking (dotfiles need --allow-dotfiles too)',
            },
            'allow-dotfiles': {
              type: 'boolean',
              default: false,
              describe: 'With --yes, also accept dotfiles (.env, .bashrc, .git/…), which configure programs',
            },
            overwrite: {
              type: 'boolean',
              default: false,
              describe: 'Replace existing files of the same name',
            },
            'code-words': {
              type: 'number',
              describe: `Secret words in the code: 2 gives 22 bits, each more adds 11 [default: ${DEFAULT_CODE_WORDS}, ${DEFAULT_NAMED_CODE_WORDS} with --name]`,
            },
            stdout: {
              type: 'boolean',
              default: false,
              describe: 'Write the one incoming file or stream to stdout; messages go to stderr',
            },
            name: {
              type: 'string',
              describe:
                'Also wait under this name (a-z first, then a-z 0-9 _): senders use --to NAME and still need the words',
            },
            listed: {
              type: 'boolean',
              default: false,
              describe: 'Show --name in `peer list` on this signal server',
            },
          }),
        )
        .example(
          examples([
            ['$0 receive --out ./dl', 'print a code, then receive into ./dl'],
            ['$0 receive 42-orbit-lemon --out ./dl', 'fetch from a sender that printed the code'],
            ['$0 receive --name laptop --listed', 'wait as "laptop", shown by `peer list`'],
            ['$0 receive --yes --stdout | tar x', 'unpack a stream sent with `tar c dir | peer send -`'],
            ['$0 receive --out ./dl --yes --json', 'for scripts: accept without asking, JSON events'],
          ]),
        ),
    async (args) => {
      const output = outputFor(args, 'received', args.stdout);
      await runCommand(
        output,
        async (abortSignal) => {
          if (args.stdout && typedFlags.has('out')) {
            throw new PeerlaneError(
              'USAGE',
              '--stdout writes the file to stdout, so --out has nothing to do: give one',
            );
          }
          const code = await codeFrom(args.code === undefined ? undefined : undash(args.code), {
            flag: 'peer receive',
            stdinIsData: false,
            fromEnv: args.name === undefined,
          });
          await receive({
            ...sessionOptions(args, output, abortSignal),
            code,
            ...(args.stdout ? { stdout: process.stdout } : {}),
            outDir: args.out,
            name: args.name,
            listed: args.listed,
            codeWords: args['code-words'],
            overwrite: args.overwrite,
            onManifest: (files, signal) =>
              confirmManifest(files, {
                yes: args.yes,
                // On stdout a dotfile's bytes configure nothing.
                allowDotfiles: args['allow-dotfiles'] || args.stdout,
                quiet: args.quiet,
                input: process.stdin,
                output: process.stderr,
                signal,
              }),
          });
        },
        RTC_COMMAND,
      );
    },
  )
  .command(
    'send [files..]',
    'Send files, folders, stdin (-) or --text: to the receiver that printed <code>, or print a code and wait',
    (y) =>
      y
        .options(forHelp(CONNECTION_OPTIONS))
        .positional('files', {
          type: 'string',
          array: true,
          describe: 'Files and folders to send; - for standard input',
        })
        .options(
          forHelp({
            to: {
              type: 'string',
              describe:
                "The receiver's code, or NAME-words for a receiver with --name; NAME alone or - asks; none: print a code and wait [PEER_CODE]",
            },
            text: { type: 'string', describe: 'Send this text instead of files (at most 64 KiB)' },
            'name-as': {
              type: 'string',
              describe: 'The file name the stream from - gets on the receiving side (default: stdin)',
            },
            'code-words': {
              type: 'number',
              default: DEFAULT_CODE_WORDS,
              describe: 'Secret words in a code this side prints',
            },
          }),
        )
        .example(
          examples([
            ['$0 send big.iso notes.txt --to 42-orbit-lemon', 'send two files'],
            ['$0 send photos/ notes.txt', 'print a code, then `peer receive CODE` on the other side'],
            ['tar c dir | $0 send - --name-as dir.tar', 'stream stdin (size unknown), saved as dir.tar'],
            ['$0 send --text "hello" --to 42-orbit-lemon', 'send a line of text'],
            ['$0 send big.iso --to laptop', 'to a receiver named with --name: asks for its words'],
            ['PEER_CODE=42-orbit-lemon $0 send big.iso', 'keep the code out of the process list'],
          ]),
        ),
    async (args) => {
      const output = outputFor(args, 'sent');
      await runCommand(
        output,
        async (abortSignal) => {
          const paths = (args.files ?? []).map(undash);
          if (args.text === undefined && paths.length === 0) {
            throw new PeerlaneError('USAGE', 'name files or folders to send, - for stdin, or --text');
          }
          const stdinName = streamName(args['name-as'], paths);
          const waits = args.verify && !args['show-words'];
          if (waits && !(process.stdin.isTTY && process.stderr.isTTY && !paths.includes('-'))) {
            throw new PeerlaneError(
              'USAGE',
              '--verify waits for your yes in a terminal, and there is none here: --show-words only shows the words',
            );
          }
          const code = await codeFrom(args.to === undefined ? undefined : undash(args.to), {
            flag: '--to',
            stdinIsData: paths.includes('-'),
            fromEnv: true,
          });
          await send({
            ...sessionOptions(args, output, abortSignal),
            paths,
            code,
            stdinName,
            ...(waits ? { confirmVerify: confirmWords } : {}),
            text: args.text,
            codeWords: args['code-words'],
          });
        },
        RTC_COMMAND,
      );
    },
  )
  .command(
    'list',
    'Show the receivers on the signal server that wait with --name and --listed',
    (y) =>
      y
        // Accepted and ignored, not shown: one set of flags still works for every command.
        .options(forHelp(CONNECTION_OPTIONS, false))
        .example(
          examples([
            ['$0 list', 'one name per line; then `peer send FILE --to NAME`'],
            ['$0 list --json', 'a `peers` event'],
          ]),
        ),
    async (args) => {
      const output = outputFor(args, 'sent');
      await runCommand(output, async (abortSignal) => {
        await listPeers({ signal: signalAddress(args), onEvent: (e) => output.event(e), abortSignal });
      });
    },
  )
  .demandCommand(1, 'Name a command: receive, send or list.')
  .strict()
  .recommendCommands()
  .version(packageVersion())
  .alias('v', 'version')
  .alias('h', 'help')
  .epilog(
    '`peer CODE` is short for `peer receive CODE`. Exit status: 0 ok, 1 failure, 2 usage, 130 interrupted. Every flag in [] can be set in the environment or the config file.',
  )
  // yargs renders the whole help text before running any command, in case it
  // is asked for; wrapping it costs ~40 ms of a transfer's start. Wrap only
  // when help will be shown.
  .wrap(wantsHelp ? Math.min(110, process.stdout.columns || 80) : null)
  .fail((message, err) => {
    if (err) throw err;
    // yargs' suggestion alone ("Did you mean send?") does not say what was wrong.
    const typo = /^Did you mean /.test(message) ? `unknown command "${rawArgs[0]}"; d` : '';
    usageError(usageOutput(), typo ? `${typo}${message.slice(1)}` : message);
  })
  .parseAsync();
