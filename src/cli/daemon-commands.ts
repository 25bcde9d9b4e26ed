/**
 * The bodies of `peer daemon`, `peer status` and `peer stop`, and the routing
 * that hands `peer share` and `peer get` to a running daemon (daemon/). The
 * daemon stays in the foreground: run it as `peer daemon &`, or as a user
 * service; `--daemon` without one is DAEMON_NOT_RUNNING, never a daemon
 * started behind the user's back.
 */
import path from 'node:path';
import { isErrorCode, PeerlaneError, toPeerlaneError } from '../core/errors.js';
import { TICKET_PREFIX } from '../core/swarm/ticket.js';
import { callDaemon, daemonRunning } from '../daemon/client.js';
import { Daemon } from '../daemon/daemon.js';
import type { DaemonPaths } from '../daemon/paths.js';
import { daemonPaths } from '../daemon/paths.js';
import type { DaemonReply, RequestBody } from '../daemon/protocol.js';
import { swarmRunner } from '../daemon/runner.js';
import type { GetOptions, ShareOptions, SwarmStatus } from '../swarm/jobs.js';
import { DaemonOutput } from './daemon-output.js';
import { Output } from './output.js';
import type { Invocation } from './peer-commands.js';
import { PEER_COMMAND_SETTINGS } from './peer-settings.js';
import { runCommand } from './run.js';
import type { Env } from './settings.js';
import { readSettings } from './settings.js';

/** Errors go through the usual Output (one line, the --json error event, the exit status). */
function outputs(args: Readonly<Record<string, unknown>>): { errors: Output; out: DaemonOutput } {
  const json = args.json === true;
  const quiet = args.quiet === true;
  return { errors: new Output({ json, quiet, verb: 'sent' }), out: new DaemonOutput({ json, quiet }) };
}

/** A job's failure as the error the command ends with. */
function jobError(s: SwarmStatus | undefined): PeerlaneError | undefined {
  if (s?.error === undefined) return undefined;
  return new PeerlaneError(isErrorCode(s.error.code) ? s.error.code : 'REMOTE_ERROR', s.error.message);
}

export async function daemonCommand({ args, env }: Invocation): Promise<void> {
  const { errors, out } = outputs(args);
  await runCommand(
    errors,
    async (abortSignal) => {
      const s = readSettings(PEER_COMMAND_SETTINGS.daemon, args, env);
      const paths = daemonPaths(env, s['daemon-dir']);
      if (s.stop) {
        await callDaemon(paths, { type: 'shutdown' }, { abort: abortSignal });
        out.say('The daemon stopped; its jobs resume when it starts again.');
        return;
      }
      const { daemon, resumed } = await Daemon.start({
        paths,
        runner: swarmRunner,
        log: { event: (job, e) => out.event(job, e), started: (j) => out.job(j), ended: (j) => out.job(j) },
      });
      out.daemon(daemon.socket);
      resumed.catch((err: unknown) => errors.error(toPeerlaneError(err)));
      abortSignal.addEventListener('abort', () => void daemon.close(), { once: true });
      await daemon.stopped;
    },
    // SIGINT and SIGTERM are how a daemon is told to stop: a clean exit.
    { signalMeansStop: true, freezeGuard: true },
  );
}

