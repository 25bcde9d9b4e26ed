/** The guard against a main thread frozen in a native call, on real child processes. */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/project.js';

const guard = pathToFileURL(path.join(packageRoot(), 'dist/src/cli/freeze-guard.js')).href;

/** Run `body` after starting a 1 s guard in a fresh node; its exit and stdio. */
function child(
  body: string,
  whileRunning: (proc: ChildProcess) => Promise<void> = async () => {},
): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
  const script = `
    const { startFreezeGuard } = await import(${JSON.stringify(guard)});
    startFreezeGuard([{ fd: 1, text: '{"event":"error","code":"RTC_STALLED"}\\n' }, { fd: 2, text: 'peer: RTC_STALLED: frozen\\n' }], 1000);
    ${body}
  `;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script]);
  // Should the guard fail, a busy loop must not outlive the test.
  const reaper = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: string | null; out: string; err: string }>(
    (resolve) =>
      proc.on('exit', (code, signal) => {
        clearTimeout(reaper);
        resolve({ code, signal, out, err });
      }),
  );
  return whileRunning(proc).then(() => exited);
}

describe('freeze guard', () => {
  it('kills a process whose main thread stops turning, after writing its last words', async () => {
    const started = Date.now();
    // A loop that never yields stands in for a native call that never returns.
    const result = await child('for (;;) {}');
    expect(result.signal).toBe('SIGKILL');
    expect(result.out).toBe('{"event":"error","code":"RTC_STALLED"}\n');
    expect(result.err).toBe('peer: RTC_STALLED: frozen\n');
    // Killed by the guard after about 1 s, not by the 15 s reaper.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('leaves a process alone that is busy but keeps turning, and lets it exit', async () => {
    const result = await child(
      'const end = Date.now() + 3000; while (Date.now() < end) await new Promise((r) => setTimeout(r, 200));',
    );
    expect(result).toMatchObject({ code: 0, signal: null, out: '', err: '' });
  });

  it('leaves a process alone that was stopped (Ctrl-Z, SIGSTOP) for longer than the limit', async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // Healthy for 8 s of its own time, with a print when the guard is up.
    const result = await child(
      "process.stdout.write('up\\n'); const end = Date.now() + 8000; while (Date.now() < end) await new Promise((r) => setTimeout(r, 100));",
      async (proc) => {
        await new Promise((resolve) => proc.stdout?.once('data', resolve));
        // Twice, since which thread runs first after SIGCONT is up to the scheduler.
        for (let i = 0; i < 2; i++) {
          await sleep(500);
          proc.kill('SIGSTOP');
          await sleep(2_500);
          proc.kill('SIGCONT');
        }
      },
    );
    expect(result).toMatchObject({ code: 0, signal: null, out: 'up\n', err: '' });
  });
});
