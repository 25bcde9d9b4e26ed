#!/usr/bin/env node
/**
 * The `peer` CLI: a thin shell. It loads its config file, lays flags over
 * variables (cli/peer-settings.ts), and hands each command to cli/peer-commands.ts,
 * which draws output and maps errors to exit statuses; the work is in session/.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import {
  PEER_DAEMON_DIR_SETTINGS,
  PEER_DAEMON_ROUTE_SETTINGS,
  PEER_DAEMON_SETTINGS,
  PEER_STATUS_SETTINGS,
} from './cli/daemon-settings.js';
import { givenFlags, repeatedFlag } from './cli/flags.js';
import { Output } from './cli/output.js';
import { peerArgs } from './cli/peer-argv.js';
import {
  PEER_CONNECTION_SETTINGS,
  PEER_GET_SETTINGS,
  PEER_GLOBAL_SETTINGS,
  PEER_PAGE_SETTINGS,
  PEER_PAIR_ONLY_FLAGS,
  PEER_RECEIVE_SETTINGS,
  PEER_SEND_SETTINGS,
  PEER_SHARE_SETTINGS,
  PEER_SWARM_CONNECTION_SETTINGS,
} from './cli/peer-settings.js';
import { runCommand, usageError } from './cli/run.js';
import { settingOptions } from './cli/settings.js';
import type { Setting } from './config.js';
import { configFlag, loadConfigFile, peerConfigPath } from './config.js';
import { packageVersion } from './project.js';

/**
 * Each group of commands is loaded when one of its commands runs, not at
 * start: a transfer's heap then holds only its own code, and V8 keeps every
 * loaded script's source alive (scripts/bundle.ts says why that counts).
 */
const transferCommands = () => import('./cli/peer-commands.js');
const swarmCommands = () => import('./cli/swarm-commands.js');
const daemonCommands = () => import('./cli/daemon-commands.js');

const env = process.env;
const rawArgs = peerArgs(hideBin(process.argv));
const wantsJson = rawArgs.includes('--json');
const wantsHelp = rawArgs.some((a) => a === '--help' || a === '-h') || rawArgs.length === 0;
/** Flags as typed: yargs fills in defaults, and cannot tell `--out .` from no --out. */
const typed = new Set(givenFlags(rawArgs));

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
  await runCommand(usageOutput(), () => Promise.reject(err));
}

/** A group of settings as yargs options, hidden from yargs' cached help render unless help is wanted. */
function options(settings: readonly Setting[], shown = wantsHelp) {
  return settingOptions(settings, env, shown);
}
/**
 * yargs' "Unknown argument: verify" when the flag is one that only send and
 * receive take (share and get refuse them, peer-settings.ts): say so, so that
 * a flag `peer send --help` lists does not read as a typo.
 */
function pairOnlyRefusal(message: string): string | undefined {
  const unknown = /^Unknown arguments?: (.*)$/.exec(message)?.[1]?.split(', ') ?? [];
  const flag = givenFlags(unknown.map((name) => `--${name}`)).find((f) => PEER_PAIR_ONLY_FLAGS.includes(f));
  // The commands without them; the first of their names typed is the command.
  const command = rawArgs.find((a) => ['share', 'get', 'daemon', 'status', 'stop'].includes(a));
  return (
    flag &&
    `--${flag} is a flag of send and receive only; ${command ? `peer ${command}` : 'this command'} does not take it`
  );
}
/** Examples cost their share of that render too. */
function examples(list: [string, string][]): [string, string][] {
  return wantsHelp ? list : [];
}

