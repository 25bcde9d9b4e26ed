/**
 * The test harness that ships with peerlane: start a signal server on a free
 * loopback port, spawn real `peer` processes, read their JSON events, and
 * clean up whatever was started. Used by the tests, the demo and the bench.
 *
 *   const h = new Harness();
 *   const server = await h.signalProcess();
 *   const rx = h.peer(['receive', '--out', dir, ...server.peerArgs]);
 *   const { code } = await rx.waitFor('ready');
 *   ...
 *   await h.cleanup();
 */

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { PeerEvent } from '../core/events.js';
import { entryPoint, packageRoot } from '../project.js';
import type { SignalServerOptions } from '../server/server.js';
import { SignalServer } from '../server/server.js';

/** Everything stays on loopback: the signal server, and ICE host candidates. */
export const LOOPBACK = '127.0.0.1';

/** How long an exited process's stdout may take to drain before its events are read. */
const STDOUT_GRACE_MS = 5_000;

export type EventOf<K extends PeerEvent['event']> = Extract<PeerEvent, { event: K }>;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned process that prints JSON events on stdout. */
export class EventProcess {
  readonly events: PeerEvent[] = [];
  stderr = '';
  /** Lines on stdout that were not JSON (there should be none under --json). */
  readonly strayStdout: string[] = [];
  readonly exited: Promise<Exit>;
  private listeners: (() => void)[] = [];

  constructor(readonly child: ChildProcess) {
    if (child.stdout === null || child.stderr === null) throw new Error('spawn with piped stdio');
    const lines = readline.createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as PeerEvent);
      } catch {
        this.strayStdout.push(line);
      }
      for (const l of this.listeners) l();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    const stdoutRead = new Promise<void>((resolve) => lines.once('close', resolve));
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        // 'exit' can come before the last stdout lines are read (a loaded
        // machine shows it: a test saw no error event from a peer that had
        // printed one). Wait for stdout to end, but not for ever: a
        // grandchild that inherited the pipe may hold it open.
        const grace = new Promise<void>((r) => setTimeout(r, STDOUT_GRACE_MS).unref());
        void Promise.race([stdoutRead, grace]).then(() => {
          resolve({ code, signal });
          for (const l of this.listeners) l();
        });
      });
    });
  }

  /** The first event named `name`; rejects if the process exits or `timeoutMs` passes first. */
  waitFor<K extends PeerEvent['event']>(name: K, timeoutMs = 20_000): Promise<EventOf<K>> {
    return new Promise((resolve, reject) => {
      let exited = false;
      void this.exited.then(() => {
        exited = true;
      });
      const check = (): boolean => {
        const found = this.events.find((e): e is EventOf<K> => e.event === name);
        if (found !== undefined) {
          done();
          resolve(found);
          return true;
        }
        if (exited) {
          done();
          reject(new Error(`process exited before "${name}"; stderr:\n${this.stderr}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no "${name}" within ${timeoutMs} ms; stderr:\n${this.stderr}`));
      }, timeoutMs);
      const listener = (): void => {
        check();
      };
      const done = (): void => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== listener);
      };
      if (!check()) this.listeners.push(listener);
    });
  }

  /** Resolves when the process exits, or kills it and rejects after `timeoutMs`. */
  async exit(timeoutMs = 60_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.kill('SIGKILL');
        reject(new Error(`process still running after ${timeoutMs} ms; stderr:\n${this.stderr}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The `error` event, if the process reported one. */
  get error(): EventOf<'error'> | undefined {
    return this.events.find((e): e is EventOf<'error'> => e.event === 'error');
  }

  /** Signal the process and its children (it leads its own process group, e.g. npm → sh → node). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null)
      return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      this.child.kill(signal);
    }
  }
}

export interface SignalHandle {
  host: string;
  port: number;
  /** Flags that point a peer at this server and keep its ICE on loopback. */
  peerArgs: string[];
}

export class Harness {
  private readonly processes: EventProcess[] = [];
  private readonly servers: SignalServer[] = [];
  private readonly dirs: string[] = [];

  /** The shipped `peer` or signal server (see entryPoint) with `args`, stdout and stderr captured. */
  spawnScript(
    script: 'peer' | 'signal',
    args: readonly string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: 'ignore' | 'pipe' } = {},
  ): EventProcess {
    const entry = entryPoint(script);
    return this.track(
      spawn(process.execPath, [entry, ...args], {
        cwd: options.cwd ?? os.tmpdir(),
        env: { ...process.env, ...options.env },
        stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
        detached: true,
      }),
    );
  }

  /** Any command, e.g. `npm run -s serve:signal`. */
  spawnCommand(command: string, args: readonly string[], options: { cwd?: string } = {}): EventProcess {
    return this.track(
      spawn(command, args, {
        cwd: options.cwd ?? packageRoot(),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      }),
    );
  }

  /** A `peer` process with --json. */
  peer(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): EventProcess {
    return this.spawnScript('peer', [...args, '--json'], options);
  }

  /** The signal server as its own process on a free loopback port; `args` adds flags (limits, say). */
  async signalProcess(args: readonly string[] = []): Promise<SignalHandle & { process: EventProcess }> {
    const proc = this.spawnScript('signal', ['--host', LOOPBACK, '--port', '0', '--json', ...args]);
    const { host, port } = await proc.waitFor('listening');
    return { host, port, peerArgs: peerArgsFor(host, port), process: proc };
  }

  /** The signal server in this process, on a free loopback port. */
  async signalServer(
    options: Omit<SignalServerOptions, 'host' | 'port'> = {},
  ): Promise<SignalHandle & { server: SignalServer }> {
    const server = new SignalServer({ ...options, host: LOOPBACK, port: 0 });
    this.servers.push(server);
    const { host, port } = await server.listen();
    return { host, port, peerArgs: peerArgsFor(host, port), server };
  }

  /** A fresh temporary folder, removed by cleanup(). */
  async tempDir(prefix = 'peerlane-'): Promise<string> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  async cleanup(): Promise<void> {
    for (const p of this.processes) p.kill('SIGKILL');
    await Promise.all(this.processes.map((p) => p.exited));
    await Promise.all(this.servers.map((s) => s.close()));
    await Promise.all(this.dirs.map((d) => fs.rm(d, { recursive: true, force: true })));
    this.processes.length = 0;
    this.servers.length = 0;
    this.dirs.length = 0;
  }

  private track(child: ChildProcess): EventProcess {
    const proc = new EventProcess(child);
    this.processes.push(proc);
    return proc;
  }
}

export function peerArgsFor(host: string, port: number): string[] {
  return ['--signal', `${host}:${port}`, '--bind-address', LOOPBACK, '--ice-servers', ''];
}
