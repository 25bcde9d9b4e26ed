#!/usr/bin/env node
/**
 * The `peer` CLI: a thin shell. It loads .env, lays flags over variables,
 * draws output and maps errors to exit statuses; the work is in session/.
 */
import 'dotenv/config';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { Output } from './cli/output.js';
import { runCommand, usageError } from './cli/run.js';
import { DEFAULTS, parseHostPort, parseIceServers, parsePort, parseSeconds } from './config.js';
import { PeerlaneError } from './errors.js';
import { packageVersion } from './project.js';
import type { SessionOptions } from './session/common.js';
import { receive } from './session/receive.js';
import { send } from './session/send.js';
import { isValidCode } from './signaling/protocol.js';

const env = process.env;
const rawArgs = hideBin(process.argv);
const wantsJson = rawArgs.includes('--json');

interface CommonArgs {
  signal: string;
  'ice-servers': string;
  'bind-address': string;
  timeout: number;
  json: boolean;
  quiet: boolean;
}

function sessionOptions(args: CommonArgs, output: Output, abortSignal: AbortSignal): SessionOptions {
  const port = parsePort(
    env.SIGNALING_SERVER_PORT ?? DEFAULTS.SIGNALING_SERVER_PORT,
    'SIGNALING_SERVER_PORT',
  );
  return {
    signal: parseHostPort(args.signal, port),
    rtc: {
      iceServers: parseIceServers(args['ice-servers']),
      bindAddress: args['bind-address'] || undefined,
      timeoutMs: parseSeconds(args.timeout, '--timeout') * 1000,
    },
    onEvent: (e) => output.event(e),
    abortSignal,
  };
}

function outputFor(args: CommonArgs, verb: 'sent' | 'received'): Output {
  return new Output({ json: args.json, quiet: args.quiet, verb });
}

const defaultSignal = `${env.SIGNALING_SERVER_ADDR || DEFAULTS.SIGNALING_SERVER_ADDR}:${
  env.SIGNALING_SERVER_PORT || DEFAULTS.SIGNALING_SERVER_PORT
}`;

await yargs(rawArgs)
  .scriptName('peer')
  .usage('$0 <command> [options]\n\nMove files directly between two machines over WebRTC.')
  .option('signal', {
    type: 'string',
    default: defaultSignal,
    describe: 'Signal server host:port [SIGNALING_SERVER_ADDR, SIGNALING_SERVER_PORT]',
  })
  .option('ice-servers', {
    type: 'string',
    default: env.ICE_SERVERS ?? DEFAULTS.ICE_SERVERS,
    describe: 'Comma-separated stun:/turn: URLs; empty for none [ICE_SERVERS]',
  })
  .option('bind-address', {
    type: 'string',
    default: env.PEER_BIND_ADDRESS ?? DEFAULTS.PEER_BIND_ADDRESS,
    describe: 'Local address for ICE, e.g. 127.0.0.1 [PEER_BIND_ADDRESS]',
  })
  .option('timeout', {
    type: 'number',
    default: Number(env.PEER_CONNECT_TIMEOUT || DEFAULTS.PEER_CONNECT_TIMEOUT),
    describe: 'Seconds to wait for the connection once paired [PEER_CONNECT_TIMEOUT]',
  })
  .option('json', { type: 'boolean', default: false, describe: 'One JSON event per line on stdout' })
  .option('quiet', { type: 'boolean', default: false, describe: 'No progress bar or messages, only errors' })
  .command(
    'receive',
    'Wait for a sender: prints a code to give to it',
    (y) =>
      y
        .option('out', { type: 'string', default: '.', describe: 'Folder to write received files into' })
        .example('$0 receive --out ./dl', 'print a code, then receive into ./dl'),
    async (args) => {
      const output = outputFor(args, 'received');
      await runCommand(output, async (abortSignal) => {
        await receive({ ...sessionOptions(args, output, abortSignal), outDir: args.out });
      });
    },
  )
  .command(
    'send <files..>',
    'Send files to the receiver that printed <code>',
    (y) =>
      y
        .positional('files', { type: 'string', array: true, demandOption: true, describe: 'Files to send' })
        .option('to', { type: 'string', demandOption: true, describe: "The receiver's code" })
        .example('$0 send big.iso notes.txt --to 7hk2-x9qm-a4rt', 'send two files'),
    async (args) => {
      const output = outputFor(args, 'sent');
      await runCommand(output, async (abortSignal) => {
        const code = args.to.trim().toLowerCase();
        if (!isValidCode(code))
          throw new PeerlaneError('BAD_CODE', `${JSON.stringify(args.to)} is not a peerlane code`);
        await send({ ...sessionOptions(args, output, abortSignal), paths: args.files, code });
      });
    },
  )
  .demandCommand(1, 'Name a command: receive or send.')
  .strict()
  .recommendCommands()
  .version(packageVersion())
  .alias('h', 'help')
  .epilog('Exit status: 0 ok, 1 failure, 2 usage, 130 interrupted. Every flag in [] can be set in .env.')
  .wrap(Math.min(110, process.stdout.columns || 80))
  .fail((message, err) => {
    if (err) throw err;
    usageError(new Output({ json: wantsJson, quiet: false, verb: 'sent' }), message);
  })
  .parseAsync();
