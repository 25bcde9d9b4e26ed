/**
 * What the network labs (nat-lab, flap-lab) share: running commands in
 * network namespaces, building namespaces and veth links, running the real
 * `peer` and `signal` processes with their `--json` events captured, and
 * removing every namespace, process and temp file on exit, failure or Ctrl-C.
 *
 * Nothing here touches the host's own network: every veth pair is created
 * inside a lab namespace, and cleanup deletes only namespaces the lab added.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { entryPoint } from '../../src/project.js';

export type LabEvent = Record<string, unknown>;

/** Run a command, in namespace `ns` if given; throws on a non-zero status unless `allowFail`. */
export function sh(
  args: string[],
  options: { ns?: string; allowFail?: boolean; input?: string } = {},
): string {
  const argv = options.ns === undefined ? args : ['ip', 'netns', 'exec', options.ns, ...args];
  const [cmd = '', ...rest] = argv;
  const r = spawnSync(cmd, rest, { encoding: 'utf8', input: options.input ?? '' });
  if (r.status !== 0 && !options.allowFail) {
    throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr || r.error?.message || ''}`);
  }
  return r.stdout;
}

export function sysctl(ns: string, key: string, value: string): void {
  sh(['sh', '-c', `echo ${value} > /proc/sys/${key.replaceAll('.', '/')}`], { ns });
}

/** `node <entry>`: the built CLI or server, as users run it. */
export function nodeScript(program: 'peer' | 'signal'): string[] {
  return [process.execPath, entryPoint(program)];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `step`, or a rejection with `message` after `ms`. */
export function withLimit<T>(step: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([step, limit]).finally(() => clearTimeout(timer));
}

/** Poll `probe` every 50 ms until it returns something, or reject with `what` after `ms`. */
export function until<T>(probe: () => T | undefined, ms: number, what: () => string): Promise<T> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const check = (): void => {
      let found: T | undefined;
      try {
        found = probe();
      } catch (err) {
        reject(err);
        return;
      }
      if (found !== undefined) resolve(found);
      else if (Date.now() >= deadline) reject(new Error(what()));
      else setTimeout(check, 50);
    };
    check();
  });
}

export interface Proc {
  child: ChildProcess;
  /** Every JSON line it printed on stdout, in order. */
  events: LabEvent[];
  stderr: string;
  exited: Promise<number | null>;
  startedAt: number;
  /** ms after start at which each event first arrived. */
  eventTimes: Map<string, number>;
  /** Wall-clock time (Date.now()) at which events[i] arrived. */
  arrivals: number[];
  /** The first event named `match` (or satisfying it), waiting up to `ms` for it. */
  waitFor(match: string | ((e: LabEvent) => boolean), ms: number, what?: string): Promise<LabEvent>;
  /** The last `n` events and stderr lines, for a failure report. */
  tail(n?: number): string;
}

/** Send SIGTERM, then SIGKILL after 3 s, and wait for the exit. */
export async function stop(proc: Proc | undefined): Promise<void> {
  if (proc === undefined || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  const killer = setTimeout(() => proc.child.kill('SIGKILL'), 3_000);
  await proc.exited;
  clearTimeout(killer);
}

export class Lab {
  /** A temp dir for files and out dirs; removed by cleanup(). */
  readonly work: string;
  private readonly children = new Set<ChildProcess>();
  private readonly namespaces: string[] = [];

  /** `name` prefixes log lines and the temp dir, e.g. 'nat-lab'. */
  constructor(readonly name: string) {
    this.work = fs.mkdtempSync(path.join(os.tmpdir(), `peerlane-${name}-`));
  }

  log(message: string): void {
    process.stderr.write(`[${this.name}] ${message}\n`);
  }

  /** A new namespace with loopback up and IPv6 off, deleted by cleanup(). */
  addNamespace(ns: string): void {
    sh(['ip', 'netns', 'add', ns]);
    this.namespaces.push(ns);
    sh(['ip', 'link', 'set', 'lo', 'up'], { ns });
    sysctl(ns, 'net.ipv6.conf.all.disable_ipv6', '1');
    sysctl(ns, 'net.ipv6.conf.default.disable_ipv6', '1');
  }

  /**
   * A veth pair between two lab namespaces, both ends up with the given
   * addresses; created inside `a`, never in the host's.
   */
  link(a: string, aIf: string, aCidr: string, b: string, bIf: string, bCidr: string): void {
    sh(['ip', '-n', a, 'link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', b]);
    for (const [ns, dev, cidr] of [
      [a, aIf, aCidr],
      [b, bIf, bCidr],
    ] as const) {
      this.addr(ns, dev, cidr);
      sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    }
  }

  defaultRoute(ns: string, via: string): void {
    sh(['ip', '-n', ns, 'route', 'add', 'default', 'via', via]);
  }

  addr(ns: string, dev: string, cidr: string): void {
    sh(['ip', '-n', ns, 'addr', 'add', cidr, 'dev', dev]);
  }

  /** Forwarding on, reverse-path filtering off (its default differs between kernels). */
  router(ns: string): void {
    sysctl(ns, 'net.ipv4.ip_forward', '1');
    for (const scope of ['all', 'default']) sysctl(ns, `net.ipv4.conf.${scope}.rp_filter`, '0');
  }

  /** Start `argv` in `ns`, collecting its JSON events from stdout and its stderr. */
  run(ns: string, argv: string[], env: NodeJS.ProcessEnv = {}): Proc {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      cwd: this.work, // no .env here: only what the lab passes counts
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: this.work,
        ...(process.env.PEERLANE_DEBUG_ICE ? { PEERLANE_DEBUG_ICE: '1' } : {}),
        ...(process.env.PEERLANE_ISOLATE ? { PEERLANE_ISOLATE: process.env.PEERLANE_ISOLATE } : {}),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.add(child);
    const startedAt = Date.now();
    const proc: Proc = {
      child,
      events: [],
      stderr: '',
      startedAt,
      eventTimes: new Map(),
      arrivals: [],
      exited: new Promise((resolve) =>
        child.on('exit', (code) => {
          this.children.delete(child);
          setImmediate(() => resolve(code));
        }),
      ),
      waitFor(match, ms, what) {
        const test = typeof match === 'string' ? (e: LabEvent) => e.event === match : match;
        const label = what ?? (typeof match === 'string' ? `"${match}"` : 'the awaited event');
        return until(
          () => {
            const found = proc.events.find(test);
            if (found === undefined && (child.exitCode !== null || child.signalCode !== null))
              throw new Error(`exited before ${label}:\n${proc.tail()}`);
            return found;
          },
          ms,
          () => `no ${label} within ${ms} ms:\n${proc.tail()}`,
        );
      },
      tail(n = 8) {
        // Progress events would crowd out the rest: only the last one counts.
        const lastProgress = proc.events.findLast((e) => e.event === 'progress');
        const events = proc.events
          .filter((e) => e.event !== 'progress' || e === lastProgress)
          .slice(-n)
          .map((e) => `    event ${JSON.stringify(e)}`);
        const errLines = proc.stderr.trimEnd().split('\n').filter(Boolean).slice(-n);
        return [...events, ...errLines.map((l) => `    stderr ${l}`)].join('\n');
      },
    };
    readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        const e = JSON.parse(line) as LabEvent;
        proc.events.push(e);
        proc.arrivals.push(Date.now());
        if (typeof e.event === 'string' && !proc.eventTimes.has(e.event)) {
          proc.eventTimes.set(e.event, Date.now() - startedAt);
        }
      } catch {
        // not an event
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      proc.stderr += chunk;
    });
    return proc;
  }

  /** Kill what the lab started, delete its namespaces and its temp dir. Safe to call twice. */
  cleanup(): void {
    for (const child of this.children) child.kill('SIGKILL');
    for (const ns of this.namespaces) {
      // Whatever still runs in a lab namespace was started by the lab.
      const pids = sh(['ip', 'netns', 'pids', ns], { allowFail: true }).split(/\s+/).filter(Boolean);
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      sh(['ip', 'netns', 'del', ns], { allowFail: true });
    }
    this.namespaces.length = 0;
    fs.rmSync(this.work, { recursive: true, force: true });
  }

  /**
   * Check root, `tools` and the build, run `body`, clean up whatever happens
   * (Ctrl-C included), and exit with body's status (1 on a throw).
   */
  async main(tools: string[], install: string, body: () => Promise<number>): Promise<never> {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(sig, () => {
        this.log(`${sig}: cleaning up`);
        this.cleanup();
        process.exit(130);
      });
    }
    let status = 1;
    try {
      status = this.preflight(tools, install) ? await body() : 1;
    } catch (err) {
      this.log(`error: ${(err as Error).stack ?? String(err)}`);
    } finally {
      this.cleanup();
    }
    process.exit(status);
  }

  private preflight(tools: string[], install: string): boolean {
    if (process.getuid?.() !== 0) {
      this.log('needs root (network namespaces, nftables); CI runs it as root');
      return false;
    }
    for (const tool of tools) {
      if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
        this.log(`missing ${tool}: apt-get install -y ${install}`);
        return false;
      }
    }
    if (!fs.existsSync(entryPoint('peer'))) {
      this.log('run `npm run build` first');
      return false;
    }
    return true;
  }
}
