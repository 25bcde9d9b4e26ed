/**
 * The bodies of `peer share` and `peer get`, apart from the transfer commands
 * (peer-commands.ts): the CLI loads each group only when its command runs, so
 * a `peer send` or `peer receive` carries neither the swarm nor the daemon
 * client in its heap (see scripts/bundle.ts for why the heap's size matters).
 */
import { PeerlaneError } from '../core/errors.js';
import type { GetOptions, ShareOptions, SwarmJob } from '../swarm/jobs.js';
import { startGet, startShare } from '../swarm/jobs.js';
import { daemonFor, getRequest, runInDaemon, shareRequest } from './daemon-commands.js';
import type { Invocation } from './peer-commands.js';
import { outputFor, positional, RTC_COMMAND } from './peer-commands.js';
import { linkOptions } from './peer-session-options.js';
import { PEER_COMMAND_SETTINGS } from './peer-settings.js';
import { runCommand } from './run.js';
import type { SettingValues } from './settings.js';
import { readSettings } from './settings.js';

type ShareValues = SettingValues<(typeof PEER_COMMAND_SETTINGS)['share']>;
type GetValues = SettingValues<(typeof PEER_COMMAND_SETTINGS)['get']>;

/** `peer share`'s options from its settings: what a daemon client sends too. */
export function shareOptions(s: ShareValues, paths: string[], abort: AbortSignal): ShareOptions {
  if (paths.length === 0) throw new PeerlaneError('USAGE', 'name files or folders to share');
  const { signal, rtc, issuedTurn } = linkOptions(s);
  return {
    paths,
    signal,
    rtc,
    ...(issuedTurn === false ? { issuedTurn } : {}),
    abort,
    ...(s.p2p !== undefined ? { p2pFile: s.p2p } : {}),
    ...(s.ticket !== undefined ? { ticket: s.ticket } : {}),
    ...(s['seed-for'] !== undefined ? { seedForMs: s['seed-for'] * 1000 } : {}),
    ...(s['max-uploads'] !== undefined ? { maxUploads: s['max-uploads'] } : {}),
    ...(s['chunk-size'] !== undefined ? { chunkSize: s['chunk-size'] } : {}),
  };
}

/** `peer get`'s options from its settings. */
export function getOptions(
  s: GetValues,
  source: string | undefined,
  abort: AbortSignal,
  signalTyped: boolean,
): GetOptions {
  if (source === undefined) throw new PeerlaneError('USAGE', 'give the ticket, or the path of a .p2p file');
  const { signal, rtc, issuedTurn } = linkOptions(s);
  return {
    source,
    out: s.out,
    overwrite: s.overwrite,
    // --seed-for alone means seeding for that long.
    seed: s.seed || s['seed-for'] !== undefined,
    // Where to find the tracker is the ticket's to say, unless --signal was typed.
    rtc,
    ...(issuedTurn === false ? { issuedTurn } : {}),
    abort,
    ...(s['seed-for'] !== undefined ? { seedForMs: s['seed-for'] * 1000 } : {}),
    ...(s['max-peers'] !== undefined ? { maxPeers: s['max-peers'] } : {}),
    ...(signalTyped ? { signal } : {}),
  };
}

export async function shareCommand({ args, env }: Invocation): Promise<void> {
  const output = outputFor(args, 'sent', false, 'share');
  await runCommand(
    output,
    async (abortSignal) => {
      const s = readSettings(PEER_COMMAND_SETTINGS.share, args, env);
      const paths = Array.isArray(args.paths) ? args.paths.map(String) : [];
      const options = shareOptions(s, paths, abortSignal);
      const daemon = await daemonFor(s, env);
      if (daemon !== undefined) return runInDaemon(daemon, shareRequest(options), args, abortSignal);
      const job = await startShare(options, (e) => output.event(e));
      await job.done;
    },
    // Ctrl-C is how a share usually ends: a clean stop, not an interruption.
    { ...RTC_COMMAND, signalMeansStop: true },
  );
}

export async function getCommand({ args, env, typed }: Invocation): Promise<void> {
  const output = outputFor(args, 'received', false, 'get');
  let job: SwarmJob | undefined;
  await runCommand(
    output,
    async (abortSignal) => {
      const s = readSettings(PEER_COMMAND_SETTINGS.get, args, env);
      const options = getOptions(s, positional(args.source), abortSignal, typed.has('signal'));
      const daemon = await daemonFor(s, env);
      if (daemon !== undefined) return runInDaemon(daemon, getRequest(options), args, abortSignal);
      job = await startGet(options, (e) => output.event(e));
      await job.done;
    },
    // Once everything is fetched and verified and the get only seeds, Ctrl-C is how it
    // usually ends, as a share does; before that it interrupts the fetch.
    { ...RTC_COMMAND, signalMeansStop: () => job?.status().state === 'seeding' },
  );
}