function jobId(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export async function statusCommand({ args, env }: Invocation): Promise<void> {
  const { errors, out } = outputs(args);
  await runCommand(errors, async (abortSignal) => {
    const s = readSettings(PEER_COMMAND_SETTINGS.status, args, env);
    const paths = daemonPaths(env, s['daemon-dir']);
    const id = jobId(args.id);
    const which = id === undefined ? {} : { id };
    if (!s.follow) {
      const jobs = await callDaemon(paths, { type: 'status', ...which }, { abort: abortSignal });
      if (jobs.length === 0) out.say('The daemon holds no jobs.');
      for (const j of jobs) out.job(j);
      return;
    }
    let last: SwarmStatus | undefined;
    const onReply = (r: DaemonReply): void => {
      if (r.type === 'ok') for (const j of r.jobs) out.job(j);
      if (r.type === 'event') out.event(r.job, r.event);
      if (r.type === 'ended') {
        last = r.status;
        out.job(r.status);
      }
    };
    await callDaemon(paths, { type: 'follow', ...which }, { abort: abortSignal, onReply });
    // Following one job is waiting for it: its failure is this command's.
    const failure = jobError(last);
    if (failure !== undefined) throw failure;
  });
}

export async function stopCommand({ args, env }: Invocation): Promise<void> {
  const { errors, out } = outputs(args);
  await runCommand(errors, async (abortSignal) => {
    const s = readSettings(PEER_COMMAND_SETTINGS.stop, args, env);
    const id = jobId(args.id);
    if (id === undefined) throw new PeerlaneError('USAGE', 'name the job to stop: `peer status` lists them');
    const [stopped] = await callDaemon(
      daemonPaths(env, s['daemon-dir']),
      { type: 'stop', id },
      { abort: abortSignal },
    );
    if (stopped !== undefined) out.job(stopped);
  });
}

// ---------------------------------------------------------------- share and get through the daemon

/** The routing settings `peer share` and `peer get` carry (PEER_DAEMON_ROUTE_SETTINGS). */
interface RouteValues {
  daemon: boolean | undefined;
  'daemon-dir': string | undefined;
}

/**
 * Where `peer share` or `peer get` should send its job: the daemon's paths
 * with --daemon (DAEMON_NOT_RUNNING if none answers) or whenever one runs;
 * undefined to run it here (--no-daemon, or no daemon).
 */
export async function daemonFor(s: RouteValues, env: Env): Promise<DaemonPaths | undefined> {
  if (s.daemon === false) return undefined;
  const paths = daemonPaths(env, s['daemon-dir']);
  if (await daemonRunning(paths)) return paths;
  if (s.daemon === true) {
    throw new PeerlaneError(
      'DAEMON_NOT_RUNNING',
      `--daemon was given, and no daemon answers on ${paths.socket}`,
    );
  }
  return undefined;
}

type ShareRequest = Extract<RequestBody, { type: 'share' }>;
type GetRequest = Extract<RequestBody, { type: 'get' }>;

/** `peer share`'s options as the daemon, running in another folder, must get them: paths absolute. */
export function shareRequest(o: ShareOptions): ShareRequest {
  const options: ShareRequest['options'] = { signal: o.signal, rtc: o.rtc };
  if (o.issuedTurn !== undefined) options.issuedTurn = o.issuedTurn;
  if (o.ticket !== undefined) options.ticket = o.ticket;
  if (o.p2pFile !== undefined) options.p2pFile = path.resolve(o.p2pFile);
  if (o.seedForMs !== undefined) options.seedForMs = o.seedForMs;
  if (o.maxUploads !== undefined) options.maxUploads = o.maxUploads;
  if (o.chunkSize !== undefined) options.chunkSize = o.chunkSize;
  return { type: 'share', paths: o.paths.map((p) => path.resolve(p)), options };
}

/** `peer get`'s options for the daemon: --out and a .p2p file's path absolute, a ticket as it is. */
export function getRequest(o: GetOptions): GetRequest {
  const options: GetRequest['options'] = { rtc: o.rtc };
  if (o.issuedTurn !== undefined) options.issuedTurn = o.issuedTurn;
  if (o.signal !== undefined) options.signal = o.signal;
  if (o.overwrite !== undefined) options.overwrite = o.overwrite;
  if (o.seed !== undefined) options.seed = o.seed;
  if (o.seedForMs !== undefined) options.seedForMs = o.seedForMs;
  if (o.maxPeers !== undefined) options.maxPeers = o.maxPeers;
  const source = o.source.startsWith(TICKET_PREFIX) ? o.source : path.resolve(o.source);
  return { type: 'get', source, out: path.resolve(o.out), options };
}

/**
 * Hand a share or get to the daemon: its events print as they would here
 * until it is ready, then its state (with the ticket), and the command ends
 * while the daemon goes on with it.
 */
export async function runInDaemon(
  paths: DaemonPaths,
  request: ShareRequest | GetRequest,
  args: Readonly<Record<string, unknown>>,
  abortSignal: AbortSignal,
): Promise<void> {
  const { out } = outputs(args);
  const onReply = (r: DaemonReply): void => {
    if (r.type === 'event') out.event(r.job, r.event);
  };
  const [job] = await callDaemon(paths, request, { abort: abortSignal, onReply });
  if (job === undefined) return;
  out.job(job);
  out.say(
    `The daemon holds it: \`peer status ${job.id} --follow\` follows it, \`peer stop ${job.id}\` ends it.`,
  );
}