await yargs(rawArgs)
  .scriptName('peer')
  .usage('$0 <command> [options]\n\nMove files directly between two machines over WebRTC.')
  .options(options(PEER_GLOBAL_SETTINGS))
  .command(
    'receive [code]',
    'Wait for a sender (prints a code to give to it), or fetch from a sender that printed <code>',
    (y) =>
      y
        .positional('code', {
          type: 'string',
          describe: "The sender's code, if it went first; - asks for it, or reads it from stdin [PEER_CODE]",
        })
        .options(options(PEER_CONNECTION_SETTINGS))
        .options(options(PEER_RECEIVE_SETTINGS))
        .options(options(PEER_PAGE_SETTINGS))
        .example(
          examples([
            ['$0 receive --out ./dl', 'print a code, then receive into ./dl'],
            ['$0 receive 42-orbit-lemon --out ./dl', 'fetch from a sender that printed the code'],
            ['$0 receive --name laptop --listed', 'wait as "laptop", shown by `peer list`'],
            ['$0 receive --yes --stdout | tar x', 'unpack a stream sent with `tar c dir | peer send -`'],
            ['$0 receive --out ./dl --yes --json', 'for scripts: accept without asking, JSON events'],
          ]),
        ),
    async (args) => (await transferCommands()).receiveCommand({ args, env, typed }),
  )
  .command(
    'send [files..]',
    'Send files, folders, stdin (-) or --text: to the receiver that printed <code>, or print a code and wait',
    (y) =>
      y
        .options(options(PEER_CONNECTION_SETTINGS))
        .positional('files', {
          type: 'string',
          array: true,
          describe: 'Files and folders to send; - for standard input',
        })
        .options(options(PEER_SEND_SETTINGS))
        .options(options(PEER_PAGE_SETTINGS))
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
    async (args) => (await transferCommands()).sendCommand({ args, env, typed }),
  )
  .command(
    'list',
    'Show the receivers on the signal server that wait with --name and --listed',
    (y) =>
      y
        // Accepted and ignored, not shown: one set of flags still works for every command.
        .options(options(PEER_CONNECTION_SETTINGS, false))
        .example(
          examples([
            ['$0 list', 'one name per line; then `peer send FILE --to NAME`'],
            ['$0 list --json', 'a `peers` event'],
          ]),
        ),
    async (args) => (await transferCommands()).listCommand({ args, env, typed }),
  )
  .command(
    'share <paths..>',
    'Share files and folders with many: print a ticket, and serve whoever holds it until Ctrl-C',
    (y) =>
      y
        .positional('paths', { type: 'string', array: true, describe: 'Files and folders to share' })
        .options(options(PEER_SWARM_CONNECTION_SETTINGS))
        .options(options(PEER_SHARE_SETTINGS))
        .options(options(PEER_DAEMON_ROUTE_SETTINGS))
        .example(
          examples([
            ['$0 share photos/', 'print a ticket; each getter runs `peer get TICKET`'],
            ['$0 share big.iso --p2p big.p2p --seed-for 2h', 'also write a .p2p file; stop after two hours'],
          ]),
        ),
    async (args) => (await swarmCommands()).shareCommand({ args, env, typed }),
  )
  .command(
    'get <source>',
    'Fetch what a ticket (or .p2p file) shares, from every member that has it, each chunk verified',
    (y) =>
      y
        .positional('source', {
          type: 'string',
          describe: 'The ticket `peer share` printed, or its .p2p file',
        })
        .options(options(PEER_SWARM_CONNECTION_SETTINGS))
        .options(options(PEER_GET_SETTINGS))
        .options(options(PEER_DAEMON_ROUTE_SETTINGS))
        .example(
          examples([
            ['$0 get peerlane-swarm:AQ… --out ./dl', 'fetch into ./dl, then stop'],
            ['$0 get big.p2p --seed', 'fetch, then keep serving others until Ctrl-C'],
          ]),
        ),
    async (args) => (await swarmCommands()).getCommand({ args, env, typed }),
  )
  .command(
    'daemon',
    'Hold shares and gets in the background (stays in the foreground: run it with &, or as a service)',
    (y) =>
      y
        .options(options(PEER_DAEMON_DIR_SETTINGS))
        .options(options(PEER_DAEMON_SETTINGS))
        .example(
          examples([
            ['$0 daemon &', 'start it; then `peer share` and `peer get` hand their jobs to it'],
            ['$0 daemon --stop', 'stop it; its jobs resume when it starts again'],
          ]),
        ),
    async (args) => (await daemonCommands()).daemonCommand({ args, env, typed }),
  )
  .command(
    'status [id]',
    "List the daemon's jobs, or one of them; --follow streams their events",
    (y) =>
      y
        .positional('id', { type: 'string', describe: 'A job id, as `peer status` lists it' })
        .options(options(PEER_DAEMON_DIR_SETTINGS))
        .options(options(PEER_STATUS_SETTINGS))
        .example(
          examples([
            ['$0 status', "one line per job, and each share's ticket"],
            ['$0 status 3f9a0c1d2e4bg --follow --json', "that job's events until it ends"],
          ]),
        ),
    async (args) => (await daemonCommands()).statusCommand({ args, env, typed }),
  )
  .command(
    'stop <id>',
    "Stop one of the daemon's jobs for good",
    (y) =>
      y
        .positional('id', { type: 'string', describe: 'A job id, as `peer status` lists it' })
        .options(options(PEER_DAEMON_DIR_SETTINGS))
        .example(
          examples([['$0 stop 3f9a0c1d2e4bs', 'stop serving that share; a restart does not resume it']]),
        ),
    async (args) => (await daemonCommands()).stopCommand({ args, env, typed }),
  )
  .demandCommand(1, 'Name a command: receive, send, list, share, get, daemon, status or stop.')
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
    usageError(usageOutput(), typo ? `${typo}${message.slice(1)}` : (pairOnlyRefusal(message) ?? message));
  })
  .parseAsync();
