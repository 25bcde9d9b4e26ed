/**
 * The CLI's side of the daemon's socket (protocol.ts): one request per
 * connection, the replies read as they come. The socket's folder is checked
 * first (paths.ts): a folder someone else could write to may hold a socket
 * that is not our daemon's.
 */
import net from 'node:net';
import { PeerlaneError } from '../core/errors.js';
import { LineDecoder } from '../core/signaling/framing.js';
import type { SwarmStatus } from '../swarm/jobs.js';
import type { DaemonPaths } from './paths.js';
import { checkPrivateDir, daemonAnswers } from './paths.js';
import type { DaemonReply, RequestBody } from './protocol.js';
import { encodeDaemonMessage, MAX_REPLY_BYTES, parseDaemonReply } from './protocol.js';

export interface DaemonCall {
  /** Every reply as it arrives: events, `ended`, and the `ok` a follow begins with. */
  onReply?: (reply: DaemonReply) => void;
  abort?: AbortSignal;
}

/** Whether a daemon answers at `paths`; DAEMON_DIR_UNSAFE if its folder is not ours alone. */
export async function daemonRunning(paths: DaemonPaths): Promise<boolean> {
  try {
    await checkPrivateDir(paths.dir);
  } catch (err) {
    if (err instanceof PeerlaneError && err.code === 'DAEMON_NOT_RUNNING') return false;
    throw err;
  }
  return daemonAnswers(paths.socket);
}

function connectError(paths: DaemonPaths, err: NodeJS.ErrnoException): PeerlaneError {
  if (err.code === 'EACCES' || err.code === 'EPERM') {
    return new PeerlaneError('DAEMON_DIR_UNSAFE', `${paths.socket} is not ours to open (${err.code})`);
  }
  return new PeerlaneError(
    'DAEMON_NOT_RUNNING',
    `no daemon answers on ${paths.socket} (${err.code ?? err.message})`,
  );
}

/**
 * Send `request`; resolves with the jobs of the daemon's last `ok` once it
 * closes the connection, rejects with the PeerlaneError of an `error` reply.
 */
export async function callDaemon(
  paths: DaemonPaths,
  request: RequestBody,
  call: DaemonCall = {},
): Promise<SwarmStatus[]> {
  await checkPrivateDir(paths.dir);
  return new Promise((resolve, reject) => {
    const socket = net.connect(paths.socket);
    const decoder = new LineDecoder(MAX_REPLY_BYTES);
    let answer: SwarmStatus[] | undefined;
    let failure: unknown;
    let connected = false;
    const onAbort = (): void => {
      failure ??= new PeerlaneError('INTERRUPTED', 'stopped');
      socket.destroy();
    };
    call.abort?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      connected = true;
      socket.write(encodeDaemonMessage(request));
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const line of decoder.push(chunk)) {
          const reply = parseDaemonReply(line);
          if (reply.type === 'error') throw new PeerlaneError(reply.code, reply.message);
          if (reply.type === 'ok') answer = reply.jobs;
          call.onReply?.(reply);
        }
      } catch (err) {
        failure ??= err;
        socket.destroy();
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      failure ??= connected ? new PeerlaneError('DAEMON_LOST', err.message) : connectError(paths, err);
    });
    socket.on('close', () => {
      call.abort?.removeEventListener('abort', onAbort);
      if (failure !== undefined) reject(failure);
      else if (answer !== undefined) resolve(answer);
      else reject(new PeerlaneError('DAEMON_LOST', 'the daemon closed the connection without an answer'));
    });
  });
}
