/**
 * Where the daemon listens and keeps its jobs, and the checks that keep both
 * private to the user:
 *
 * - the socket: `daemon.sock` in `$XDG_RUNTIME_DIR/peerlane/` when that is
 *   set (a per-user tmpfs), else in `~/.peerlane/run/`; --daemon-dir
 *   (PEERLANE_DAEMON_DIR) names another folder. On Windows, a named pipe
 *   `\\.\pipe\peerlane-<user>` (that code path is untested here).
 * - the jobs file: `jobs.json` in `~/.peerlane/state/`, which survives a
 *   reboot where the runtime folder does not; with --daemon-dir, in its
 *   `state/` subfolder, so that one folder holds one daemon's all.
 *
 * Both folders are made 0700 and checked at start: one owned by another uid,
 * or open to group or others, is refused with DAEMON_DIR_UNSAFE, since
 * whoever can enter it could take the socket's place. The socket itself is
 * made 0600.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PeerlaneError } from '../core/errors.js';

export interface DaemonPaths {
  /** The folder the socket is in (made and checked 0700). */
  dir: string;
  /** The Unix socket's path, or the Windows named pipe's name. */
  socket: string;
  /** The folder jobs.json is in (made and checked 0700). */
  stateDir: string;
}

/** sun_path holds 108 bytes on Linux (104 on macOS), its terminating NUL included. */
const MAX_SOCKET_PATH_BYTES = 103;
/** Nothing but these bits on the folders: the owner's alone. */
const GROUP_OTHER_BITS = 0o077;
/** How long a socket left behind may take to show whether a daemon still answers on it. */
const PROBE_TIMEOUT_MS = 2_000;

const onWindows = process.platform === 'win32';

/** The daemon's paths, from --daemon-dir (already made absolute) or the per-user defaults. */
export function daemonPaths(
  env: Readonly<Record<string, string | undefined>>,
  dirOption?: string,
): DaemonPaths {
  const home = path.join(os.homedir(), '.peerlane');
  const runtime = env.XDG_RUNTIME_DIR;
  const dir =
    dirOption !== undefined && dirOption !== ''
      ? path.resolve(dirOption)
      : runtime !== undefined && runtime !== ''
        ? path.join(runtime, 'peerlane')
        : path.join(home, 'run');
  const chosen = dirOption !== undefined && dirOption !== '';
  return {
    dir,
    socket: socketIn(dir, chosen),
    stateDir: chosen ? path.join(dir, 'state') : path.join(home, 'state'),
  };
}

function socketIn(dir: string, chosen: boolean): string {
  if (!onWindows) return path.join(dir, 'daemon.sock');
  // Untested: named pipes live in one namespace per machine; a --daemon-dir gets its own.
  const user = os.userInfo().username.replace(/[^A-Za-z0-9_.-]/g, '_');
  const suffix = chosen ? `-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}` : '';
  return `\\\\.\\pipe\\peerlane-${user}${suffix}`;
}

function unsafe(dir: string, why: string): PeerlaneError {
  return new PeerlaneError('DAEMON_DIR_UNSAFE', `${dir} ${why}`);
}

/** Refuse a folder that is not ours alone: not a real folder, another owner, or group/other bits. */
export async function checkPrivateDir(dir: string): Promise<void> {
  if (onWindows) return; // ACLs, not modes: the pipe's default ACL is the creator's (untested here)
  const stat = await fs.lstat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw unsafe(dir, `cannot be inspected: ${err.message}`);
  });
  if (stat === undefined) throw new PeerlaneError('DAEMON_NOT_RUNNING', `${dir} does not exist`);
  if (!stat.isDirectory()) throw unsafe(dir, 'is not a folder (a link to one is refused too)');
  if (stat.uid !== process.getuid?.()) throw unsafe(dir, `belongs to uid ${stat.uid}, not to this user`);
  if ((stat.mode & GROUP_OTHER_BITS) !== 0) {
    throw unsafe(dir, `is open to others (mode ${(stat.mode & 0o777).toString(8)}; it must be 700)`);
  }
}

/** Make `dir` (0700) if it is missing, then check it as checkPrivateDir does. */
export async function preparePrivateDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await checkPrivateDir(dir);
}

/** A path the socket can bind to: sun_path is short. */
export function checkSocketPath(socket: string): void {
  if (!onWindows && Buffer.byteLength(socket) > MAX_SOCKET_PATH_BYTES) {
    throw new PeerlaneError(
      'BAD_CONFIG',
      `the daemon's socket path ${socket} is over ${MAX_SOCKET_PATH_BYTES} bytes: name a shorter --daemon-dir`,
    );
  }
}

/** Whether a daemon answers on `socket` now. */
export function daemonAnswers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socket);
    const done = (answers: boolean): void => {
      clearTimeout(timer);
      probe.destroy();
      resolve(answers);
    };
    const timer = setTimeout(() => done(false), PROBE_TIMEOUT_MS);
    probe.once('connect', () => done(true));
    probe.once('error', () => done(false));
  });
}

/**
 * Make way for a new daemon's socket: a live one is DAEMON_RUNNING; one left
 * behind by a daemon that died (nothing answers) is removed. Anything but a
 * socket in its place is refused, never deleted.
 */
export async function claimSocket(socket: string): Promise<void> {
  if (onWindows) return; // a pipe vanishes with its process; a second listener fails with EADDRINUSE
  const stat = await fs.lstat(socket).catch(() => undefined);
  if (stat === undefined) return;
  if (!stat.isSocket()) throw unsafe(socket, 'is in the way of the socket and is not one');
  if (await daemonAnswers(socket)) {
    throw new PeerlaneError('DAEMON_RUNNING', `a daemon already answers on ${socket}`);
  }
  await fs.rm(socket, { force: true });
}
