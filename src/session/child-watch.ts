/**
 * Starting an attempt's child process and watching it (attempt-process.ts):
 * where the shipped child is, killing children with their parent, and the
 * watchdog that finds one frozen.
 */
import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../project.js';

/** The shipped child, bundled beside dist/peer.mjs (scripts/bundle.ts). */
function childEntry(): string {
  return path.join(packageRoot(), 'dist', 'attempt-child.mjs');
}

/** Children still running when this process exits are killed with it: a frozen one would not notice. */
const live = new Set<ChildProcess>();
let killOnExit = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (killOnExit) return;
  killOnExit = true;
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

/**
 * Counts how long the child has been silent, over time this process was awake
 * to see: a gap between our own ticks over five ticks means we were stopped
 * too (cli/freeze-guard.ts explains the rule), and does not count.
 */
export class Watchdog {
  private beats = 0;
  private seen = 0;
  private stuckMs = 0;
  private last = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor(limitMs: number, onFrozen: () => void) {
    const tickMs = Math.min(1000, limitMs / 4);
    this.timer = setInterval(() => {
      const now = performance.now();
      const gap = now - this.last;
      this.last = now;
      if (this.beats !== this.seen) {
        this.seen = this.beats;
        this.stuckMs = 0;
      } else if (gap < 5 * tickMs) {
        this.stuckMs += gap;
      }
      if (this.stuckMs > limitMs) {
        this.stop();
        onFrozen();
      }
    }, tickMs);
    this.timer.unref();
  }

  beat(): void {
    this.beats++;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Start a child (attempt-child.ts): no stdin or stdout, its stderr ours (--debug-ice logs), an IPC channel. */
function forkChild(): ChildProcess {
  const child = fork(childEntry(), [], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    serialization: 'json',
  });
  track(child);
  return child;
}

/** A child started ahead, idle until an attempt takes it; it holds nothing open meanwhile. */
let spare: ChildProcess | undefined;

/**
 * Start the first attempt's child while the peers pair: Node and
 * node-datachannel take a loaded machine a few hundred milliseconds to start,
 * which would otherwise come before the first byte.
 */
export function warmChild(): void {
  if (spare?.connected) return;
  spare = forkChild();
  spare.unref();
  spare.channel?.unref();
}

/** The child for an attempt: the one started ahead, or a new one. */
export function spawnChild(): ChildProcess {
  const child = spare?.connected ? spare : forkChild();
  spare = undefined;
  child.ref();
  child.channel?.ref();
  return child;
}
