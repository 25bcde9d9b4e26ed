/** Assertions shared by the test files (vitest-only, so not in src/testing). */
import { expect } from 'vitest';
import { PeerlaneError } from '../src/core/errors.js';
import type { EventProcess } from '../src/testing/harness.js';

/** The code of the PeerlaneError thrown by `fn`; fails the test if it returns or throws anything else. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PeerlaneError);
    return (err as PeerlaneError).code;
  }
  throw new Error('expected a PeerlaneError, but nothing was thrown');
}

/** Await `step`, or fail naming `what` after `ms` (default 5 s). */
export async function withTimeout<T>(step: Promise<T>, what: string, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      step,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves with a peer's byte count once its progress reaches `bytes`; rejects if it exits first. */
export async function untilBytes(proc: EventProcess, bytes: number): Promise<number> {
  for (;;) {
    const last = proc.events.filter((e) => e.event === 'progress').at(-1);
    if (last && 'bytes' in last && last.bytes >= bytes) return last.bytes;
    if (proc.child.exitCode !== null) throw new Error(`exited early: ${proc.stderr}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
