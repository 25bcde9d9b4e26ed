/**
 * `peer daemon`: holds shares and gets (registry.ts) and answers the CLI on a
 * private local socket (paths.ts), one request per connection (protocol.ts).
 * A client that sends a line that does not parse, more than one request, or
 * nothing for REQUEST_TIMEOUT_MS is answered with an error and dropped;
 * everyone else is served. A follower that stops reading is dropped too, once
 * MAX_FOLLOWER_BACKLOG_BYTES wait for it, so that it cannot grow the daemon.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import { LineDecoder } from '../core/signaling/framing.js';
import type { SwarmStatus } from '../swarm/jobs.js';
import { bad } from './fields.js';
import type { DaemonPaths } from './paths.js';
import { checkSocketPath, claimSocket, preparePrivateDir } from './paths.js';
import type { DaemonRequest, ReplyBody } from './protocol.js';
import { encodeDaemonMessage, MAX_REQUEST_BYTES, parseDaemonRequest } from './protocol.js';
import type { DaemonLog, Listener } from './registry.js';
import { JobRegistry } from './registry.js';
import type { JobRunner } from './runner.js';
import { JobStore } from './store.js';

/** A local client writes its one request at once; one that takes this long is stuck or hostile. */
const REQUEST_TIMEOUT_MS = 10_000;
/** After its answer, how long a client may take to close its end before it is cut off. */
const CLOSE_GRACE_MS = 2_000;
/** Replies waiting for a follower that does not read: a few seconds of a busy job's events. */
const MAX_FOLLOWER_BACKLOG_BYTES = 8 * 1024 * 1024;

export interface DaemonOptions {
  paths: DaemonPaths;
  runner: JobRunner;
  log: DaemonLog;
}

/** One client's connection: the answer to its request, or the events it follows. */
class Connection implements Listener {
  private closed = false;

  constructor(private readonly socket: net.Socket) {}

  holds(socket: net.Socket): boolean {
    return socket === this.socket;
  }

  send(reply: ReplyBody): void {
    if (this.closed) return;
    if (this.socket.writableLength > MAX_FOLLOWER_BACKLOG_BYTES) {
      this.closed = true;
      this.socket.destroy();
      return;
    }
    this.socket.write(encodeDaemonMessage(reply));
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    // Whatever it still sends is read and dropped until then, so that our answer is not lost to a reset.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  /** The answer, then close. */
  finish(jobs: SwarmStatus[]): void {
    this.send({ type: 'ok', jobs });
    this.end();
  }

  fail(err: unknown): void {
    const error = toPeerlaneError(err);
    this.send({ type: 'error', code: error.code, message: error.message });
    this.end();
  }
}

export class Daemon {
  /** Settles once the daemon has stopped: by close(), or a client's `shutdown`. */
  readonly stopped: Promise<void>;
  private readonly sockets = new Set<net.Socket>();
  private closing: Promise<void> | undefined;
  private markStopped: () => void = () => {};

  private constructor(
    private readonly paths: DaemonPaths,
    private readonly server: net.Server,
    private readonly registry: JobRegistry,
  ) {
    this.stopped = new Promise((resolve) => {
      this.markStopped = resolve;
    });
    server.on('connection', (socket) => this.serve(socket));
  }

  /** Check the folders, take the socket, listen, and resume the saved jobs. */
  static async start(options: DaemonOptions): Promise<{ daemon: Daemon; resumed: Promise<number> }> {
    const { paths } = options;
    await preparePrivateDir(paths.dir);
    await preparePrivateDir(paths.stateDir);
    checkSocketPath(paths.socket);
    await claimSocket(paths.socket);
    const store = new JobStore(paths.stateDir);
    // Read before listening: a damaged file stops this start, not a running daemon.
    const saved = await store.load();
    const registry = new JobRegistry(options.runner, store, options.log);
    const daemon = new Daemon(paths, net.createServer(), registry);
    await daemon.listen();
    return { daemon, resumed: registry.resume(saved) };
  }

  get socket(): string {
    return this.paths.socket;
  }

  /**
   * Stop every job (they stay saved for the next daemon), drop every client
   * but `asker` (who asked for it, and is answered once it is done), remove
   * the socket.
   */
  close(asker?: Connection): Promise<void> {
    this.closing ??= (async () => {
      this.server.close();
      await this.registry.close();
      for (const s of this.sockets) if (asker === undefined || !asker.holds(s)) s.destroy();
      if (process.platform !== 'win32') await fs.rm(this.paths.socket, { force: true });
      this.markStopped();
    })();
    return this.closing;
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new PeerlaneError('DAEMON_RUNNING', `another daemon took ${this.paths.socket} first`)
            : toPeerlaneError(err),
        );
      });
      this.server.listen(this.paths.socket, () => {
        // The folder is 0700 already; the socket's own mode says the same to anyone who looks.
        const chmod = process.platform === 'win32' ? Promise.resolve() : fs.chmod(this.paths.socket, 0o600);
        chmod.then(resolve, reject);
      });
    });
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    const client = new Connection(socket);
    const decoder = new LineDecoder(MAX_REQUEST_BYTES);
    let asked = false;
    const timer = setTimeout(
      () => client.fail(new PeerlaneError('BAD_MESSAGE', 'no request arrived in time')),
      REQUEST_TIMEOUT_MS,
    );
    socket.on('data', (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = decoder.push(chunk);
      } catch (err) {
        client.fail(err);
        return;
      }
      for (const line of lines) {
        clearTimeout(timer);
        if (asked) client.fail(bad('one request per connection'));
        else void this.answer(client, line);
        asked = true;
      }
    });
    socket.on('error', () => {}); // 'close' follows: the client went away, which is its business
    socket.on('close', () => {
      clearTimeout(timer);
      this.sockets.delete(socket);
      this.registry.unfollow(client);
    });
  }

  private async answer(client: Connection, line: string): Promise<void> {
    try {
      const request = parseDaemonRequest(line);
      const jobs = await this.dispatch(client, request);
      if (jobs !== undefined) client.finish(jobs);
    } catch (err) {
      client.fail(err);
    }
  }

  /** The answer to `request`, or undefined when the connection stays open to follow. */
  private async dispatch(client: Connection, request: DaemonRequest): Promise<SwarmStatus[] | undefined> {
    switch (request.type) {
      case 'share':
        return [await this.registry.share(request.paths, request.options, client)];
      case 'get':
        return [await this.registry.get(request.source, request.out, request.options, client)];
      case 'status':
        return this.registry.status(request.id);
      case 'stop':
        return [await this.registry.stop(request.id)];
      case 'follow':
        client.send({ type: 'ok', jobs: this.registry.follow(client, request.id) });
        return undefined;
      case 'shutdown':
        await this.close(client);
        return [];
    }
  }
}
