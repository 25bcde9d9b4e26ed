/**
 * The bodies of `peer receive`, `peer send` and `peer list` (`peer share` and
 * `peer get` are in swarm-commands.ts): each makes its output, reads its
 * settings, asks for what it must, and runs the session (session/) under
 * runCommand, which turns failures into exit statuses.
 */
import { PeerlaneError } from '../core/errors.js';
import { listPeers } from '../session/list.js';
import { receive } from '../session/receive.js';
import { send } from '../session/send.js';
import { codeFrom, confirmWords, streamName } from './ask-code.js';
import { confirmManifest } from './consent.js';
import { Output } from './output.js';
import { undash } from './peer-argv.js';
import { sessionOptions, signalAddress } from './peer-session-options.js';
import { PEER_COMMAND_SETTINGS, PEER_GLOBAL_SETTINGS } from './peer-settings.js';
import { pageUrl } from './qr.js';
import { runCommand } from './run.js';
import type { Env } from './settings.js';
import { readSettings } from './settings.js';

/** A command's arguments as yargs parsed them, and what the command line said beyond them. */
export interface Invocation {
  args: Readonly<Record<string, unknown>>;
  env: Env;
  /** Flags as typed: yargs fills in defaults, and cannot tell `--out .` from no --out. */
  typed: ReadonlySet<string>;
}

/** Commands that open PeerConnections get the guard against a frozen native call. */
export const RTC_COMMAND = { freezeGuard: true } as const;

/** Made from the raw flags, before any setting is parsed: a bad one is reported through it. */
export function outputFor(
  args: Readonly<Record<string, unknown>>,
  verb: 'sent' | 'received',
  dataOnStdout = false,
  command?: 'share' | 'get',
): Output {
  // With --stdout the data owns stdout: every message, JSON included, goes to stderr.
  return new Output({
    json: args.json === true,
    quiet: args.quiet === true,
    progress: args.progress === true,
    verb,
    sendsText: args.text !== undefined,
    command,
    ...(dataOnStdout ? { stdout: process.stderr } : {}),
  });
}

/** A positional as typed, with the stand-in for `-` undone. */
export function positional(value: unknown): string | undefined {
  return typeof value === 'string' ? undash(value) : undefined;
}

export async function receiveCommand({ args, env, typed }: Invocation): Promise<void> {
  const output = outputFor(args, 'received', args.stdout === true);
  await runCommand(
    output,
    async (abortSignal) => {
      const s = readSettings(PEER_COMMAND_SETTINGS.receive, args, env);
      if (s.qr) output.showPage(pageUrl(s['page-url'], signalAddress(s)));
      if (s.stdout && typed.has('out')) {
        throw new PeerlaneError(
          'USAGE',
          '--stdout writes the file to stdout, so --out has nothing to do: give one',
        );
      }
      const code = await codeFrom(positional(args.code), {
        flag: 'peer receive',
        stdinIsData: false,
        envCode: s.name === undefined ? s.PEER_CODE : undefined,
      });
      await receive({
        ...sessionOptions(s, output, abortSignal),
        code,
        ...(s.stdout ? { stdout: process.stdout } : {}),
        outDir: s.out,
        name: s.name,
        listed: s.listed,
        codeWords: s['code-words'],
        overwrite: s.overwrite,
        onManifest: (files, signal) =>
          confirmManifest(files, {
            yes: s.yes,
            // On stdout a dotfile's bytes configure nothing.
            allowDotfiles: s['allow-dotfiles'] || s.stdout,
            quiet: s.quiet,
            input: process.stdin,
            output: process.stderr,
            signal,
          }),
      });
    },
    RTC_COMMAND,
  );
}

export async function sendCommand({ args, env }: Invocation): Promise<void> {
  const output = outputFor(args, 'sent');
  await runCommand(
    output,
    async (abortSignal) => {
      const s = readSettings(PEER_COMMAND_SETTINGS.send, args, env);
      if (s.qr) output.showPage(pageUrl(s['page-url'], signalAddress(s)));
      const paths = (Array.isArray(args.files) ? args.files.map(String) : []).map(undash);
      if (s.text === undefined && paths.length === 0) {
        throw new PeerlaneError('USAGE', 'name files or folders to send, - for stdin, or --text');
      }
      const stdinName = streamName(s['name-as'], paths);
      const waits = s.verify && !s['show-words'];
      if (waits && !(process.stdin.isTTY && process.stderr.isTTY && !paths.includes('-'))) {
        throw new PeerlaneError(
          'USAGE',
          '--verify waits for your yes in a terminal, and there is none here: --show-words only shows the words',
        );
      }
      const code = await codeFrom(positional(s.to), {
        flag: '--to',
        stdinIsData: paths.includes('-'),
        envCode: s.PEER_CODE,
      });
      await send({
        ...sessionOptions(s, output, abortSignal),
        paths,
        code,
        stdinName,
        ...(waits ? { confirmVerify: confirmWords } : {}),
        text: s.text,
        codeWords: s['code-words'],
      });
    },
    RTC_COMMAND,
  );
}

export async function listCommand({ args, env }: Invocation): Promise<void> {
  const output = outputFor(args, 'sent');
  await runCommand(output, async (abortSignal) => {
    // The connection flags are accepted and ignored: only the signal server's address is read.
    const s = readSettings(PEER_GLOBAL_SETTINGS, args, env);
    await listPeers({ signal: signalAddress(s), onEvent: (e) => output.event(e), abortSignal });
  });
}
