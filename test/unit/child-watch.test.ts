/**
 * The watchdog a session keeps on an attempt's child process (peer --isolate,
 * session/child-watch.ts), in a real process stopped and continued: only time
 * the watching process was awake to see counts against the child.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/project.js';

const watch = pathToFileURL(path.join(packageRoot(), 'dist/src/session/child-watch.js')).href;
const LIMIT_MS = 2_000;

/**
 * A process watching a child that never beats: it prints `up`, then `frozen`
 * when its watchdog fires. Resolves with the ms from `afterUp` ending to `frozen`.
 */
function frozenAfter(afterUp: (pid: number) => Promise<void>): Promise<number> {
  const script = `
    const { Watchdog } = await import(${JSON.stringify(watch)});
    new Watchdog(${LIMIT_MS}, () => { process.stdout.write('frozen\\n'); process.exit(0); });
    process.stdout.write('up\\n');
    setInterval(() => {}, 1000);
  `;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script]);
  const reaper = setTimeout(() => proc.kill('SIGKILL'), 20_000);
  return new Promise<number>((resolve, reject) => {
    let out = '';
    let resumed = 0;
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out === 'up\n') {
        afterUp(proc.pid ?? 0).then(() => {
          resumed = Date.now();
        }, reject);
      }
      if (out.endsWith('frozen\n')) {
        clearTimeout(reaper);
        resolve(resumed === 0 ? -1 : Date.now() - resumed);
      }
    });
    proc.on('exit', () => clearTimeout(reaper));
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('attempt child watchdog', () => {
  it('fires once the child has been silent for the limit', async () => {
    // No stop: it fires by itself, before the test's own pause ends.
    expect(await frozenAfter(() => sleep(4_000))).toBe(-1);
  });

  it('does not count a stop of its own process: after SIGCONT the child gets the whole limit again', async () => {
    const waited = await frozenAfter(async (pid) => {
      await sleep(300);
      process.kill(pid, 'SIGSTOP');
      await sleep(3 * LIMIT_MS);
      process.kill(pid, 'SIGCONT');
    });
    // Counting the stop would fire at the first tick after SIGCONT (at most a tick, 500 ms).
    expect(waited).toBeGreaterThan(LIMIT_MS / 2);
  });
});
